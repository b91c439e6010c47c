//! Envelope encryption through the emulator's KMS.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hookhub_shared::crypto::{
    CachePolicy, CryptoError, DataKey, DataKeyProvider, EnvelopeCipher, KmsDataKeys, PlainKey,
    SecretContext,
};
use hookhub_test_support::TestStack;

/// Counts the calls that reach KMS, so the tests can see what the caches save.
struct CountingKms {
    inner: KmsDataKeys,
    generated: AtomicUsize,
    decrypted: AtomicUsize,
}

#[async_trait]
impl DataKeyProvider for CountingKms {
    async fn generate(&self, context: &SecretContext) -> Result<DataKey, CryptoError> {
        self.generated.fetch_add(1, Ordering::SeqCst);
        self.inner.generate(context).await
    }
    async fn decrypt(
        &self,
        encrypted: &[u8],
        context: &SecretContext,
    ) -> Result<PlainKey, CryptoError> {
        self.decrypted.fetch_add(1, Ordering::SeqCst);
        self.inner.decrypt(encrypted, context).await
    }
}

async fn kms(label: &str) -> Arc<CountingKms> {
    let stack = TestStack::new(label).await;
    Arc::new(CountingKms {
        inner: KmsDataKeys::new(stack.clients.kms.clone(), &stack.stack.kms_key_id),
        generated: AtomicUsize::new(0),
        decrypted: AtomicUsize::new(0),
    })
}

fn ctx(tenant: &str, field: &str) -> SecretContext {
    SecretContext::new(tenant, field).unwrap()
}

/// Replaces one dot-separated part of a sealed secret.
fn with_part(sealed: &str, index: usize, f: impl Fn(Vec<u8>) -> Vec<u8>) -> String {
    let mut parts: Vec<String> = sealed.split('.').map(str::to_string).collect();
    let bytes = B64.decode(&parts[index]).unwrap();
    parts[index] = B64.encode(f(bytes));
    parts.join(".")
}

fn flip_first_bit(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes[0] ^= 1;
    bytes
}

#[tokio::test]
async fn round_trip_through_kms() {
    let keys = kms("env-rt").await;
    let cipher = EnvelopeCipher::new(keys.clone(), CachePolicy::disabled());
    let c = ctx("ten_A", "accessToken");
    let sealed = cipher
        .seal(&c, "EAATestAccessToken123456789")
        .await
        .unwrap();
    assert!(sealed.starts_with("hh1."));
    assert!(!sealed.contains("EAATestAccessToken"));
    assert_eq!(
        cipher.open(&c, &sealed).await.unwrap().as_str(),
        "EAATestAccessToken123456789"
    );

    // A fresh nonce each time: the same secret never seals to the same text.
    let again = cipher
        .seal(&c, "EAATestAccessToken123456789")
        .await
        .unwrap();
    assert_ne!(sealed, again);
    assert_eq!(
        keys.generated.load(Ordering::SeqCst),
        2,
        "cache disabled: one data key each"
    );
}

#[tokio::test]
async fn tampering_and_foreign_context_fail() {
    let keys = kms("env-tamper").await;
    // No cache, so every open asks KMS and the KMS-side context check is exercised too.
    let cipher = EnvelopeCipher::new(keys, CachePolicy::disabled());
    let mine = ctx("ten_A", "appSecret");
    let sealed = cipher.seal(&mine, "s3cr3t-value").await.unwrap();

    let tampered_ciphertext = with_part(&sealed, 3, flip_first_bit);
    let tampered_nonce = with_part(&sealed, 2, flip_first_bit);
    let tampered_key = with_part(&sealed, 1, flip_first_bit);
    for (what, text) in [
        ("ciphertext", &tampered_ciphertext),
        ("nonce", &tampered_nonce),
        ("stored data key", &tampered_key),
    ] {
        let err = cipher.open(&mine, text).await.unwrap_err();
        assert!(
            matches!(err, CryptoError::Tampered | CryptoError::KeyService(_)),
            "tampered {what} must not open: {err:?}"
        );
    }

    for other in [ctx("ten_B", "appSecret"), ctx("ten_A", "accessToken")] {
        let err = cipher.open(&other, &sealed).await.unwrap_err();
        assert!(
            matches!(err, CryptoError::Tampered | CryptoError::KeyService(_)),
            "{other:?} must not open: {err:?}"
        );
    }
    assert_eq!(
        cipher.open(&mine, &sealed).await.unwrap().as_str(),
        "s3cr3t-value"
    );
}

