//! Authentication at the HTTP edge: a bearer JWT is verified once per request (signature,
//! algorithm, issuer, audience, expiry, not-before, claim types), then resolved against the
//! database into a `domain::access::Principal` (the actor exists and fits the role). Nothing
//! after this point sees a token.

mod keys;
pub mod principal;
mod token;

pub use keys::{AuthConfig, DEV_SECRET, MAX_LEEWAY_SECONDS, MIN_SECRET_BYTES, Secret, Verifier};
pub use principal::{Authenticated, resolve_principal};
pub use token::{Claims, MintRequest, mint};

/// Why a request was not authenticated. The message goes to the client: it says what is
/// wrong with the token, never anything about the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError(pub String, pub AuthFailure);

/// Whether the token was refused, or could not be checked because the database is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Refused,
    Unavailable,
}

impl AuthError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into(), AuthFailure::Refused)
    }

    pub(crate) fn unavailable() -> Self {
        Self(
            "the registry cannot check the token's actor right now; try again shortly".into(),
            AuthFailure::Unavailable,
        )
    }
}
