//! The API's error enum and the one table that maps every error to its `extensions.code`.
//! Internal errors are logged (inside the request's span, so with its request id) and reach
//! the client as "internal error", never with database text.

use async_graphql::ErrorExtensions;
use persistence::RepoError;

/// What a resolver can fail with. Deliberately not `Display`: async-graphql turns any
/// `Display` error into a client message, and this type must only become one through
/// [`From<ApiError> for async_graphql::Error`], which hides internal details.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// The input broke a rule; `field` is the path of the offending input field.
    BadInput { field: String, message: String },
    /// The addressed record does not exist (or is not visible to the caller).
    NotFound { message: String },
    /// The input clashes with stored data.
    Conflict { field: String, message: String },
    /// The update named a version the record has moved on from.
    StaleVersion { current_version: i64 },
    /// A concurrent create under the same idempotency key won; replay its result.
    IdempotencyRace,
    /// The principal lacks the right; the message names it.
    Forbidden { message: String },
    /// The database cannot be reached right now.
    Unavailable,
    /// A bug or a broken database; the detail goes to the log only.
    Internal { detail: String },
}

/// The `extensions.code` values; the README lists them for client authors.
pub mod codes {
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const CONFLICT: &str = "CONFLICT";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const SERVICE_UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";
    pub const INTERNAL: &str = "INTERNAL";
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    // Request limits (README, "Limits").
    pub const DEPTH_LIMIT_EXCEEDED: &str = "DEPTH_LIMIT_EXCEEDED";
    pub const COMPLEXITY_LIMIT_EXCEEDED: &str = "COMPLEXITY_LIMIT_EXCEEDED";
    pub const ALIAS_LIMIT_EXCEEDED: &str = "ALIAS_LIMIT_EXCEEDED";
    pub const BATCH_LIMIT_EXCEEDED: &str = "BATCH_LIMIT_EXCEEDED";
    pub const BODY_LIMIT_EXCEEDED: &str = "BODY_LIMIT_EXCEEDED";
    pub const QUERY_LENGTH_LIMIT_EXCEEDED: &str = "QUERY_LENGTH_LIMIT_EXCEEDED";
    pub const REQUEST_TIMEOUT: &str = "REQUEST_TIMEOUT";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    // GraphQL over HTTP.
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    pub const NOT_ACCEPTABLE: &str = "NOT_ACCEPTABLE";
    pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    pub const PERSISTED_QUERY_NOT_SUPPORTED: &str = "PERSISTED_QUERY_NOT_SUPPORTED";
    pub const OPERATION_NOT_ALLOWED: &str = "OPERATION_NOT_ALLOWED";
}

impl ApiError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound {
            message: message.into(),
        }
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Self::Internal {
            detail: detail.into(),
        }
    }

    /// Prefixes the field path with the argument that holds it (`input` -> `input.name`).
    #[must_use]
    pub fn within(self, argument: &str) -> Self {
        match self {
            Self::BadInput { field, message } => Self::BadInput {
                field: join_path(argument, &field),
                message,
            },
            Self::Conflict { field, message } => Self::Conflict {
                field: join_path(argument, &field),
                message,
            },
            other => other,
        }
    }
}

fn join_path(argument: &str, field: &str) -> String {
    if field.is_empty() || field == "input" {
        argument.to_owned()
    } else {
        format!("{argument}.{field}")
    }
}

impl From<domain::ValidationError> for ApiError {
    fn from(e: domain::ValidationError) -> Self {
        Self::BadInput {
            field: e.field,
            message: e.message,
        }
    }
}

impl From<domain::access::Denied> for ApiError {
    fn from(denied: domain::access::Denied) -> Self {
        Self::Forbidden {
            message: format!("forbidden: {}", denied.0),
        }
    }
}

impl From<RepoError> for ApiError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::NotFound { entity, .. } => {
                Self::not_found(format!("no {entity} has this id"))
            }
            RepoError::Invalid(v) => v.into(),
            RepoError::Conflict { field, message } => Self::Conflict { field, message },
            RepoError::Stale { current_version } => Self::StaleVersion { current_version },
            RepoError::IdempotencyRace => Self::IdempotencyRace,
            e if e.is_unavailable() => {
                tracing::warn!(error = %e, "database unavailable");
                Self::Unavailable
            }
            e => Self::internal(e.to_string()),
        }
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(e: ApiError) -> Self {
        let (code, message, field) = match e {
            ApiError::BadInput { field, message } => {
                let text = format!("{field}: {message}");
                (codes::BAD_USER_INPUT, text, Some(field))
            }
            ApiError::NotFound { message } => (codes::NOT_FOUND, message, None),
            ApiError::Forbidden { message } => (codes::FORBIDDEN, message, None),
            // Replayed by `graphql::create_once`; reaching a client means a second race.
            ApiError::IdempotencyRace => (
                codes::CONFLICT,
                "idempotencyKey: a concurrent request with this key is still being processed; retry".to_owned(),
                Some("input.idempotencyKey".to_owned()),
            ),
            ApiError::StaleVersion { current_version } => {
                return async_graphql::Error::new(format!(
                    "expectedVersion: the record is at version {current_version}; reload it and apply the change again"
                ))
                .extend_with(|_, ext| {
                    ext.set("code", codes::CONFLICT);
                    ext.set("field", "input.expectedVersion");
                    ext.set("currentVersion", current_version);
                });
            }
            ApiError::Conflict { field, message } => {
                let text = format!("{field}: {message}");
                (codes::CONFLICT, text, Some(field))
            }
            ApiError::Unavailable => (
                codes::SERVICE_UNAVAILABLE,
                "the database is unavailable; try again shortly".to_owned(),
                None,
            ),
            ApiError::Internal { detail } => {
                // Inside the request span: the log line carries the request id.
                tracing::error!(%detail, "internal error");
                (codes::INTERNAL, "internal error".to_owned(), None)
            }
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(field) = field {
                ext.set("field", field);
            }
        })
    }
}

/// The result of a resolver step before it becomes a GraphQL result.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(e: ApiError) -> (String, async_graphql::Error) {
        let err: async_graphql::Error = e.into();
        let code = err
            .extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .map(|v| v.to_string())
            .unwrap_or_default();
        (code, err)
    }

    #[test]
    fn bad_input_names_the_field_path() {
        let e = ApiError::from(domain::ValidationError::new(
            "population",
            "must be positive",
        ))
        .within("input");
        let (code, err) = code_of(e);
        assert_eq!(code, "\"BAD_USER_INPUT\"");
        assert_eq!(err.message, "input.population: must be positive");
    }

    #[test]
    fn internal_errors_hide_their_detail() {
        let (code, err) = code_of(ApiError::internal("relation \"actor\" does not exist"));
        assert_eq!(code, "\"INTERNAL\"");
        assert_eq!(err.message, "internal error");
    }

    #[test]
    fn repository_errors_map_to_codes() {
        let not_found = ApiError::from(RepoError::NotFound {
            entity: "actor",
            id: "x".into(),
        });
        assert!(
            matches!(not_found, ApiError::NotFound { ref message } if message == "no actor has this id")
        );
        let conflict = ApiError::from(RepoError::Conflict {
            field: "pic".into(),
            message: "taken".into(),
        });
        assert_eq!(code_of(conflict).0, "\"CONFLICT\"");
        let corrupt = ApiError::from(RepoError::Corrupt("actor 1: kind".into()));
        assert_eq!(code_of(corrupt).0, "\"INTERNAL\"");
    }
}
