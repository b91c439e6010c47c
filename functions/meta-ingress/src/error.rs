use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hookhub_shared::http::error_response;
use hookhub_shared::meta::IngestError;
use hookhub_shared::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum IngressError {
    #[error("unknown tenant")]
    UnknownTenant,
    #[error("verification failed")]
    VerificationFailed,
    /// The verify token matched, but events could not be verified.
    #[error("no app secret")]
    NoAppSecret,
    #[error("signature missing or invalid")]
    BadSignature,
    /// Meta retries on 5xx, which is what we want while a dependency is down.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A verified POST for a suspended tenant. Answered 503: Meta retries any answer but a
    /// 200 (WhatsApp for up to seven days), and a 5xx is what every sender treats as
    /// passing, so what arrives during a short suspension is delivered once the tenant is
    /// reactivated, and nothing is stored meanwhile. A 200 would drop it for good.
    #[error("tenant suspended")]
    Suspended,
    /// A verified body that is not JSON: Meta never sends one, so it will not be retried.
    #[error("malformed body: {0}")]
    Malformed(String),
}

impl From<hookhub_shared::error::ServiceError> for IngressError {
    fn from(err: hookhub_shared::error::ServiceError) -> Self {
        IngressError::Unavailable(err.to_string())
    }
}

impl From<StoreError> for IngressError {
    fn from(err: StoreError) -> Self {
        IngressError::Unavailable(err.to_string())
    }
}

impl From<IngestError> for IngressError {
    fn from(err: IngestError) -> Self {
        match err {
            IngestError::UnknownTenant => IngressError::UnknownTenant,
            IngestError::BadSignature => IngressError::BadSignature,
            IngestError::Malformed(m) => IngressError::Malformed(m),
            IngestError::Unavailable(m) => IngressError::Unavailable(m),
            IngestError::Suspended => IngressError::Suspended,
        }
    }
}

impl IntoResponse for IngressError {
    fn into_response(self) -> Response {
        match self {
            IngressError::UnknownTenant => {
                error_response(StatusCode::NOT_FOUND, "not_found", "not found")
            }
            IngressError::VerificationFailed => error_response(
                StatusCode::FORBIDDEN,
                "verification_failed",
                "verification failed",
            ),
            IngressError::NoAppSecret => error_response(
                StatusCode::FORBIDDEN,
                "app_secret_missing",
                "the integration has no appSecret, so its events could not be verified; set it, then verify again",
            ),
            IngressError::BadSignature => error_response(
                StatusCode::UNAUTHORIZED,
                "invalid_signature",
                "X-Hub-Signature-256 is missing or does not match",
            ),
            IngressError::Suspended => error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "tenant_suspended",
                "the tenant is suspended; nothing was stored; retry later",
            ),
            IngressError::Malformed(message) => {
                error_response(StatusCode::BAD_REQUEST, "malformed_body", &message)
            }
            IngressError::Unavailable(reason) => {
                tracing::error!(%reason, "ingress storage unavailable");
                error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service_unavailable",
                    "temporarily unavailable; retry",
                )
            }
        }
    }
}
