//! Signatures: Standard Webhooks v1 for outbound deliveries, the `sha256=<hex>` body HMAC
//! header, and Meta's `X-Hub-Signature-256`. Every comparison is constant-time.

pub mod body_hmac;
pub mod meta;
pub mod standard_webhooks;

use aws_lc_rs::hmac;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("missing {0}")]
    Missing(&'static str),
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("timestamp outside the tolerance window")]
    StaleTimestamp,
    #[error("no signature matches")]
    Mismatch,
    #[error("invalid secret: {0}")]
    InvalidSecret(&'static str),
}

/// HMAC-SHA256 of the concatenated `parts` under `key` (aws-lc: assembly SHA-256 whatever
/// the profile's opt-level).
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut context = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, key));
    for part in parts {
        context.update(part);
    }
    let mut tag = [0u8; 32];
    tag.copy_from_slice(context.sign().as_ref());
    tag
}

/// Constant-time check of `expected` against the HMAC of `parts`; the length is not secret.
pub(crate) fn hmac_sha256_matches(key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    constant_time_eq(&hmac_sha256(key, parts), expected)
}

/// Equality of two secrets in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
