use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use rand::RngCore;
use zeroize::Zeroizing;

use super::cache::{BoundedCache, SealingKey};
use super::{CachePolicy, CryptoError, DataKeyProvider, PlainKey};

const FORMAT_V1: &str = "hh1";
const NONCE_LEN: usize = 12;
const MAX_SEALED_LEN: usize = 64 * 1024;

/// Which secret a ciphertext belongs to; bound into both KMS and GCM.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretContext {
    tenant_id: String,
    field: String,
}

impl SecretContext {
    pub fn new(tenant_id: &str, field: &str) -> Result<Self, CryptoError> {
        let ok = |s: &str| !s.is_empty() && s.len() <= 256 && !s.contains('\0');
        if !ok(tenant_id) {
            return Err(CryptoError::InvalidContext("tenant id"));
        }
        if !ok(field) {
            return Err(CryptoError::InvalidContext("field name"));
        }
        Ok(Self {
            tenant_id: tenant_id.to_string(),
            field: field.to_string(),
        })
    }

    pub fn kms_context(&self) -> HashMap<String, String> {
        HashMap::from([
            ("tenantId".to_string(), self.tenant_id.clone()),
            ("field".to_string(), self.field.clone()),
        ])
    }

    /// Length-prefixed so no two contexts share associated data.
    fn associated_data(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(16 + self.tenant_id.len() + self.field.len());
        aad.extend_from_slice(FORMAT_V1.as_bytes());
        for part in [&self.tenant_id, &self.field] {
            aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
            aad.extend_from_slice(part.as_bytes());
        }
        aad
    }
}

type DecryptKey = (Vec<u8>, SecretContext);

/// Seals and opens secret fields; one per container, shared by all requests.
pub struct EnvelopeCipher {
    keys: Arc<dyn DataKeyProvider>,
    sealing: Mutex<BoundedCache<SecretContext, SealingKey>>,
    opening: Mutex<BoundedCache<DecryptKey, PlainKey>>,
    /// One gate per data key being decrypted: concurrent misses for the same key (ten
    /// deliveries to one endpoint in a cold worker) wait for a single KMS call.
    decrypting: Mutex<HashMap<DecryptKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl EnvelopeCipher {
    pub fn new(keys: Arc<dyn DataKeyProvider>, policy: CachePolicy) -> Self {
        Self {
            keys,
            sealing: Mutex::new(BoundedCache::new(policy)),
            opening: Mutex::new(BoundedCache::new(policy)),
            decrypting: Mutex::new(HashMap::new()),
        }
    }

    pub async fn seal(
        &self,
        context: &SecretContext,
        plaintext: &str,
    ) -> Result<String, CryptoError> {
        let cached = self.sealing.lock().expect("cache lock").take_use(context);
        let key = match cached {
            Some(key) => key,
            None => {
                let fresh = self.keys.generate(context).await?;
                let key = SealingKey {
                    plaintext: fresh.plaintext,
                    encrypted: Arc::new(fresh.encrypted),
                };
                self.sealing
                    .lock()
                    .expect("cache lock")
                    .insert(context.clone(), key.clone());
                // The key that sealed is also good for opening in this container.
                self.opening.lock().expect("cache lock").insert(
                    (key.encrypted.as_ref().clone(), context.clone()),
                    key.plaintext.clone(),
                );
                key
            }
        };

        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let cipher = Aes256Gcm::new_from_slice(key.plaintext.as_ref()).expect("32-byte key");
        let aad = context.associated_data();
        let ciphertext = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Malformed("plaintext too long"))?;
        Ok(format!(
            "{FORMAT_V1}.{}.{}.{}",
            B64.encode(key.encrypted.as_ref()),
            B64.encode(nonce),
            B64.encode(ciphertext)
        ))
    }

