//! The `sam local invoke -e` fixtures, run through the same router Lambda runs.

use aws_sdk_dynamodb::types::AttributeValue;
use axum::body::Body;
use hookhub_shared::store::{keys, Item};
use hookhub_test_support::TestStack;
use tower::ServiceExt;

const FIXTURE_TENANT: &str = "ten_01JDQ7Y3ZK5V8X9W2M4N6P8R0T";

async fn status(stack: &TestStack, fixture: &str) -> http::StatusCode {
    let request =
        lambda_http::request::from_str(fixture).expect("fixture is an API Gateway v2 event");
    let (parts, body) = request.into_parts();
    let request = http::Request::from_parts(parts, Body::from(body.to_vec()));
    meta_ingress::router(stack.ctx.clone())
        .oneshot(request)
        .await
        .unwrap()
        .status()
}

async fn create_tenant(stack: &TestStack) {
    let key = keys::tenant(FIXTURE_TENANT);
    stack
        .ctx
        .table
        .put(Item::from([
            (keys::PK.into(), AttributeValue::S(key.pk)),
            (keys::SK.into(), AttributeValue::S(key.sk)),
        ]))
        .await
        .unwrap();
}

#[tokio::test]
async fn unknown_tenant_is_404_for_both_fixtures() {
    let stack = TestStack::new("fx-meta-404").await;
    assert_eq!(
        status(&stack, include_str!("../../events/verify.json")).await,
        404
    );
    assert_eq!(
        status(&stack, include_str!("../../events/whatsapp-message.json")).await,
        404
    );
}

#[tokio::test]
async fn tenant_without_meta_integration_refuses_verification_and_events() {
    let stack = TestStack::new("fx-meta-unconf").await;
    create_tenant(&stack).await;
    assert_eq!(
        status(&stack, include_str!("../../events/verify.json")).await,
        403
    );
    assert_eq!(
        status(&stack, include_str!("../../events/whatsapp-message.json")).await,
        401
    );
}

async fn invoke(stack: &TestStack, fixture: &str) -> (http::StatusCode, http::HeaderMap, Vec<u8>) {
    let request =
        lambda_http::request::from_str(fixture).expect("fixture is an API Gateway v2 event");
    let (parts, body) = request.into_parts();
    let request = http::Request::from_parts(parts, Body::from(body.to_vec()));
    let response = meta_ingress::router(stack.ctx.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, headers, bytes.to_vec())
}

async fn configure_whatsapp(stack: &TestStack, enabled: bool, token: &str) {
    put_whatsapp(
        stack,
        serde_json::json!({
            "enabled": enabled, "phoneNumberId": "106540352242922", "accessToken": "EAATestAccessToken123456789",
            "webhookVerifyToken": token, "appSecret": "app-secret-0123456789abcdef"
        }),
    )
    .await;
}

async fn put_whatsapp(stack: &TestStack, input: serde_json::Value) {
    stack
        .ctx
        .integrations()
        .put(
            FIXTURE_TENANT,
            hookhub_shared::integrations::IntegrationKind::Whatsapp,
            hookhub_shared::validation::Fields::new(input.as_object().unwrap().clone()),
            &hookhub_shared::audit::Actor::System,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn verification_echoes_the_challenge_for_the_configured_token_only() {
    let stack = TestStack::new("fx-meta-verify").await;
    create_tenant(&stack).await;
    let fixture = include_str!("../../events/verify.json");

    configure_whatsapp(&stack, true, "meatyhamhock").await;
    let (status, headers, body) = invoke(&stack, fixture).await;
    assert_eq!(status, 200);
    assert_eq!(body, b"1158201444", "the challenge, byte for byte");
    assert_eq!(headers["content-type"], "text/plain");

    let wrong = fixture.replace("meatyhamhock", "meatyhamhocks");
    assert_eq!(invoke(&stack, &wrong).await.0, 403);
    let not_subscribe = fixture
        .replace("\"subscribe\"", "\"unsubscribe\"")
        .replace("hub.mode=subscribe", "hub.mode=unsubscribe");
    assert_eq!(invoke(&stack, &not_subscribe).await.0, 403);

    configure_whatsapp(&stack, false, "").await;
    assert_eq!(
        invoke(&stack, fixture).await.0,
        403,
        "a disabled integration verifies nothing"
    );
}

#[tokio::test]
async fn verification_fails_while_events_could_not_be_verified() {
    let stack = TestStack::new("fx-meta-nosecret").await;
    create_tenant(&stack).await;
    // Enough to send messages, not to receive them: no app secret.
    put_whatsapp(
        &stack,
        serde_json::json!({
            "enabled": true, "phoneNumberId": "106540352242922",
            "accessToken": "EAATestAccessToken123456789", "webhookVerifyToken": "meatyhamhock"
        }),
    )
    .await;
    let fixture = include_str!("../../events/verify.json");
    let (status, _, body) = invoke(&stack, fixture).await;
    assert_eq!(status, 403);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], "app_secret_missing", "{body}");
    // A wrong token learns nothing about the configuration.
    let wrong = fixture.replace("meatyhamhock", "meatyhamhocks");
    let (status, _, body) = invoke(&stack, &wrong).await;
    assert_eq!(status, 403);
    assert!(!String::from_utf8_lossy(&body).contains("appSecret"));

    configure_whatsapp(&stack, true, "meatyhamhock").await;
    assert_eq!(invoke(&stack, fixture).await.0, 200);
}

#[tokio::test]
async fn signatures_are_checked_over_the_raw_bytes_with_the_app_secret() {
    let stack = TestStack::new("fx-meta-sig").await;
    create_tenant(&stack).await;
    configure_whatsapp(&stack, true, "meatyhamhock").await;
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../../events/whatsapp-message.json")).unwrap();
    let body = event["body"].as_str().unwrap().to_string();
    let good =
        hookhub_shared::signing::body_hmac::sign("app-secret-0123456789abcdef", body.as_bytes());

    // The fixture's all-zero signature is refused.
    assert_eq!(invoke(&stack, &event.to_string()).await.0, 401);
    // The right signature verifies, and the message is stored.
    event["headers"]["x-hub-signature-256"] = serde_json::json!(good);
    let (status, _, reply) = invoke(&stack, &event.to_string()).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
    let reply: serde_json::Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(reply["stored"], 1);
    // One changed byte, or another secret, fails.
    event["body"] = serde_json::json!(body.replacen("color", "colour", 1));
    assert_eq!(invoke(&stack, &event.to_string()).await.0, 401);
    event["body"] = serde_json::json!(body);
    event["headers"]["x-hub-signature-256"] = serde_json::json!(
        hookhub_shared::signing::body_hmac::sign("another-secret", body.as_bytes())
    );
    assert_eq!(invoke(&stack, &event.to_string()).await.0, 401);
    event["headers"]["x-hub-signature-256"] = serde_json::json!(good.to_uppercase());
    assert_eq!(
        invoke(&stack, &event.to_string()).await.0,
        401,
        "uppercase hex is malformed"
    );
}
