use async_trait::async_trait;
use aws_sdk_kms::error::SdkError;
use aws_sdk_kms::operation::decrypt::DecryptError;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use zeroize::Zeroizing;

use super::{CryptoError, DataKey, DataKeyProvider, PlainKey, SecretContext};

/// Data keys from AWS KMS under one customer-managed key.
#[derive(Clone)]
pub struct KmsDataKeys {
    client: aws_sdk_kms::Client,
    key_id: String,
}

impl KmsDataKeys {
    pub fn new(client: aws_sdk_kms::Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
        }
    }
}

fn to_plain_key(bytes: &[u8]) -> Result<PlainKey, CryptoError> {
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != key.len() {
        return Err(CryptoError::KeyService(format!(
            "data key has {} bytes, expected 32",
            bytes.len()
        )));
    }
    key.copy_from_slice(bytes);
    Ok(key)
}

#[async_trait]
impl DataKeyProvider for KmsDataKeys {
    async fn generate(&self, context: &SecretContext) -> Result<DataKey, CryptoError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(context.kms_context()))
            .send()
            .await
            .map_err(|e| CryptoError::KeyService(crate::aws::describe_error(&e)))?;
        let plaintext = out.plaintext().ok_or_else(|| {
            CryptoError::KeyService("GenerateDataKey returned no plaintext".into())
        })?;
        let encrypted = out.ciphertext_blob().ok_or_else(|| {
            CryptoError::KeyService("GenerateDataKey returned no ciphertext".into())
        })?;
        Ok(DataKey {
            plaintext: to_plain_key(plaintext.as_ref())?,
            encrypted: encrypted.as_ref().to_vec(),
        })
    }

    async fn decrypt(
        &self,
        encrypted: &[u8],
        context: &SecretContext,
    ) -> Result<PlainKey, CryptoError> {
        let out = self
            .client
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(encrypted))
            .set_encryption_context(Some(context.kms_context()))
            .send()
            .await
            .map_err(|e| match &e {
                SdkError::ServiceError(se)
                    if matches!(
                        se.err(),
                        DecryptError::InvalidCiphertextException(_)
                            | DecryptError::IncorrectKeyException(_)
                    ) =>
                {
                    CryptoError::Tampered
                }
                _ => CryptoError::KeyService(crate::aws::describe_error(&e)),
            })?;
        let plaintext = out
            .plaintext()
            .ok_or_else(|| CryptoError::KeyService("Decrypt returned no plaintext".into()))?;
        to_plain_key(plaintext.as_ref())
    }
}
