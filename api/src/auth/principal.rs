//! From a verified claim set to the `Principal` a request acts for, and the axum extractor
//! that authenticates every GraphQL request before its body is read.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::access::{Principal, Role};
use domain::ids::ActorId;
use persistence::{Database, RepoError};

use super::token::Claims;
use super::{AuthError, Verifier};
use crate::ids::{self, NodeType};

/// Checks the claims against the registry: the role is known, the actor exists and fits the
/// role (a funder manages at least one funding stream).
pub async fn resolve_principal(db: &Database, claims: &Claims) -> Result<Principal, AuthError> {
    let role = Role::from_code(&claims.role).ok_or_else(|| {
        AuthError::new("the token's role is not one of city, region, ngo, funder, admin")
    })?;
    let actor_id = match &claims.actor_id {
        None if role == Role::Admin => None,
        None => {
            return Err(AuthError::new(
                "the token has no `actor_id` claim, which its role needs",
            ));
        }
        Some(id) => Some(ActorId::from_uuid(
            ids::decode(NodeType::Actor, id, "actor_id").map_err(|_| {
                AuthError::new("the token's `actor_id` is not an actor id of this registry")
            })?,
        )),
    };
    if let Some(actor_id) = actor_id {
        let actor = match db.actors().get(actor_id).await {
            Ok(actor) => actor,
            Err(RepoError::NotFound { .. }) => {
                return Err(AuthError::new("the token's actor does not exist"));
            }
            Err(e) => {
                // Not the token's fault (the database is down or failing): 503, never 401,
                // so that a client keeps its valid token and retries.
                tracing::error!(error = %e, "cannot load the token's actor");
                return Err(AuthError::unavailable());
            }
        };
        if actor.archived_at.is_some() {
            return Err(AuthError::new("the token's actor is archived"));
        }
        let kind = actor.profile.parts().kind;
        if !role.fits_actor_kind(kind) {
            return Err(AuthError::new(format!(
                "the role `{}` does not fit an actor of kind {}",
                role.code(),
                kind.code()
            )));
        }
        if role == Role::Funder {
            let managed = db.funding().count_managed_by(actor_id).await.map_err(|e| {
                tracing::error!(error = %e, "cannot check the funder's streams");
                AuthError::unavailable()
            })?;
            if managed == 0 {
                return Err(AuthError::new(
                    "the role `funder` needs an actor that manages a funding stream",
                ));
            }
        }
    }
    Ok(Principal {
        subject: claims.sub.clone(),
        role,
        actor_id,
    })
}

/// What the authenticating extractor needs from the application state.
pub trait AuthState {
    fn verifier(&self) -> &Arc<Verifier>;
    fn database(&self) -> &Database;
}

/// The principal of an authenticated request. As an extractor it refuses the request with
/// HTTP 401 and a GraphQL error `UNAUTHENTICATED` (and no data) when the bearer token is
/// missing or invalid. Tokens are only read from the `Authorization` header.
pub struct Authenticated(pub Principal);

impl<S> FromRequestParts<S> for Authenticated
where
    S: AuthState + Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).map_err(unauthorized)?;
        let claims = state.verifier().verify(token).map_err(unauthorized)?;
        let principal = resolve_principal(state.database(), &claims)
            .await
            .map_err(unauthorized)?;
        Ok(Self(principal))
    }
}

fn bearer_token(parts: &Parts) -> Result<&str, AuthError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| AuthError::new("a bearer token is required: Authorization: Bearer <JWT>"))?;
    let value = value
        .to_str()
        .map_err(|_| AuthError::new("the Authorization header is not text"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| AuthError::new("the Authorization header must be `Bearer <JWT>`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::new(
            "the Authorization header must be `Bearer <JWT>`",
        ));
    }
    Ok(token.trim())
}

fn unauthorized(error: AuthError) -> Response {
    if error.1 == super::AuthFailure::Unavailable {
        // Not the token's fault: a client must not throw a valid token away.
        let body = serde_json::json!({
            "errors": [{ "message": error.0, "extensions": { "code": crate::error::codes::SERVICE_UNAVAILABLE } }]
        });
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    }
    tracing::info!(reason = %error.0, "request refused: not authenticated");
    let body = serde_json::json!({
        "errors": [{ "message": error.0, "extensions": { "code": crate::error::codes::UNAUTHENTICATED } }]
    });
    let mut response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"partnership-registry\", error=\"invalid_token\""),
    );
    response
}
