//! Tokens from an identity provider (Amazon Cognito by default, or any OIDC issuer): RS256 or
//! ES256, checked against the issuer's published keys (JWKS).
//!
//! The keys are fetched at the first token a container sees and kept; a token signed with a
//! key id the cache does not know triggers one refetch, at most once a minute, so a key
//! rotation is picked up and a flood of made-up key ids cannot turn into a flood of fetches.
//! While the issuer is unreachable the cached keys keep working; with nothing cached the
//! answer is "unavailable" (a 503), not "invalid": the token may be perfectly good.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use super::{Claims, Role, TokenError, TokenSource};
use crate::messages::providers::WithoutUrl;

/// Clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;
/// An unknown key id refetches the key set at most this often.
const REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// A key set larger than this is refused (Cognito publishes two keys of ≈ 0.5 KB).
const MAX_JWKS_BYTES: usize = 64 * 1024;
/// Keys kept from one key set; the rest are ignored.
const MAX_KEYS: usize = 32;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Which token the API takes as a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// Cognito ID tokens: they carry the groups and the custom tenant attribute; checked by
    /// `token_use: id` and `aud` = the app client id.
    CognitoId,
    /// Any other OIDC issuer's tokens: `aud` = the client id, no `token_use` claim.
    Oidc,
}

/// Where tokens come from and how their claims map to hookhub's roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerConfig {
    /// The exact `iss` every token must carry.
    pub issuer: String,
    /// Where the issuer publishes its keys.
    pub jwks_url: String,
    /// The app client the tokens were issued to.
    pub client_id: String,
    pub token_use: TokenUse,
    /// The claim holding the caller's groups or roles (a list or a single string).
    pub role_claim: String,
    /// The claim holding a tenant admin's tenant id.
    pub tenant_claim: String,
}

impl IssuerConfig {
    /// A Cognito user pool: issuer and key set URL as Cognito publishes them, unless the key
    /// set is served elsewhere (the local emulator).
    pub fn cognito(region: &str, pool_id: &str, client_id: &str, jwks_base: Option<&str>) -> Self {
        let issuer = format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}");
        let jwks_url = match jwks_base {
            Some(base) => format!(
                "{}/{pool_id}/.well-known/jwks.json",
                base.trim_end_matches('/')
            ),
            None => format!("{issuer}/.well-known/jwks.json"),
        };
        Self {
            issuer,
            jwks_url,
            client_id: client_id.to_string(),
            token_use: TokenUse::CognitoId,
            role_claim: "cognito:groups".into(),
            tenant_claim: "custom:tenantId".into(),
        }
    }
}

struct CachedKey {
    algorithm: Algorithm,
    key: DecodingKey,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, std::sync::Arc<CachedKey>>,
    fetched_at: Option<Instant>,
}

/// Verifies an issuer's tokens; one per container, shared by every request.
pub struct OidcVerifier {
    config: IssuerConfig,
    http: reqwest::Client,
    cache: RwLock<KeyCache>,
    /// One fetch at a time: concurrent requests with a new key id wait for it.
    fetching: Mutex<()>,
    refetch_interval: Duration,
}

#[derive(Deserialize)]
struct Registered {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    token_use: Option<String>,
    #[serde(default)]
    client_id: Option<String>,
    exp: i64,
    #[serde(default)]
    iat: i64,
    #[serde(flatten)]
    rest: HashMap<String, serde_json::Value>,
}

impl OidcVerifier {
    pub fn new(config: IssuerConfig, http: reqwest::Client) -> Self {
        Self {
            config,
            http,
            cache: RwLock::new(KeyCache::default()),
            fetching: Mutex::new(()),
            refetch_interval: REFETCH_INTERVAL,
        }
    }

    /// How long after a fetch an unknown key id waits for the next (a minute by default).
    pub fn with_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    pub fn config(&self) -> &IssuerConfig {
        &self.config
    }

