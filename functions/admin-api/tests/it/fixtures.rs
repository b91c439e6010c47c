//! The `sam local invoke -e` fixtures, run through the same router Lambda runs.

use axum::body::Body;
use hookhub_test_support::TestStack;
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn invoke(
    stack: &TestStack,
    fixture: &str,
) -> (http::StatusCode, http::HeaderMap, serde_json::Value) {
    let request =
        lambda_http::request::from_str(fixture).expect("fixture is an API Gateway v2 event");
    let (parts, body) = request.into_parts();
    let request = http::Request::from_parts(parts, Body::from(body.to_vec()));
    let response = admin_api::router(stack.ctx.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).expect("JSON body"),
    )
}

#[tokio::test]
async fn health_fixture() {
    let stack = TestStack::new("fx-health").await;
    let (status, headers, body) = invoke(&stack, include_str!("../../events/health.json")).await;
    assert_eq!(status, 200);
    assert_eq!(body["components"]["dynamodb"]["status"], "ok");
    assert_eq!(body["components"]["sqs"]["status"], "ok");
    assert!(headers["x-request-id"]
        .to_str()
        .unwrap()
        .starts_with("req_"));
}

#[tokio::test]
async fn openapi_fixture_serves_a_3_1_document_covering_the_routes() {
    let stack = TestStack::new("fx-openapi").await;
    let (status, headers, doc) = invoke(&stack, include_str!("../../events/openapi.json")).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["x-request-id"], "fixture-openapi-1",
        "caller's request id kept"
    );
    assert_eq!(doc["openapi"], "3.1.0");
    for path in ["/api/health", "/api/openapi.json"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} documented");
    }
}

#[tokio::test]
async fn oversized_body_is_a_json_413() {
    let stack = TestStack::new("fx-413").await;
    let request = http::Request::post("/api/health")
        .header("content-type", "application/json")
        .header(
            "content-length",
            (admin_api::MAX_BODY_BYTES + 1).to_string(),
        )
        .body(Body::from(vec![b' '; admin_api::MAX_BODY_BYTES + 1]))
        .unwrap();
    let response = admin_api::router(stack.ctx.clone())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
}
