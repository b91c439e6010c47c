//! The `sam local invoke -e` fixtures, run through the same router Lambda runs.

use aws_sdk_dynamodb::types::AttributeValue;
use axum::body::Body;
use hookhub_shared::local_stack::TestStack;
use hookhub_shared::store::{keys, Item};
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
        status(&stack, include_str!("../events/verify.json")).await,
        404
    );
    assert_eq!(
        status(&stack, include_str!("../events/whatsapp-message.json")).await,
        404
    );
}

#[tokio::test]
async fn tenant_without_meta_integration_refuses_verification_and_events() {
    let stack = TestStack::new("fx-meta-unconf").await;
    create_tenant(&stack).await;
    assert_eq!(
        status(&stack, include_str!("../events/verify.json")).await,
        403
    );
    assert_eq!(
        status(&stack, include_str!("../events/whatsapp-message.json")).await,
        401
    );
}