    /// Checks a bearer token and maps it to hookhub's claims.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        // Only asymmetric algorithms: an HS256 token "signed" with the public key, or `none`,
        // is refused before any key is looked at.
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.ok_or(TokenError::Invalid)?;
        let key = self.key(&kid).await?;
        if key.algorithm != header.alg {
            return Err(TokenError::Invalid);
        }
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let expect_aud = self.config.token_use == TokenUse::Oidc;
        if expect_aud {
            validation.set_audience(&[&self.config.client_id]);
        } else {
            // Cognito: ID tokens name the client in `aud`, access tokens in `client_id`;
            // both are checked below with the token's use.
            validation.validate_aud = false;
        }
        let data = jsonwebtoken::decode::<Registered>(token, &key.key, &validation).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                jsonwebtoken::errors::ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                _ => TokenError::Invalid,
            },
        )?;
        let claims = data.claims;
        if self.config.token_use == TokenUse::CognitoId {
            match claims.token_use.as_deref() {
                Some("id") => {}
                Some("access") => return Err(TokenError::WrongTokenUse),
                _ => return Err(TokenError::Invalid),
            }
            let aud = claims.rest.get("aud").and_then(|a| a.as_str());
            if aud != Some(self.config.client_id.as_str()) || claims.client_id.is_some() {
                return Err(TokenError::Invalid);
            }
        }
        let roles = strings(claims.rest.get(&self.config.role_claim));
        let role = if roles.iter().any(|r| r == "platform_admin") {
            Role::PlatformAdmin
        } else if roles.iter().any(|r| r == "tenant_admin") {
            Role::TenantAdmin
        } else {
            return Err(TokenError::NoRole);
        };
        let tenant_id = claims
            .rest
            .get(&self.config.tenant_claim)
            .and_then(|t| t.as_str())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        if role == Role::TenantAdmin && tenant_id.is_none() {
            return Err(TokenError::MissingTenant);
        }
        Ok(Claims {
            sub: claims.sub,
            role,
            tenant_id: if role == Role::TenantAdmin {
                tenant_id
            } else {
                None
            },
            exp: claims.exp,
            iat: claims.iat,
            email: claims.email,
            source: TokenSource::Issuer,
        })
    }

    async fn key(&self, kid: &str) -> Result<std::sync::Arc<CachedKey>, TokenError> {
        if let Some(key) = self.cache.read().await.keys.get(kid) {
            return Ok(key.clone());
        }
        let _one_at_a_time = self.fetching.lock().await;
        let (cached_any, recent) = {
            let cache = self.cache.read().await;
            if let Some(key) = cache.keys.get(kid) {
                return Ok(key.clone());
            }
            let recent = cache
                .fetched_at
                .is_some_and(|at| at.elapsed() < self.refetch_interval);
            (!cache.keys.is_empty(), recent)
        };
        if recent {
            return Err(TokenError::Invalid);
        }
        match self.fetch().await {
            Ok(keys) => {
                let mut cache = self.cache.write().await;
                cache.keys = keys;
                cache.fetched_at = Some(Instant::now());
                cache.keys.get(kid).cloned().ok_or(TokenError::Invalid)
            }
            Err(e) => {
                tracing::warn!(error = %e, "the token issuer's keys could not be fetched");
                // Keys that worked before still work; a token of another key waits for the
                // next attempt, a minute on. With nothing cached, nothing can be judged.
                let mut cache = self.cache.write().await;
                if cached_any {
                    cache.fetched_at = Some(Instant::now());
                    Err(TokenError::Invalid)
                } else {
                    Err(TokenError::IssuerUnavailable)
                }
            }
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, std::sync::Arc<CachedKey>>, String> {
        let response = self
            .http
            .get(&self.config.jwks_url)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|e| e.without_url_string())?;
        if !response.status().is_success() {
            return Err(format!("key set answered {}", response.status()));
        }
        if response
            .content_length()
            .is_some_and(|n| n as usize > MAX_JWKS_BYTES)
        {
            return Err("key set too large".into());
        }
        let body = response.bytes().await.map_err(|e| e.without_url_string())?;
        if body.len() > MAX_JWKS_BYTES {
            return Err("key set too large".into());
        }
        let set: JwkSet =
            serde_json::from_slice(&body).map_err(|e| format!("key set unreadable: {e}"))?;
        Ok(usable_keys(&set))
    }
}

/// The RSA and P-256 keys of a key set, by id; symmetric and other keys are left out, so a
/// key set can never make a shared-secret algorithm acceptable.
fn usable_keys(set: &JwkSet) -> HashMap<String, std::sync::Arc<CachedKey>> {
    set.keys
        .iter()
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let algorithm = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                    Algorithm::ES256
                }
                _ => return None,
            };
            let declared = match jwk.common.key_algorithm {
                None => None,
                Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
                Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
                Some(_) => return None,
            };
            if declared.is_some_and(|d| d != algorithm) {
                return None;
            }
            let key = DecodingKey::from_jwk(jwk).ok()?;
            Some((kid, std::sync::Arc::new(CachedKey { algorithm, key })))
        })
        .take(MAX_KEYS)
        .collect()
}

/// A claim that is a list of strings, or one string (some issuers send a single role).
fn strings(value: Option<&serde_json::Value>) -> Vec<String> {
    match value {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Some(serde_json::Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        _ => Vec::new(),
    }
}
