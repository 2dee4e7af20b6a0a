//! The claim set the registry reads, and minting of HS256 tokens for development and tests
//! (`registry token`).

use jsonwebtoken::{EncodingKey, Header};
use serde::{Deserialize, Serialize};

/// `aud` may be one string or a list of strings (RFC 7519).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The claims of a registry token. Types are strict: a claim of the wrong type makes the
/// whole token invalid. Claims the registry does not use (`iat`, `jti`...) are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    pub iss: String,
    pub aud: Audience,
    /// `city`, `region`, `ngo`, `funder` or `admin`.
    pub role: String,
    /// The actor's id exactly as the API shows it; required for every role but `admin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
}

/// What `registry token` mints.
#[derive(Debug, Clone)]
pub struct MintRequest {
    pub subject: String,
    pub role: String,
    pub actor_id: Option<String>,
    pub ttl_seconds: u64,
    pub issuer: String,
    pub audience: String,
}

/// An HS256 token signed with `secret`.
pub fn mint(secret: &str, request: &MintRequest) -> Result<String, String> {
    let now = jsonwebtoken::get_current_timestamp();
    let claims = Claims {
        sub: request.subject.clone(),
        exp: now.saturating_add(request.ttl_seconds),
        nbf: None,
        iss: request.issuer.clone(),
        aud: Audience::One(request.audience.clone()),
        role: request.role.clone(),
        actor_id: request.actor_id.clone(),
    };
    jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| format!("cannot sign the token: {e}"))
}
