use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
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
        let ciphertext = gcm_seal(
            key.plaintext.as_ref(),
            nonce,
            &context.associated_data(),
            plaintext.as_bytes(),
        )?;
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
        let plaintext = gcm_open(
            key.as_ref(),
            parts.nonce,
            &context.associated_data(),
            parts.ciphertext,
        )?;
        String::from_utf8(plaintext.to_vec())
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Malformed("plaintext is not UTF-8"))
    }
}

fn gcm_key(key: &[u8]) -> Result<LessSafeKey, CryptoError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| CryptoError::Malformed("data key is not 32 bytes"))
}

/// AES-256-GCM; the ciphertext is followed by its 16-byte tag.
fn gcm_seal(
    key: &[u8],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut sealed = Vec::with_capacity(plaintext.len() + AES_256_GCM.tag_len());
    sealed.extend_from_slice(plaintext);
    gcm_key(key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut sealed,
        )
        .map_err(|_| CryptoError::Malformed("plaintext too long"))?;
    Ok(sealed)
}

/// The plaintext, or `Tampered` when the tag does not match (wrong key, context or bytes).
fn gcm_open(
    key: &[u8],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    sealed: Vec<u8>,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut buffer = Zeroizing::new(sealed);
    let plain_len = gcm_key(key)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            buffer.as_mut_slice(),
        )
        .map_err(|_| CryptoError::Tampered)?
        .len();
    buffer.truncate(plain_len);
    Ok(buffer)
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

    /// Ciphertexts sealed before the switch from the `aes-gcm` crate to aws-lc still open,
    /// and the same inputs still seal to the same bytes.
    #[test]
    fn gcm_matches_the_stored_format() {
        let key = [7u8; 32];
        let nonce = [9u8; 12];
        let aad = SecretContext::new("acme", "whatsapp.appSecret")
            .unwrap()
            .associated_data();
        let stored = hex::decode("54b6e7e68d84eca2091faf3d2ef86566a391746c2eec1c5841").unwrap();
        let plaintext = "s3cr3t-é".as_bytes();
        assert_eq!(gcm_seal(&key, nonce, &aad, plaintext).unwrap(), stored);
        assert_eq!(
            gcm_open(&key, nonce, &aad, stored.clone())
                .unwrap()
                .as_slice(),
            plaintext
        );
        let mut flipped = stored.clone();
        flipped[3] ^= 1;
        assert!(matches!(
            gcm_open(&key, nonce, &aad, flipped),
            Err(CryptoError::Tampered)
        ));
        assert!(matches!(
            gcm_open(&key, nonce, b"other", stored),
            Err(CryptoError::Tampered)
        ));
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
