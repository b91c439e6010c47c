//! A tenant's retry quota, lowered after its endpoints were made, holds for their next
//! deliveries: the worker reads the tenant with the endpoints and caps their retries.

use std::time::Duration;

use serde_json::json;

use crate::support::{Behaviour, Receiver, Stack};

#[tokio::test]
async fn a_lowered_retry_quota_caps_endpoints_made_before_it() {
    let stack = Stack::start("e2e-quota-retries").await;
    let tenant = stack.tenant().await;
    let receiver = Receiver::start(Behaviour::AlwaysFail).await;
    let (endpoint, _) = stack
        .endpoint(
            &tenant,
            &receiver.url,
            json!({"retryAttempts": 3, "retryDelay": 1}),
        )
        .await;
    let (s, body) = stack
        .call(
            "PATCH",
            &format!("/api/platform/tenants/{tenant}"),
            &stack.admin,
            None,
            Some(json!({"quotas": {"maxRetryAttempts": 0}})),
        )
        .await;
    assert_eq!(s, 200, "{body}");

    stack
        .publish(&tenant, "contact.created", json!({"contact": {"id": "c1"}}))
        .await;
    stack
        .eventually(Duration::from_secs(30), || async {
            !stack.logs(&tenant, &endpoint).await.is_empty()
        })
        .await;
    let logs = stack.logs(&tenant, &endpoint).await;
    assert_eq!(logs[0]["willRetry"], false, "{}", logs[0]);
    // The endpoint asked for three retries a second apart: none comes.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(receiver.count(), 1);
    assert_eq!(stack.logs(&tenant, &endpoint).await.len(), 1);
    // The endpoint itself is unchanged: raising the quota again gives its retries back.
    let (_, shown) = stack
        .call(
            "GET",
            &format!("/api/v1/webhooks/{endpoint}"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(shown["retryAttempts"], 3);
}