#[tokio::test]
async fn foreign_context_fails_even_with_a_warm_cache() {
    let keys = kms("env-warm").await;
    let cipher = EnvelopeCipher::new(keys, CachePolicy::default());
    let mine = ctx("ten_A", "apiKey");
    let sealed = cipher.seal(&mine, "value-one").await.unwrap();
    assert_eq!(
        cipher.open(&mine, &sealed).await.unwrap().as_str(),
        "value-one"
    );
    let err = cipher
        .open(&ctx("ten_B", "apiKey"), &sealed)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CryptoError::Tampered | CryptoError::KeyService(_)),
        "{err:?}"
    );
    let tampered = with_part(&sealed, 3, flip_first_bit);
    assert_eq!(
        cipher.open(&mine, &tampered).await.unwrap_err(),
        CryptoError::Tampered
    );
}

#[tokio::test]
async fn cache_bounds_by_uses() {
    let keys = kms("env-uses").await;
    let policy = CachePolicy {
        max_age: Duration::from_secs(300),
        max_uses: 3,
        max_entries: 16,
    };
    let cipher = EnvelopeCipher::new(keys.clone(), policy);
    let c = ctx("ten_A", "authToken");
    let mut sealed = Vec::new();
    for i in 0..7 {
        sealed.push(cipher.seal(&c, &format!("secret-{i}")).await.unwrap());
    }
    // Seven seals with three uses per data key: keys for 1–3, 4–6, 7.
    assert_eq!(keys.generated.load(Ordering::SeqCst), 3);
    for (i, s) in sealed.iter().enumerate() {
        assert_eq!(
            cipher.open(&c, s).await.unwrap().as_str(),
            format!("secret-{i}")
        );
    }
    // A new container with an empty cache opens the first data key's three secrets with
    // one Decrypt call.
    let cold = EnvelopeCipher::new(keys.clone(), policy);
    let before = keys.decrypted.load(Ordering::SeqCst);
    for s in &sealed[..3] {
        cold.open(&c, s).await.unwrap();
    }
    assert_eq!(keys.decrypted.load(Ordering::SeqCst) - before, 1);
    // The fourth open of that key exceeds max_uses and calls KMS again.
    cold.open(&c, &sealed[0]).await.unwrap();
    assert_eq!(keys.decrypted.load(Ordering::SeqCst) - before, 2);
}

#[tokio::test]
async fn cache_bounds_by_age() {
    let keys = kms("env-age").await;
    let policy = CachePolicy {
        max_age: Duration::from_millis(300),
        max_uses: 1000,
        max_entries: 16,
    };
    let cipher = EnvelopeCipher::new(keys.clone(), policy);
    let c = ctx("ten_A", "apiSecret");
    cipher.seal(&c, "a").await.unwrap();
    cipher.seal(&c, "b").await.unwrap();
    assert_eq!(keys.generated.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    cipher.seal(&c, "c").await.unwrap();
    assert_eq!(
        keys.generated.load(Ordering::SeqCst),
        2,
        "an expired data key is replaced"
    );
}

#[tokio::test]
async fn separate_fields_get_separate_data_keys() {
    let keys = kms("env-fields").await;
    let cipher = EnvelopeCipher::new(keys.clone(), CachePolicy::default());
    let a = cipher
        .seal(&ctx("ten_A", "accessToken"), "x")
        .await
        .unwrap();
    let b = cipher.seal(&ctx("ten_A", "appSecret"), "y").await.unwrap();
    assert_eq!(keys.generated.load(Ordering::SeqCst), 2);
    assert_ne!(a.split('.').nth(1), b.split('.').nth(1));
}

#[tokio::test]
async fn concurrent_opens_in_a_cold_container_make_one_kms_call() {
    let keys = kms("env-single-flight").await;
    let sealer = EnvelopeCipher::new(keys.clone(), CachePolicy::default());
    let context = ctx("ten_single", "secret");
    let sealed = sealer.seal(&context, "whsec_shared").await.unwrap();

    // A fresh container: nothing cached, ten deliveries to one endpoint open its secret at once.
    let cold = Arc::new(EnvelopeCipher::new(keys.clone(), CachePolicy::default()));
    let opened = futures::future::join_all((0..10).map(|_| {
        let (cold, context, sealed) = (cold.clone(), context.clone(), sealed.clone());
        async move { cold.open(&context, &sealed).await }
    }))
    .await;
    for plaintext in opened {
        assert_eq!(plaintext.unwrap().as_str(), "whsec_shared");
    }
    assert_eq!(keys.decrypted.load(Ordering::SeqCst), 1);

    // A failed decrypt is not cached, and does not block the next attempt.
    let other = ctx("ten_single", "other");
    assert!(cold.open(&other, &sealed).await.is_err());
    assert!(cold.open(&other, &sealed).await.is_err());
    assert_eq!(keys.decrypted.load(Ordering::SeqCst), 3);
}
