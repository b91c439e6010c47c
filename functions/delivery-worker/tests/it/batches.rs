//! A batch's deliveries share their writes: each endpoint's counters are updated once for
//! all of its attempts in the batch, and still come out exactly as attempt-by-attempt
//! counting would (totals, consecutive failures after the last success, auto-disable at ten
//! inside one batch, `endpoint.disabled` emitted once).

use hookhub_shared::webhooks::events::EventFilter;
use hookhub_shared::webhooks::logs::{LogFilter, LogScope};
use hookhub_test_support::TestStack;
use serde_json::{json, Value};

use crate::support::batch_of;

const TENANT: &str = "ten_01JDQ7Y3ZK5V8X9W2M4N6P8R0T";

/// A receiver that answers 200, or 500 to events whose data says `"fail": true`.
async fn receiver() -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(|body: axum::Json<Value>| async move {
            if body["data"]["fail"] == true {
                (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "no")
            } else {
                (axum::http::StatusCode::OK, "ok")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn endpoint(stack: &TestStack, name: &str, url: &str, events: Value) -> String {
    stack
        .create_endpoint(
            TENANT,
            json!({"name": name, "url": url, "events": events, "retryAttempts": 0}),
        )
        .await
}

async fn publish(stack: &TestStack, event_type: &str, data: Value) {
    stack
        .ctx
        .events()
        .publish(TENANT, event_type, data, None, "api")
        .await
        .unwrap();
}

#[tokio::test]
async fn counters_folded_per_batch_match_attempt_by_attempt_counting() {
    let stack = TestStack::new("worker-batch-counts").await;
    let url = receiver().await;
    let mixed = endpoint(&stack, "mixed", &url, json!(["contact.*"])).await;
    let healthy = endpoint(&stack, "healthy", &url, json!(["contact.created"])).await;
    // Seven events: four fail at `mixed` (and at `healthy`, which gets only contact.created).
    let plan = [false, true, false, true, true, false, true];
    for (i, fail) in plan.iter().enumerate() {
        let kind = if i % 2 == 0 {
            "contact.created"
        } else {
            "contact.updated"
        };
        publish(&stack, kind, json!({"n": i, "fail": fail})).await;
    }
    // 7 to `mixed` and 4 to `healthy`: 11 jobs, in two batches as SQS hands them out.
    let processor = delivery_worker::processor(&stack.ctx);
    let first = batch_of(&stack, 10).await;
    assert!(processor
        .process(first)
        .await
        .batch_item_failures
        .is_empty());
    let second = batch_of(&stack, 1).await;
    assert!(processor
        .process(second)
        .await
        .batch_item_failures
        .is_empty());

    let log = stack.ctx.delivery_log();
    for (id, expected_total) in [(&mixed, 7u64), (&healthy, 4)] {
        let filter = LogFilter {
            scope: LogScope::Endpoint(id.clone()),
            ..Default::default()
        };
        let (mut logs, _) = log.list(TENANT, &filter, Some(100), None).await.unwrap();
        assert_eq!(logs.len() as u64, expected_total);
        logs.reverse(); // oldest first
        let failed = logs.iter().filter(|l| !l.success).count() as u64;
        let trailing = logs.iter().rev().take_while(|l| !l.success).count() as u64;
        let stats = log.stats(TENANT, id).await.unwrap();
        assert_eq!(stats.total_deliveries, expected_total);
        assert_eq!(stats.failed_deliveries, failed);
        assert_eq!(stats.successful_deliveries, expected_total - failed);
        assert_eq!(
            stats.total_response_ms,
            logs.iter().map(|l| l.response_time_ms).sum::<u64>()
        );
        assert_eq!(stats.consecutive_failures, trailing, "{logs:?}");
        assert_eq!(
            stats.last_called_at.as_ref(),
            logs.last().map(|l| &l.created_at)
        );
        assert_eq!(
            stats.last_status_code,
            logs.last().and_then(|l| l.status_code)
        );
        let hours = log
            .hours(TENANT, id, chrono::Utc::now() - chrono::Duration::hours(2))
            .await
            .unwrap();
        assert_eq!(hours.iter().map(|h| h.total).sum::<u64>(), expected_total);
        assert_eq!(hours.iter().map(|h| h.failed).sum::<u64>(), failed);
    }
}

#[tokio::test]
async fn ten_failures_in_one_batch_disable_the_endpoint_once() {
    let stack = TestStack::new("worker-batch-disable").await;
    let url = receiver().await;
    let failing = endpoint(&stack, "failing", &url, json!(["contact.created"])).await;
    for i in 0..10 {
        publish(&stack, "contact.created", json!({"n": i, "fail": true})).await;
    }
    let processor = delivery_worker::processor(&stack.ctx);
    let batch = batch_of(&stack, 10).await;
    assert!(processor
        .process(batch)
        .await
        .batch_item_failures
        .is_empty());

    let endpoint = stack.ctx.endpoints().get(TENANT, &failing).await.unwrap();
    assert!(!endpoint.is_active);
    assert_eq!(
        endpoint.disabled_reason.as_deref(),
        Some("10 consecutive failed delivery attempts")
    );
    let stats = stack
        .ctx
        .delivery_log()
        .stats(TENANT, &failing)
        .await
        .unwrap();
    assert_eq!(stats.consecutive_failures, 10);
    // Exactly one endpoint.disabled event stored.
    let (events, _) = stack
        .ctx
        .events()
        .list(
            TENANT,
            &EventFilter {
                event_type: Some("endpoint.disabled".into()),
                ..Default::default()
            },
            Some(10),
            None,
        )
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].data["consecutiveFailures"], 10);
}