    /// A cache miss: the first caller for this data key asks KMS, the others wait for it
    /// and then find the key cached.
    async fn decrypt_once(
        &self,
        cache_key: DecryptKey,
        context: &SecretContext,
    ) -> Result<PlainKey, CryptoError> {
        let gate = self
            .decrypting
            .lock()
            .expect("gate lock")
            .entry(cache_key.clone())
            .or_default()
            .clone();
        let _turn = gate.lock().await;
        let cached = self
            .opening
            .lock()
            .expect("cache lock")
            .take_use(&cache_key);
        let result = match cached {
            Some(key) => Ok(key),
            None => match self.keys.decrypt(&cache_key.0, context).await {
                Ok(key) => {
                    self.opening
                        .lock()
                        .expect("cache lock")
                        .insert(cache_key.clone(), key.clone());
                    Ok(key)
                }
                Err(e) => Err(e),
            },
        };
        self.decrypting
            .lock()
            .expect("gate lock")
            .remove(&cache_key);
        result
    }

    pub async fn open(
        &self,
        context: &SecretContext,
        sealed: &str,
    ) -> Result<Zeroizing<String>, CryptoError> {
        let parts = parse(sealed)?;
        let cache_key = (parts.encrypted_key, context.clone());
        let cached = self
            .opening
            .lock()
            .expect("cache lock")
            .take_use(&cache_key);
        let key = match cached {
            Some(key) => key,
            None => self.decrypt_once(cache_key, context).await?,
        };
        let cipher = Aes256Gcm::new_from_slice(key.as_ref()).expect("32-byte key");
        let aad = context.associated_data();
        let plaintext = Zeroizing::new(
            cipher
                .decrypt(
                    Nonce::from_slice(&parts.nonce),
                    Payload {
                        msg: &parts.ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| CryptoError::Tampered)?,
        );
        String::from_utf8(plaintext.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Malformed("plaintext is not UTF-8"))
    }
}

struct SealedParts {
    encrypted_key: Vec<u8>,
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

fn parse(sealed: &str) -> Result<SealedParts, CryptoError> {
    if sealed.len() > MAX_SEALED_LEN {
        return Err(CryptoError::Malformed("too long"));
    }
    let mut fields = sealed.split('.');
    let (Some(version), Some(edk), Some(nonce), Some(ct), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(CryptoError::Malformed("expected four dot-separated parts"));
    };
    if version != FORMAT_V1 {
        return Err(CryptoError::Malformed("unknown format version"));
    }
    let decode =
        |s: &str, what: &'static str| B64.decode(s).map_err(|_| CryptoError::Malformed(what));
    let encrypted_key = decode(edk, "encrypted data key is not base64url")?;
    let nonce: [u8; NONCE_LEN] = decode(nonce, "nonce is not base64url")?
        .try_into()
        .map_err(|_| CryptoError::Malformed("nonce must be 12 bytes"))?;
    let ciphertext = decode(ct, "ciphertext is not base64url")?;
    if encrypted_key.is_empty() {
        return Err(CryptoError::Malformed("empty encrypted data key"));
    }
    if ciphertext.len() < 16 {
        return Err(CryptoError::Malformed("ciphertext shorter than its tag"));
    }
    Ok(SealedParts {
        encrypted_key,
        nonce,
        ciphertext,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_malformed() {
        for bad in [
            "",
            "hh1",
            "hh2.a.b.c",
            "hh1.a.b",
            "hh1.!!.AAAAAAAAAAAAAAAA.AAAA",
            "hh1.a.b.c.d",
        ] {
            assert!(
                matches!(parse(bad), Err(CryptoError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn contexts_have_distinct_associated_data() {
        let a = SecretContext::new("ab", "c").unwrap();
        let b = SecretContext::new("a", "bc").unwrap();
        assert_ne!(a.associated_data(), b.associated_data());
        assert!(SecretContext::new("", "x").is_err());
        assert!(SecretContext::new("t", "a\0b").is_err());
    }
}
