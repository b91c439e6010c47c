//! Tokens from an identity provider, checked against its key set served by a real local HTTP
//! server: claims, token use, key rotation, algorithm confusion and an unreachable issuer.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hookhub_shared::auth::oidc::{IssuerConfig, OidcVerifier, TokenUse};
use hookhub_shared::auth::{Role, TokenError, TokenVerifier};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool";
const CLIENT: &str = "client-abc";

/// An ES256 signing key and its public JWK.
struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    jwk: Value,
}

impl SigningKey {
    fn new(kid: &str) -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let pkcs8 = pair.to_pkcs8v1().unwrap();
        // An uncompressed point: 0x04, then x and y.
        let point = pair.public_key().as_ref().to_vec();
        Self {
            kid: kid.into(),
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
                        "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65])}),
        }
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// A key set served over HTTP that can be changed or taken down, counting its fetches.
#[derive(Clone)]
struct KeySetServer {
    url: String,
    keys: Arc<std::sync::Mutex<Vec<Value>>>,
    down: Arc<AtomicBool>,
    fetches: Arc<AtomicUsize>,
}

impl KeySetServer {
    async fn start(keys: Vec<Value>) -> Self {
        let server = Self {
            url: String::new(),
            keys: Arc::new(std::sync::Mutex::new(keys)),
            down: Arc::default(),
            fetches: Arc::default(),
        };
        let state = server.clone();
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let state = state.clone();
                async move {
                    state.fetches.fetch_add(1, Ordering::SeqCst);
                    if state.down.load(Ordering::SeqCst) {
                        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, String::new());
                    }
                    let keys = state.keys.lock().unwrap().clone();
                    (
                        axum::http::StatusCode::OK,
                        json!({ "keys": keys }).to_string(),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, ..server }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

fn verifier(jwks_url: &str, token_use: TokenUse) -> OidcVerifier {
    let (role_claim, tenant_claim) = match token_use {
        TokenUse::CognitoId => ("cognito:groups", "custom:tenantId"),
        TokenUse::Oidc => ("roles", "org"),
    };
    OidcVerifier::new(
        IssuerConfig {
            issuer: ISSUER.into(),
            jwks_url: jwks_url.into(),
            client_id: CLIENT.into(),
            token_use,
            role_claim: role_claim.into(),
            tenant_claim: tenant_claim.into(),
        },
        reqwest::Client::new(),
    )
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// An ID token as Cognito issues one for a tenant admin of `ten_acme`.
fn id_claims() -> Value {
    json!({"iss": ISSUER, "sub": "user-1", "aud": CLIENT, "token_use": "id",
           "email": "ops@acme.test", "cognito:groups": ["tenant_admin"],
           "custom:tenantId": "ten_acme", "iat": now(), "exp": now() + 3600})
}

fn with(mut claims: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

#[tokio::test]
async fn id_tokens_map_groups_and_tenant_to_roles() {
    let key = SigningKey::new("k1");
    let server = KeySetServer::start(vec![key.jwk.clone()]).await;
    let v = verifier(&server.url, TokenUse::CognitoId);

    let claims = v.verify(&key.sign(&id_claims())).await.unwrap();
    assert_eq!(claims.role, Role::TenantAdmin);
    assert_eq!(claims.tenant_id.as_deref(), Some("ten_acme"));
    assert_eq!(claims.email.as_deref(), Some("ops@acme.test"));
    assert_eq!(claims.sub, "user-1");

    let platform = with(
        id_claims(),
        json!({"cognito:groups": ["platform_admin", "tenant_admin"]}),
    );
    let claims = v.verify(&key.sign(&platform)).await.unwrap();
    assert_eq!(claims.role, Role::PlatformAdmin);
    assert_eq!(
        claims.tenant_id, None,
        "a platform admin acts on any tenant"
    );

    let cases = [
        (json!({"cognito:groups": ["viewers"]}), TokenError::NoRole),
        (json!({"cognito:groups": null}), TokenError::NoRole),
        (json!({"custom:tenantId": null}), TokenError::MissingTenant),
        (json!({"custom:tenantId": "  "}), TokenError::MissingTenant),
        (json!({"exp": now() - 120}), TokenError::Expired),
        (json!({"nbf": now() + 600}), TokenError::NotYetValid),
        (
            json!({"iss": "https://cognito-idp.eu-west-1.amazonaws.com/other"}),
            TokenError::Invalid,
        ),
        (json!({"aud": "another-client"}), TokenError::Invalid),
        (
            json!({"token_use": "access", "aud": null, "client_id": CLIENT}),
            TokenError::WrongTokenUse,
        ),
        (json!({"token_use": null}), TokenError::Invalid),
        (json!({"sub": null}), TokenError::Invalid),
    ];
    for (change, expected) in cases {
        let token = key.sign(&with(id_claims(), change.clone()));
        assert_eq!(v.verify(&token).await, Err(expected), "{change}");
    }
    // Within the leeway: a token that expired 10 s ago (clock skew) still works.
    let skewed = key.sign(&with(id_claims(), json!({"exp": now() - 10})));
    assert!(v.verify(&skewed).await.is_ok());
    assert_eq!(server.fetches(), 1, "the key set is fetched once and kept");
}

#[tokio::test]
async fn other_issuers_use_their_audience_and_claim_names() {
    let key = SigningKey::new("okta-1");
    let server = KeySetServer::start(vec![key.jwk.clone()]).await;
    let v = verifier(&server.url, TokenUse::Oidc);
    let claims = json!({"iss": ISSUER, "sub": "00u1", "aud": CLIENT, "roles": "tenant_admin",
                        "org": "ten_okta", "exp": now() + 600});
    let verified = v.verify(&key.sign(&claims)).await.unwrap();
    assert_eq!(
        (verified.role, verified.tenant_id.as_deref()),
        (Role::TenantAdmin, Some("ten_okta"))
    );
    let wrong_aud = with(claims, json!({"aud": "someone-else"}));
    assert_eq!(
        v.verify(&key.sign(&wrong_aud)).await,
        Err(TokenError::Invalid)
    );
}

#[tokio::test]
async fn forged_and_confused_tokens_are_refused() {
    let key = SigningKey::new("k1");
    let server = KeySetServer::start(vec![
        key.jwk.clone(),
        // A symmetric key in the set must never make HS256 acceptable.
        json!({"kty": "oct", "kid": "shared", "k": B64.encode(b"0123456789abcdef0123456789abcdef")}),
    ])
    .await;
    let v = verifier(&server.url, TokenUse::CognitoId);
    let body = B64.encode(id_claims().to_string());

    let none = format!("{}.{body}.", B64.encode(br#"{"alg":"none","kid":"k1"}"#));
    assert_eq!(v.verify(&none).await, Err(TokenError::Invalid));

    // Algorithm confusion: HS256 keyed with public material the attacker can read.
    for (kid, secret) in [
        ("k1", key.jwk["x"].as_str().unwrap().as_bytes().to_vec()),
        ("shared", b"0123456789abcdef0123456789abcdef".to_vec()),
    ] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.into());
        let forged =
            jsonwebtoken::encode(&header, &id_claims(), &EncodingKey::from_secret(&secret))
                .unwrap();
        assert_eq!(v.verify(&forged).await, Err(TokenError::Invalid), "{kid}");
    }

    // Signed by a key the issuer never published, under a published key's id.
    let impostor = SigningKey::new("k1");
    assert_eq!(
        v.verify(&impostor.sign(&id_claims())).await,
        Err(TokenError::Invalid)
    );
    // A tampered payload.
    let token = key.sign(&id_claims());
    let mut parts: Vec<&str> = token.split('.').collect();
    let promoted =
        B64.encode(with(id_claims(), json!({"cognito:groups": ["platform_admin"]})).to_string());
    parts[1] = &promoted;
    assert_eq!(v.verify(&parts.join(".")).await, Err(TokenError::Invalid));
    assert_eq!(v.verify("not a token").await, Err(TokenError::Invalid));
}

#[tokio::test]
async fn an_unknown_key_id_refetches_once_a_minute_at_most() {
    let old = SigningKey::new("2026-old");
    let server = KeySetServer::start(vec![old.jwk.clone()]).await;
    let interval = std::time::Duration::from_millis(300);
    let v = verifier(&server.url, TokenUse::CognitoId).with_refetch_interval(interval);
    assert!(v.verify(&old.sign(&id_claims())).await.is_ok());
    assert_eq!(server.fetches(), 1);

    // Made-up key ids right after a fetch do not reach the issuer again.
    for i in 0..20 {
        let stranger = SigningKey::new(&format!("made-up-{i}"));
        assert_eq!(
            v.verify(&stranger.sign(&id_claims())).await,
            Err(TokenError::Invalid)
        );
    }
    assert_eq!(server.fetches(), 1);

    // The issuer rotates: once the interval has passed, the new key is found by one refetch,
    // and the old one still works.
    let new = SigningKey::new("2026-new");
    server.keys.lock().unwrap().push(new.jwk.clone());
    tokio::time::sleep(interval).await;
    assert!(v.verify(&new.sign(&id_claims())).await.is_ok());
    assert_eq!(server.fetches(), 2);
    assert!(v.verify(&old.sign(&id_claims())).await.is_ok());
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn an_unreachable_issuer_leaves_cached_keys_working_and_a_cold_cache_unavailable() {
    let key = SigningKey::new("k1");
    let server = KeySetServer::start(vec![key.jwk.clone()]).await;
    let warm = verifier(&server.url, TokenUse::CognitoId);
    assert!(warm.verify(&key.sign(&id_claims())).await.is_ok());

    server.down.store(true, Ordering::SeqCst);
    assert!(
        warm.verify(&key.sign(&id_claims())).await.is_ok(),
        "cached keys keep working"
    );
    let cold = verifier(&server.url, TokenUse::CognitoId);
    assert_eq!(
        cold.verify(&key.sign(&id_claims())).await,
        Err(TokenError::IssuerUnavailable),
        "nothing cached: the token cannot be judged, which is not the caller's fault"
    );
    let closed = verifier("http://127.0.0.1:9/jwks.json", TokenUse::CognitoId);
    assert_eq!(
        closed.verify(&key.sign(&id_claims())).await,
        Err(TokenError::IssuerUnavailable)
    );
}

#[tokio::test]
async fn each_source_judges_only_its_own_tokens() {
    let key = SigningKey::new("k1");
    let server = KeySetServer::start(vec![key.jwk.clone()]).await;
    let secret = "0123456789abcdef0123456789abcdef";
    let shared = hookhub_shared::auth::mint_for(secret, "embedder", Role::PlatformAdmin, None, 1);
    let issued = key.sign(&id_claims());

    let both = TokenVerifier::new(
        Some(secret.into()),
        Some(verifier(&server.url, TokenUse::CognitoId)),
    );
    assert_eq!(both.verify(&shared).await.unwrap().sub, "embedder");
    assert_eq!(both.verify(&issued).await.unwrap().sub, "user-1");

    // A deployment without a shared secret refuses HS256 tokens outright.
    let issuer_only = TokenVerifier::new(None, Some(verifier(&server.url, TokenUse::CognitoId)));
    assert_eq!(issuer_only.verify(&shared).await, Err(TokenError::Invalid));
    let secret_only = TokenVerifier::new(Some(secret.into()), None);
    assert_eq!(secret_only.verify(&issued).await, Err(TokenError::Invalid));
}
