//! Verification keys and the rules a token must pass: an HS256 shared secret (development,
//! tests, simple deployments) and RS256, ES256 and EdDSA public keys from a PEM or JWKS file
//! (production identity providers), each accepted only with its own algorithm.

use std::collections::HashMap;
use std::path::PathBuf;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::AuthError;
use super::token::Claims;

/// The shortest HS256 secret accepted: 256 bits.
pub const MIN_SECRET_BYTES: usize = 32;
/// The most clock skew tolerated on `exp` and `nbf`.
pub const MAX_LEEWAY_SECONDS: u64 = 60;
/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The secret `--dev` uses when none is configured. Public, so never for production.
pub const DEV_SECRET: &str = "partnership-registry-development-secret-do-not-use-in-production";

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([hidden])")
    }
}

/// What the verifier is built from.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub secret: Option<Secret>,
    /// A PEM public key or a JWKS file.
    pub keys_file: Option<PathBuf>,
    pub issuer: String,
    pub audience: String,
    pub leeway_seconds: u64,
}

/// Verifies tokens against the configured keys.
pub struct Verifier {
    secret: Option<DecodingKey>,
    by_kid: HashMap<String, (Algorithm, DecodingKey)>,
    /// Keys from a PEM file, which has no key id.
    without_kid: Vec<(Algorithm, DecodingKey)>,
    issuer: String,
    audience: String,
    leeway: u64,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("hs256", &self.secret.is_some())
            .field("kids", &self.by_kid.keys().collect::<Vec<_>>())
            .field("pem_keys", &self.without_kid.len())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl Verifier {
    /// Builds the verifier; an error names the setting that is wrong.
    pub fn new(config: &AuthConfig) -> Result<Self, String> {
        if config.leeway_seconds > MAX_LEEWAY_SECONDS {
            return Err(format!(
                "REGISTRY_JWT_LEEWAY: at most {MAX_LEEWAY_SECONDS} seconds (got {})",
                config.leeway_seconds
            ));
        }
        if config.issuer.trim().is_empty() || config.audience.trim().is_empty() {
            return Err("REGISTRY_JWT_ISSUER and REGISTRY_JWT_AUDIENCE must not be empty".into());
        }
        let secret = match &config.secret {
            Some(secret) if secret.expose().len() < MIN_SECRET_BYTES => {
                return Err(format!(
                    "REGISTRY_JWT_SECRET: at least {MIN_SECRET_BYTES} bytes are needed (got {})",
                    secret.expose().len()
                ));
            }
            Some(secret) => Some(DecodingKey::from_secret(secret.expose().as_bytes())),
            None => None,
        };
        let mut verifier = Self {
            secret,
            by_kid: HashMap::new(),
            without_kid: Vec::new(),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            leeway: config.leeway_seconds,
        };
        if let Some(path) = &config.keys_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("REGISTRY_JWT_KEYS: cannot read {}: {e}", path.display()))?;
            verifier
                .load_keys(&text)
                .map_err(|e| format!("REGISTRY_JWT_KEYS: {}: {e}", path.display()))?;
        }
        if verifier.secret.is_none()
            && verifier.by_kid.is_empty()
            && verifier.without_kid.is_empty()
        {
            return Err(
                "no token key is configured: set REGISTRY_JWT_SECRET (at least 32 bytes) or REGISTRY_JWT_KEYS, or start with --dev".into(),
            );
        }
        Ok(verifier)
    }

    fn load_keys(&mut self, text: &str) -> Result<(), String> {
        if text.trim_start().starts_with('{') {
            let set: JwkSet =
                serde_json::from_str(text).map_err(|e| format!("not a JWKS document: {e}"))?;
            for jwk in &set.keys {
                let kid = jwk
                    .common
                    .key_id
                    .clone()
                    .ok_or("every JWKS key needs a `kid`")?;
                let alg = match (&jwk.common.key_algorithm, &jwk.algorithm) {
                    (Some(KeyAlgorithm::RS256), AlgorithmParameters::RSA(_))
                    | (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
                    (Some(KeyAlgorithm::ES256), AlgorithmParameters::EllipticCurve(p))
                    | (None, AlgorithmParameters::EllipticCurve(p))
                        if p.curve == EllipticCurve::P256 =>
                    {
                        Algorithm::ES256
                    }
                    (Some(KeyAlgorithm::EdDSA), AlgorithmParameters::OctetKeyPair(p))
                    | (None, AlgorithmParameters::OctetKeyPair(p))
                        if p.curve == EllipticCurve::Ed25519 =>
                    {
                        Algorithm::EdDSA
                    }
                    _ => {
                        return Err(format!(
                            "key `{kid}`: only RS256, ES256 (P-256) and EdDSA (Ed25519) public keys are accepted"
                        ));
                    }
                };
                let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key `{kid}`: {e}"))?;
                if self.by_kid.insert(kid.clone(), (alg, key)).is_some() {
                    return Err(format!("two keys have the `kid` {kid}"));
                }
            }
            if self.by_kid.is_empty() {
                return Err("the JWKS document has no keys".into());
            }
            return Ok(());
        }
        let pem = text.as_bytes();
        let (alg, key) = if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            (Algorithm::RS256, key)
        } else if let Ok(key) = DecodingKey::from_ec_pem(pem) {
            (Algorithm::ES256, key)
        } else if let Ok(key) = DecodingKey::from_ed_pem(pem) {
            (Algorithm::EdDSA, key)
        } else {
            return Err(
                "not a PEM public key (RSA, EC P-256 or Ed25519) nor a JWKS document".into(),
            );
        };
        self.without_kid.push((alg, key));
        Ok(())
    }

    /// Verifies a token's signature and standard claims and reads its claim set.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::new("the token is too long"));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            AuthError::new("the token is not a signed JWT with a supported algorithm")
        })?;
        // RFC 7515: critical header extensions the server does not understand are refused,
        // and it understands none.
        if header.crit.is_some() {
            return Err(AuthError::new(
                "the token names critical header extensions this registry does not support",
            ));
        }
        let key = self.key_for(header.alg, header.kid.as_deref())?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.leeway;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            AuthError::new(match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
                ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".to_owned(),
                ErrorKind::InvalidIssuer => "the token has the wrong issuer".to_owned(),
                ErrorKind::InvalidAudience => "the token has the wrong audience".to_owned(),
                ErrorKind::MissingRequiredClaim(claim) => format!("the token has no `{claim}` claim"),
                ErrorKind::InvalidSignature => "the token's signature does not verify".to_owned(),
                ErrorKind::Json(_) | ErrorKind::InvalidClaimFormat(_) => {
                    "the token's claims have the wrong shape (sub, iss, role and actor_id are strings; exp and nbf are numbers)".to_owned()
                }
                _ => "the token is invalid".to_owned(),
            })
        })?;
        if data.claims.sub.trim().is_empty() {
            return Err(AuthError::new("the token's `sub` claim is empty"));
        }
        Ok(data.claims)
    }

    fn key_for(&self, alg: Algorithm, kid: Option<&str>) -> Result<&DecodingKey, AuthError> {
        let refused = || AuthError::new("the token's algorithm or key id is not accepted here");
        if alg == Algorithm::HS256 {
            // A shared-secret token never names an asymmetric key: that is how HS/RS
            // confusion attacks start.
            if kid.is_some_and(|k| self.by_kid.contains_key(k)) {
                return Err(refused());
            }
            return self.secret.as_ref().ok_or_else(refused);
        }
        let matching = match kid {
            Some(kid) if !self.by_kid.is_empty() => self
                .by_kid
                .get(kid)
                .filter(|(key_alg, _)| *key_alg == alg)
                .map(|(_, key)| key),
            // A PEM key has no id: identity providers' `kid` headers are not a reason to refuse.
            _ => {
                let mut keys = self
                    .without_kid
                    .iter()
                    .filter(|(key_alg, _)| *key_alg == alg);
                match (keys.next(), keys.next()) {
                    (Some((_, key)), None) => Some(key),
                    _ => None,
                }
            }
        };
        matching.ok_or_else(refused)
    }
}
