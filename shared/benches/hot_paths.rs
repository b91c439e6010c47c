//! The hot paths of every request and delivery, each beside its raw baseline over the same
//! bytes in the same run, so the figure that matters is the ratio:
//! - Standard Webhooks sign and verify vs a bare HMAC-SHA256 of `id.timestamp.body`;
//! - `sha256=` header sign and verify, and Meta's `X-Hub-Signature-256` check, vs a bare
//!   HMAC-SHA256 of the body;
//! - envelope seal and open with a cached data key vs bare AES-256-GCM of the same plaintext;
//! - masking vs copying the secret;
//! - a person's RS256 ID token verified with the issuer's keys cached (signature, claims,
//!   role and tenant) vs the bare RSA signature check of the same token.
//!
//! `cargo bench -p hookhub-shared --bench hot_paths` (Meta parse + split: `cargo bench -p
//! meta-ingress --bench ingress`).

use std::hint::black_box;
use std::sync::Arc;

use async_trait::async_trait;
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use aws_lc_rs::hmac;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hookhub_shared::crypto::{
    CachePolicy, CryptoError, DataKey, DataKeyProvider, EnvelopeCipher, PlainKey, SecretContext,
};
use hookhub_shared::masking::mask;
use hookhub_shared::signing::standard_webhooks::{self, SigningSecret};
use hookhub_shared::signing::{body_hmac, meta};
use rand::RngCore;
use zeroize::Zeroizing;

const WHSEC: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const APP_SECRET: &str = "app-secret-0123456789abcdef";
const MSG_ID: &str = "evt_2kTqZ8Wf3xYh9LmN4pQr6sUv";
const TIMESTAMP: i64 = 1_763_800_000;

fn raw_hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut context = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, key));
    for part in parts {
        context.update(part);
    }
    let mut tag = [0u8; 32];
    tag.copy_from_slice(context.sign().as_ref());
    tag
}

/// A delivery body of about `size` bytes, shaped like the events hookhub sends.
fn event_body(size: usize) -> Vec<u8> {
    let filler = "x".repeat(size.saturating_sub(160));
    format!(
        r#"{{"id":"{MSG_ID}","event":"contact.created","tenantId":"acme","timestamp":"2026-11-22T08:00:00Z","data":{{"note":"{filler}"}}}}"#
    )
    .into_bytes()
}

fn standard_webhooks(c: &mut Criterion) {
    let secret = SigningSecret::parse(WHSEC).unwrap();
    // The key bytes the secret encodes, for the baseline.
    let key = base64_key(WHSEC);
    let ts = TIMESTAMP.to_string();
    let mut group = c.benchmark_group("standard_webhooks");
    for size in [1024, 64 * 1024] {
        let body = event_body(size);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("raw_hmac", size), &body, |b, body| {
            b.iter(|| raw_hmac(&key, &[MSG_ID.as_bytes(), b".", ts.as_bytes(), b".", body]))
        });
        group.bench_with_input(BenchmarkId::new("sign", size), &body, |b, body| {
            b.iter(|| secret.sign(MSG_ID, TIMESTAMP, black_box(body)))
        });
        let header = secret.sign(MSG_ID, TIMESTAMP, &body);
        group.bench_with_input(BenchmarkId::new("verify", size), &body, |b, body| {
            b.iter(|| {
                standard_webhooks::verify(
                    &secret,
                    Some(MSG_ID),
                    Some(&ts),
                    Some(&header),
                    black_box(body),
                    TIMESTAMP,
                )
                .unwrap()
            })
        });
    }
    group.finish();
}

fn base64_key(whsec: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(whsec.trim_start_matches("whsec_"))
        .unwrap()
}

fn body_signatures(c: &mut Criterion) {
    let mut group = c.benchmark_group("body_hmac");
    for size in [1024, 190 * 1024] {
        let body = event_body(size);
        let header = body_hmac::sign(APP_SECRET, &body);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("raw_hmac", size), &body, |b, body| {
            b.iter(|| raw_hmac(APP_SECRET.as_bytes(), &[black_box(body)]))
        });
        group.bench_with_input(BenchmarkId::new("sha256_sign", size), &body, |b, body| {
            b.iter(|| body_hmac::sign(APP_SECRET, black_box(body)))
        });
        group.bench_with_input(BenchmarkId::new("sha256_verify", size), &body, |b, body| {
            b.iter(|| body_hmac::verify(APP_SECRET.as_bytes(), black_box(body), Some(&header)))
        });
        group.bench_with_input(BenchmarkId::new("meta_verify", size), &body, |b, body| {
            b.iter(|| meta::verify(APP_SECRET, black_box(body), Some(&header)).unwrap())
        });
    }
    group.finish();
}

/// Hands out random data keys in process: KMS is out of the picture once the key is cached,
/// which is the case measured here.
struct LocalKeys;

#[async_trait]
impl DataKeyProvider for LocalKeys {
    async fn generate(&self, _context: &SecretContext) -> Result<DataKey, CryptoError> {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::thread_rng().fill_bytes(key.as_mut());
        Ok(DataKey {
            encrypted: key.to_vec(),
            plaintext: key,
        })
    }
    async fn decrypt(
        &self,
        encrypted: &[u8],
        _context: &SecretContext,
    ) -> Result<PlainKey, CryptoError> {
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(encrypted);
        Ok(key)
    }
}

