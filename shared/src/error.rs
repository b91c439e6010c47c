//! The service layer's error: what a request can fail with once it reaches a service. Each
//! function maps it to its protocol once (HTTP status, SQS outcome).

use crate::crypto::CryptoError;
use crate::store::StoreError;
use crate::validation::InputError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Unknown id, or another tenant's: callers cannot tell the two apart.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// A precondition that the caller can fix (an integration disabled, say).
    #[error("{0}")]
    FailedPrecondition(String),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("queue: {0}")]
    Queue(#[from] crate::jobs::QueueError),
    #[error(transparent)]
    Identity(#[from] crate::people::identity::IdentityError),
    #[error(transparent)]
    Token(#[from] crate::auth::TokenError),
    /// The tenant is suspended: nothing is done for it until a platform admin reactivates
    /// it.
    #[error("the tenant is suspended")]
    TenantSuspended,
    /// Too many failed attempts: try again after this long.
    #[error("too many failed attempts; retry in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    /// A third party hookhub called for the caller (Meta's Graph API) refused or failed:
    /// `reason` says what its answer means, `advice` what to do about it.
    #[error("{service}: {message}")]
    Upstream {
        service: &'static str,
        reason: &'static str,
        message: String,
        code: Option<i64>,
        advice: Option<&'static str>,
        retry_after_secs: Option<u64>,
    },
    /// Over one of the tenant's quotas; with `retry_after_secs` a rate that will allow it
    /// again, without it a limit that must be raised (or room made) first.
    #[error("{message}")]
    QuotaExceeded {
        quota: &'static str,
        limit: u32,
        message: String,
        retry_after_secs: Option<u64>,
    },
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(m) => ServiceError::Conflict(m),
            other => ServiceError::Store(other),
        }
    }
}

impl ServiceError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ServiceError::Input(InputError::field(field, message))
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
