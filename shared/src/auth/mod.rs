//! Who a bearer token says the caller is.
//!
//! Two sources, either or both configured: an identity provider's tokens (Amazon Cognito by
//! default, or any OIDC issuer; [`oidc`]), and HS256 tokens minted with a shared secret by a
//! platform that embeds hookhub (`sub`, `role`, `tenantId` for tenant admins, `exp`).

pub mod oidc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    PlatformAdmin,
    TenantAdmin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    pub exp: i64,
    #[serde(default)]
    pub iat: i64,
    /// The person's email, when the issuer says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Who vouches for the token; never read from the token itself.
    #[serde(skip)]
    pub source: TokenSource,
}

/// Where a verified token came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// Minted with the shared secret by a platform embedding hookhub: its people are its own.
    #[default]
    SharedSecret,
    /// The identity provider: a person in hookhub's directory.
    Issuer,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("invalid token")]
    Invalid,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("a tenant admin token must carry tenantId")]
    MissingTenant,
    #[error("the token carries neither the platform_admin nor the tenant_admin role")]
    NoRole,
    #[error("an access token was presented: send the ID token")]
    WrongTokenUse,
    #[error("the token issuer's keys cannot be fetched")]
    IssuerUnavailable,
}

/// Verifies bearer tokens from whichever sources are configured; one per container.
pub struct TokenVerifier {
    shared_secret: Option<String>,
    issuer: Option<oidc::OidcVerifier>,
}

impl TokenVerifier {
    pub fn new(shared_secret: Option<String>, issuer: Option<oidc::OidcVerifier>) -> Self {
        Self {
            shared_secret,
            issuer,
        }
    }

    pub fn issuer(&self) -> Option<&oidc::OidcVerifier> {
        self.issuer.as_ref()
    }

    /// HS256 tokens go to the shared secret, RS256 and ES256 ones to the issuer; a token
    /// whose source is not configured is invalid.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        match (header.alg, &self.shared_secret, &self.issuer) {
            (Algorithm::HS256, Some(secret), _) => verify(secret, token),
            (Algorithm::RS256 | Algorithm::ES256, _, Some(issuer)) => issuer.verify(token).await,
            _ => Err(TokenError::Invalid),
        }
    }
}

pub fn mint(secret: &str, claims: &Claims) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing cannot fail")
}

/// Checks signature (HS256 only), expiry, and that tenant admins name their tenant.
pub fn verify(secret: &str, token: &str) -> Result<Claims, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 30;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
        _ => TokenError::Invalid,
    })?;
    let claims = data.claims;
    if claims.role == Role::TenantAdmin && claims.tenant_id.as_deref().is_none_or(str::is_empty) {
        return Err(TokenError::MissingTenant);
    }
    Ok(claims)
}

/// A token for `role` valid for `hours`; what the local runner prints and `make dev` uses.
pub fn mint_for(
    secret: &str,
    sub: &str,
    role: Role,
    tenant_id: Option<&str>,
    hours: i64,
) -> String {
    let now = chrono::Utc::now().timestamp();
    mint(
        secret,
        &Claims {
            sub: sub.to_string(),
            role,
            tenant_id: tenant_id.map(str::to_string),
            exp: now + hours * 3600,
            iat: now,
            email: None,
            source: TokenSource::SharedSecret,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trip() {
        let token = mint_for(SECRET, "alice", Role::TenantAdmin, Some("ten_1"), 1);
        let claims = verify(SECRET, &token).unwrap();
        assert_eq!(claims.role, Role::TenantAdmin);
        assert_eq!(claims.tenant_id.as_deref(), Some("ten_1"));
    }

    #[test]
    fn expired_wrong_secret_and_tampered_fail() {
        let expired = mint_for(SECRET, "a", Role::PlatformAdmin, None, -1);
        assert_eq!(verify(SECRET, &expired), Err(TokenError::Expired));
        let token = mint_for(SECRET, "a", Role::PlatformAdmin, None, 1);
        assert_eq!(
            verify("another-secret-another-secret-xx", &token),
            Err(TokenError::Invalid)
        );
        let mut tampered = token.clone();
        tampered.insert(tampered.len() / 2, 'x');
        assert_eq!(verify(SECRET, &tampered), Err(TokenError::Invalid));
        assert_eq!(verify(SECRET, "not.a.jwt"), Err(TokenError::Invalid));
    }

    #[test]
    fn tenant_admin_without_tenant_is_refused() {
        let token = mint_for(SECRET, "a", Role::TenantAdmin, None, 1);
        assert_eq!(verify(SECRET, &token), Err(TokenError::MissingTenant));
    }

    #[test]
    fn none_algorithm_is_refused() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
        use base64::Engine;
        let header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = B64.encode(br#"{"sub":"a","role":"platform_admin","exp":9999999999}"#);
        assert_eq!(
            verify(SECRET, &format!("{header}.{body}.")),
            Err(TokenError::Invalid)
        );
    }
}