fn envelope(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let cipher = EnvelopeCipher::new(Arc::new(LocalKeys), CachePolicy::default());
    let context = SecretContext::new("acme", "whatsapp.accessToken").unwrap();
    let secret = "EAATestAccessToken123456789abcdefghijklmnopqrstuvwxyz0123456789";
    let sealed = runtime.block_on(cipher.seal(&context, secret)).unwrap();
    let aad = b"acme\0whatsapp.accessToken";
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    // The baseline keeps its expanded key; the cipher expands the cached data key per call.
    let raw = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
    let nonce = [7u8; 12];
    let mut raw_sealed = secret.as_bytes().to_vec();
    raw.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut raw_sealed,
    )
    .unwrap();

    let mut group = c.benchmark_group("envelope");
    // Both sides run inside the same `block_on`, so the runtime's cost cancels out.
    group.bench_function("raw_aes_gcm_encrypt", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut fresh = [0u8; 12];
                rand::thread_rng().fill_bytes(&mut fresh);
                let mut sealed = black_box(secret).as_bytes().to_vec();
                raw.seal_in_place_append_tag(
                    Nonce::assume_unique_for_key(fresh),
                    Aad::from(aad),
                    &mut sealed,
                )
                .unwrap();
                sealed
            })
        })
    });
    group.bench_function("seal_cached_key", |b| {
        b.iter(|| {
            runtime
                .block_on(cipher.seal(&context, black_box(secret)))
                .unwrap()
        })
    });
    group.bench_function("raw_aes_gcm_decrypt", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut buffer = black_box(&raw_sealed).clone();
                raw.open_in_place(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(aad),
                    &mut buffer,
                )
                .unwrap()
                .len()
            })
        })
    });
    group.bench_function("open_cached_key", |b| {
        b.iter(|| {
            runtime
                .block_on(cipher.open(&context, black_box(&sealed)))
                .unwrap()
        })
    });
    group.finish();
}

fn masking(c: &mut Criterion) {
    let secret = "EAATestAccessToken123456789abcdefghijklmnopqrstuvwxyz0123456789";
    let mut group = c.benchmark_group("masking");
    group.bench_function("copy", |b| b.iter(|| black_box(secret).to_string()));
    group.bench_function("mask", |b| b.iter(|| mask(black_box(secret))));
    group.finish();
}

/// An RS256 token as Cognito issues it, the JWKS that verifies it, and the raw pieces (signed
/// text, signature, public key) for the baseline.
struct Rs256Token {
    token: String,
    jwks: String,
    signed: Vec<u8>,
    signature: Vec<u8>,
    public_key: Vec<u8>,
}

const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Bench";
const CLIENT: &str = "bench-client";

fn rs256_token() -> Rs256Token {
    use aws_lc_rs::rsa::{KeyPair, KeySize};
    use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    let pair = KeyPair::generate(KeySize::Rsa2048).expect("an RSA key");
    let public = pair.public_key();
    let jwk = serde_json::json!({
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": "bench",
        "n": B64.encode(public.modulus().big_endian_without_leading_zero()),
        "e": B64.encode(public.exponent().big_endian_without_leading_zero()),
    });
    let header = B64.encode(br#"{"alg":"RS256","kid":"bench","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "sub": "2f1c6d8e-0000-4000-8000-000000000001", "iss": ISSUER, "aud": CLIENT,
        "token_use": "id", "email": "alice@example.com", "cognito:groups": ["tenant_admin"],
        "custom:tenantId": "ten_01JBENCH", "iat": 1_763_800_000, "exp": 4_102_444_800i64,
    });
    let signed = format!("{header}.{}", B64.encode(claims.to_string()));
    let mut signature = vec![0; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        signed.as_bytes(),
        &mut signature,
    )
    .expect("signed");
    Rs256Token {
        token: format!("{signed}.{}", B64.encode(&signature)),
        jwks: serde_json::json!({ "keys": [jwk] }).to_string(),
        signed: signed.into_bytes(),
        signature,
        public_key: public.as_ref().to_vec(),
    }
}

fn token_verification(c: &mut Criterion) {
    use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
    use hookhub_shared::auth::oidc::{IssuerConfig, OidcVerifier, TokenUse};
    let token = rs256_token();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    // The issuer's key set, served once over loopback: the verifier caches it at the first
    // token, as a warm container has.
    let jwks = token.jwks.clone();
    let url = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || std::future::ready(jwks.clone())),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    });
    let verifier = OidcVerifier::new(
        IssuerConfig {
            issuer: ISSUER.into(),
            jwks_url: url,
            client_id: CLIENT.into(),
            token_use: TokenUse::CognitoId,
            role_claim: "cognito:groups".into(),
            tenant_claim: "custom:tenantId".into(),
        },
        reqwest::Client::new(),
    );
    runtime
        .block_on(verifier.verify(&token.token))
        .expect("the token verifies");
    let key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &token.public_key);
    let mut group = c.benchmark_group("token_verification");
    group.bench_function("raw_rsa_verify", |b| {
        b.iter(|| {
            key.verify(black_box(&token.signed), black_box(&token.signature))
                .expect("valid")
        })
    });
    group.bench_function("id_token_cached_jwks", |b| {
        b.iter(|| {
            runtime
                .block_on(verifier.verify(black_box(&token.token)))
                .expect("valid")
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    standard_webhooks,
    body_signatures,
    envelope,
    masking,
    token_verification
);
criterion_main!(benches);
