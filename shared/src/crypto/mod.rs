//! KMS envelope encryption of secret fields.
//!
//! Each field is sealed with AES-256-GCM under a data key from KMS `GenerateDataKey`, with a
//! fresh 96-bit nonce. The tenant id and field name are bound in twice: as the KMS encryption
//! context of the data key, and as GCM associated data. The stored text is
//! `hh1.<encrypted data key>.<nonce>.<ciphertext+tag>` (base64url), versioned by its prefix.

mod cache;
mod envelope;
mod kms;

pub use cache::CachePolicy;
pub use envelope::{EnvelopeCipher, SecretContext};
pub use kms::KmsDataKeys;

use async_trait::async_trait;
use zeroize::Zeroizing;

pub type PlainKey = Zeroizing<[u8; 32]>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("sealed secret is malformed: {0}")]
    Malformed(&'static str),
    #[error(
        "sealed secret failed authentication (tampered, or sealed for another tenant or field)"
    )]
    Tampered,
    #[error("key service unavailable: {0}")]
    KeyService(String),
    #[error("secret context is invalid: {0}")]
    InvalidContext(&'static str),
}

/// A fresh data key: the plaintext for local use, and its KMS-encrypted form to store.
pub struct DataKey {
    pub plaintext: PlainKey,
    pub encrypted: Vec<u8>,
}

/// The port to the key service (KMS in production and against the emulator).
#[async_trait]
pub trait DataKeyProvider: Send + Sync {
    async fn generate(&self, context: &SecretContext) -> Result<DataKey, CryptoError>;
    async fn decrypt(
        &self,
        encrypted: &[u8],
        context: &SecretContext,
    ) -> Result<PlainKey, CryptoError>;
}
