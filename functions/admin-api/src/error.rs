//! The one mapping from errors to HTTP: `{"error": {"code", "message", "details"}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hookhub_shared::auth::TokenError;
use hookhub_shared::crypto::CryptoError;
use hookhub_shared::error::ServiceError;
use hookhub_shared::people::identity::IdentityError;
use hookhub_shared::store::StoreError;
use hookhub_shared::validation::InputError;
use serde_json::{json, Value};

/// Every error's body: `{"error": {"code", "message", "details"}}`.
#[derive(Debug, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Error))]
pub struct ErrorBody {
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub error: ErrorDetail,
}

#[derive(Debug, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// stable, for programs: validation_failed, not_found, quota_exceeded, ...
    pub code: &'static str,
    /// for people
    pub message: String,
    /// what exactly: the fields refused ({field, message}), the quota and its limit, ...
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Value>))]
    pub details: Vec<Value>,
}

#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Vec<Value>,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after_secs: None,
        }
    }

    pub fn with_details(mut self, details: Vec<Value>) -> Self {
        self.details = details;
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an unexpected error occurred",
        )
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            message,
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            StoreError::InvalidCursor(m) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_cursor",
                format!("invalid cursor: {m}"),
            ),
            StoreError::Unavailable(m) => {
                tracing::error!(error = %m, "database unavailable");
                ApiError::unavailable("the database is unavailable; retry shortly")
            }
            StoreError::Contended(m) => {
                tracing::warn!(error = %m, "transaction kept conflicting");
                let mut err = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "concurrent_change",
                    "other changes to the same settings were being saved at the same moment; \
                     nothing was changed: try again",
                );
                err.retry_after_secs = Some(1);
                err
            }
            StoreError::Corrupt(m) => {
                tracing::error!(error = %m, "unreadable stored item");
                ApiError::internal()
            }
        }
    }
}

impl From<CryptoError> for ApiError {
    fn from(err: CryptoError) -> Self {
        tracing::error!(error = %err, "secret sealing failed");
        match err {
            CryptoError::KeyService(_) => {
                ApiError::unavailable("the key service is unavailable; retry shortly")
            }
            _ => ApiError::internal(),
        }
    }
}

impl From<InputError> for ApiError {
    fn from(err: InputError) -> Self {
        match err {
            InputError::Malformed(m) => ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", m),
            InputError::Invalid(fields) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "some fields are invalid; see details",
            )
            .with_details(
                fields
                    .into_iter()
                    .map(|f| json!({"field": f.field, "message": f.message}))
                    .collect(),
            ),
        }
    }
}

/// A suspended tenant's callers, and writes by platform admins on its behalf.
pub fn tenant_suspended() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "tenant_suspended",
        "the tenant is suspended; a platform admin can reactivate it (PATCH /api/platform/tenants/{id} with status active)",
    )
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound(what) => ApiError::not_found(what),
            ServiceError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            ServiceError::TenantSuspended => tenant_suspended(),
            ServiceError::FailedPrecondition(m) => {
                ApiError::new(StatusCode::CONFLICT, "failed_precondition", m)
            }
            ServiceError::Input(e) => e.into(),
            ServiceError::Store(e) => e.into(),
            ServiceError::Crypto(e) => e.into(),
            ServiceError::Queue(e) => {
                tracing::error!(error = %e, "queue unavailable");
                ApiError::unavailable("the delivery queue is unavailable; retry shortly")
            }
            ServiceError::Identity(e) => e.into(),
            ServiceError::Token(e) => token_refused(e),
            ServiceError::Throttled { retry_after_secs } => {
                let mut err = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    format!("too many failed attempts; try again in {retry_after_secs} s"),
                );
                err.retry_after_secs = Some(retry_after_secs);
                err
            }
            ServiceError::Upstream {
                service,
                reason,
                message,
                code,
                advice,
                retry_after_secs,
            } => {
                // Meta's rate limits pass on as ours (429, try later); any other refusal is
                // a bad gateway, with what it means and what to do in the details.
                let status = match retry_after_secs {
                    Some(_) => StatusCode::TOO_MANY_REQUESTS,
                    None => StatusCode::BAD_GATEWAY,
                };
                let mut err = ApiError::new(
                    status,
                    "upstream_error",
                    format!("the Graph API refused: {message}"),
                )
                .with_details(vec![json!({
                    "service": service, "reason": reason, "code": code, "advice": advice,
                })]);
                err.retry_after_secs = retry_after_secs;
                err
            }
            ServiceError::QuotaExceeded {
                quota,
                limit,
                message,
                retry_after_secs,
            } => {
                // A rate lets the same request through later (429); a limit needs a change
                // first (422).
                let status = match retry_after_secs {
                    Some(_) => StatusCode::TOO_MANY_REQUESTS,
                    None => StatusCode::UNPROCESSABLE_ENTITY,
                };
                let mut err = ApiError::new(status, "quota_exceeded", message)
                    .with_details(vec![json!({"quota": quota, "limit": limit})]);
                err.retry_after_secs = retry_after_secs;
                err
            }
        }
    }
}

impl From<IdentityError> for ApiError {
    fn from(err: IdentityError) -> Self {
        let message = err.to_string();
        match err {
            IdentityError::InvalidCredentials => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", message)
            }
            IdentityError::PasswordResetRequired => {
                ApiError::new(StatusCode::FORBIDDEN, "password_reset_required", message)
            }
            IdentityError::PasswordRejected(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "password_rejected",
                message,
            ),
            IdentityError::InvalidCode => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_code", message)
            }
            IdentityError::SessionExpired => {
                ApiError::new(StatusCode::UNAUTHORIZED, "session_expired", message)
            }
            IdentityError::RefreshRefused => {
                ApiError::new(StatusCode::UNAUTHORIZED, "refresh_refused", message)
            }
            IdentityError::UserExists => {
                ApiError::new(StatusCode::CONFLICT, "user_exists", message)
            }
            IdentityError::UserNotFound => ApiError::not_found("user"),
            IdentityError::Invalid(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                message,
            ),
            IdentityError::Throttled => {
                let mut err = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message);
                err.retry_after_secs = Some(5);
                err
            }
            IdentityError::Unavailable(detail) => {
                tracing::error!(error = %detail, "identity provider unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "auth_unavailable",
                    "the identity provider is unavailable; retry shortly",
                )
            }
        }
    }
}

/// Why a token is refused, in words a person can act on: 401 for a token that proves
/// nothing (sign in again), 403 for a valid person without access, 503 while the issuer's
/// keys cannot be fetched (the token may be fine).
pub fn token_refused(error: TokenError) -> ApiError {
    let unauthorized =
        |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
    match error {
        TokenError::Expired => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            "token expired: sign in again or refresh it",
        ),
        TokenError::NotYetValid => unauthorized("token not valid yet (check the clock)"),
        TokenError::Invalid => unauthorized("invalid token"),
        TokenError::WrongTokenUse => unauthorized(
            "an access token was presented: send the ID token (idToken) as the Bearer token",
        ),
        TokenError::MissingTenant => ApiError::new(
            StatusCode::FORBIDDEN,
            "no_tenant",
            "this tenant admin is not assigned to a tenant",
        ),
        TokenError::NoRole => ApiError::new(
            StatusCode::FORBIDDEN,
            "no_role",
            "this user is in neither the platform_admin nor the tenant_admin group",
        ),
        TokenError::IssuerUnavailable => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "auth_unavailable",
            "sign-in cannot be checked right now: the identity provider's keys are unreachable",
        ),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                details: self.details,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this route",
    )
}
