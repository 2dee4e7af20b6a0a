//! Gives every error an `extensions.code`: errors from resolvers carry theirs already (see
//! `crate::error`); this stamps the ones async-graphql itself raises while parsing and
//! validating a document, or coercing arguments.
//!
//! It runs on the response in the HTTP handler rather than as a schema extension: with any
//! extension registered, async-graphql sends every field of every response through the
//! extension chain (a boxed future and a registry lookup per field), which was a measured
//! share of the server's CPU on large pages (`bench/RESULTS.md`).

use async_graphql::{Response, ServerError};

use crate::error::codes;

fn stamp(error: &mut ServerError, code: &str) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
}

fn has_code(error: &ServerError) -> bool {
    error
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some())
}

/// The code of an error raised before execution (parse-time rules, validation, choosing the
/// operation): such errors have no path.
fn before_execution(error: &mut ServerError) {
    let message = error.message.as_str();
    // async-graphql checks these two on the parsed document; they are rules of the document
    // (a directive flood, a fragment cycle), not syntax.
    if message.starts_with("The number of directives on the field")
        || message.starts_with("The recursion depth of the query")
    {
        stamp(error, codes::GRAPHQL_VALIDATION_FAILED);
    } else if let Some(rest) = message.strip_prefix("Invalid value for argument \"") {
        // A value of the wrong type for an argument (an unknown enum value, a number where a
        // decimal string belongs) is bad input, and names its argument path.
        if let Some((field, _)) = rest.split_once('"') {
            let field = field.to_owned();
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("field", field);
        }
        stamp(error, codes::BAD_USER_INPUT);
    } else if message == "Query is nested too deep." {
        stamp(error, codes::DEPTH_LIMIT_EXCEEDED);
    } else if message == "Query is too complex." {
        stamp(error, codes::COMPLEXITY_LIMIT_EXCEEDED);
    } else if message.starts_with("Unknown operation named")
        || message == "Operation name required in request."
    {
        // The request names an operation the document does not have.
        stamp(error, codes::BAD_USER_INPUT);
    } else {
        stamp(error, codes::GRAPHQL_VALIDATION_FAILED);
    }
}

/// Stamps the errors of an executed request that have no code yet; `variables` (the
/// request's, when it had any) name the field of a value that failed to coerce.
pub fn stamp_response(response: &mut Response, variables: Option<&async_graphql::Variables>) {
    // As JSON once, and only for an error that needs them.
    let mut json: Option<Option<serde_json::Value>> = None;
    for error in &mut response.errors {
        if has_code(error) {
            continue;
        }
        if error.path.is_empty() {
            before_execution(error);
        } else {
            // Raised on a field without a code of ours: async-graphql failed to coerce an
            // argument or variable of that field. Its message names the type, not the field.
            let named = match variables {
                Some(variables) if super::coercion::failed_type(&error.message).is_some() => json
                    .get_or_insert_with(|| variables.clone().into_value().into_json().ok())
                    .as_ref()
                    .and_then(|v| super::coercion::field_in_variables(&error.message, v)),
                _ => None,
            };
            if let Some((field, rule)) = named {
                error.message = format!("{field}: {rule}");
                error
                    .extensions
                    .get_or_insert_with(Default::default)
                    .set("field", field);
            }
            stamp(error, codes::BAD_USER_INPUT);
        }
    }
}

/// The error for a document that does not parse.
pub fn parse_failed(mut error: ServerError) -> ServerError {
    stamp(&mut error, codes::GRAPHQL_PARSE_FAILED);
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::PathSegment;

    fn code_of(error: &ServerError) -> Option<String> {
        match error.extensions.as_ref()?.get("code")? {
            async_graphql::Value::String(code) => Some(code.clone()),
            _ => None,
        }
    }

    fn stamped(message: &str, path: bool) -> ServerError {
        let mut error = ServerError::new(message, None);
        if path {
            error.path = vec![PathSegment::Field("actors".into())];
        }
        let mut response = Response::from_errors(vec![error]);
        stamp_response(&mut response, None);
        response.errors.remove(0)
    }

    #[test]
    fn errors_before_execution_get_the_code_of_their_rule() {
        let cases = [
            ("Query is nested too deep.", codes::DEPTH_LIMIT_EXCEEDED),
            ("Query is too complex.", codes::COMPLEXITY_LIMIT_EXCEEDED),
            (
                "The recursion depth of the query cannot be greater than `32`",
                codes::GRAPHQL_VALIDATION_FAILED,
            ),
            (
                "Unknown field \"nope\" on type \"Query\".",
                codes::GRAPHQL_VALIDATION_FAILED,
            ),
            ("Unknown operation named \"Other\"", codes::BAD_USER_INPUT),
        ];
        for (message, code) in cases {
            assert_eq!(
                code_of(&stamped(message, false)).as_deref(),
                Some(code),
                "{message}"
            );
        }
        let argument = stamped(
            "Invalid value for argument \"filter.kinds\", enumeration type \"ActorKind\" does not contain the value \"X\"",
            false,
        );
        assert_eq!(code_of(&argument).as_deref(), Some(codes::BAD_USER_INPUT));
        let field = argument
            .extensions
            .as_ref()
            .and_then(|e| e.get("field").cloned());
        assert_eq!(
            field,
            Some(async_graphql::Value::String("filter.kinds".into()))
        );
    }

    #[test]
    fn errors_on_a_field_are_bad_input_and_codes_are_kept() {
        assert_eq!(
            code_of(&stamped("Failed to parse \"Int\"", true)).as_deref(),
            Some(codes::BAD_USER_INPUT)
        );
        let mut error = ServerError::new("no actor has this id", None);
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", codes::NOT_FOUND);
        let mut response = Response::from_errors(vec![error]);
        stamp_response(&mut response, None);
        assert_eq!(
            code_of(&response.errors[0]).as_deref(),
            Some(codes::NOT_FOUND)
        );
    }
}
