//! Fault injection: the application reaches the emulator through a proxy that fails the AWS
//! calls a test names, in the middle of a publish, an ingress POST and a worker batch; and a
//! worker killed mid-batch. Each time: a clear 5xx to whoever can retry, no event lost, no
//! duplicate beyond at-least-once, full recovery once the fault is gone.

use std::collections::HashSet;
use std::time::Duration;

use crate::support::fault_proxy::FaultProxy;
use crate::support::{Behaviour, Receiver, Stack};
use hookhub_shared::signing::body_hmac::sign;
use hookhub_shared::store::keys;
use hookhub_test_support::{test_endpoint, QueueSettings};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);
const ENQUEUE: &[&str] = &["SendMessage", "SendMessageBatch"];
const WA_SECRET: &str = "wa-app-secret-0123456789abcdef";

/// Short visibility timeouts, so that what a failed batch leaves on the queue comes back
/// within the test; enough receives that nothing reaches the dead-letter queue meanwhile.
fn quick_redelivery() -> QueueSettings {
    QueueSettings {
        visibility_timeout: Duration::from_secs(2),
        max_receive_count: 20,
    }
}

async fn faulty_stack(label: &str) -> (Stack, FaultProxy) {
    let proxy = FaultProxy::start(&test_endpoint()).await;
    let stack = Stack::start_through(label, quick_redelivery(), &proxy.url).await;
    (stack, proxy)
}

async fn publish_with_key(stack: &Stack, tenant: &str, key: &str, n: u32) -> (u16, Value) {
    let resp = stack
        .http
        .post(format!("{}/api/v1/events", stack.base))
        .bearer_auth(&stack.admin)
        .header("x-tenant-id", tenant)
        .header("idempotency-key", key)
        .json(&json!({"type": "booking.created", "data": {"booking": {"id": format!("b{n}")}}}))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The distinct event ids a receiver was sent, and how many requests it got in all.
fn delivered_ids(receiver: &Receiver) -> (HashSet<String>, usize) {
    let all = receiver.all();
    let ids = all
        .iter()
        .map(|r| r.headers["webhook-id"].to_str().unwrap().to_string())
        .collect();
    (ids, all.len())
}

async fn publish_five(stack: &Stack, tenant: &str) -> HashSet<String> {
    let mut published = HashSet::new();
    for n in 0..5 {
        let reply = stack
            .publish(tenant, "booking.created", json!({"booking": {"id": n}}))
            .await;
        published.insert(reply["id"].as_str().unwrap().to_string());
    }
    published
}

/// Every published event logged as delivered, the queue drained, nothing dead-lettered,
/// and each event id received at least once; returns how many requests the receiver got.
async fn assert_all_delivered(
    stack: &Stack,
    tenant: &str,
    endpoint: &str,
    receiver: &Receiver,
    published: &HashSet<String>,
) -> usize {
    stack
        .eventually(WAIT, || async {
            let logs = stack.logs(tenant, endpoint).await;
            let logged: HashSet<String> = logs
                .iter()
                .filter(|l| l["success"] == true)
                .filter_map(|l| l["eventId"].as_str().map(str::to_string))
                .collect();
            logged == *published
        })
        .await;
    let queues = &stack.stack.stack;
    stack
        .eventually(WAIT, || async {
            stack.stack.queue_depth(&queues.queue_url).await == 0
        })
        .await;
    assert_eq!(
        stack.stack.queue_depth(&queues.dead_letter_queue_url).await,
        0
    );
    let (ids, requests) = delivered_ids(receiver);
    assert_eq!(ids, *published, "none lost");
    requests
}

#[tokio::test]
async fn a_publish_cut_off_mid_way_answers_503_and_its_retry_delivers_it_once() {
    let (stack, proxy) = faulty_stack("fault-publish").await;
    let tenant = stack.tenant().await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    stack.endpoint(&tenant, &receiver.url, json!({})).await;

    // The event and the key are stored, then the queue fails.
    proxy.fail(ENQUEUE);
    let (status, failed) = publish_with_key(&stack, &tenant, "order-1", 1).await;
    assert_eq!(status, 503, "{failed}");
    assert_eq!(failed["error"]["code"], "service_unavailable", "{failed}");
    assert!(!proxy.failed().is_empty());

    // The client retries with the same key once the queue is back: the first event is
    // finished, under its own id, and delivered once.
    proxy.heal();
    let (status, published) = publish_with_key(&stack, &tenant, "order-1", 1).await;
    assert_eq!(status, 202, "{published}");
    assert_eq!(published["deliveries"], 1);
    let event_id = published["id"].as_str().unwrap().to_string();
    stack
        .eventually(WAIT, || async { receiver.count() >= 1 })
        .await;
    let (again_status, again) = publish_with_key(&stack, &tenant, "order-1", 1).await;
    assert_eq!(again_status, 202);
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["id"], event_id.as_str());
    // The same key for another event is refused.
    let (status, other) = publish_with_key(&stack, &tenant, "order-1", 2).await;
    assert_eq!(status, 409, "{other}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (ids, requests) = delivered_ids(&receiver);
    assert_eq!(ids, HashSet::from([event_id]));
    assert_eq!(requests, 1, "exactly one delivery");

    // Everything down: reads and writes alike answer 503 with a message, and come back.
    proxy.fail(&["*"]);
    let (s, down) = stack
        .call("GET", "/api/v1/webhooks", &stack.admin, Some(&tenant), None)
        .await;
    assert_eq!(s, 503, "{down}");
    assert!(down["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    proxy.heal();
    let (s, list) = stack
        .call("GET", "/api/v1/webhooks", &stack.admin, Some(&tenant), None)
        .await;
    assert_eq!(s, 200, "{list}");
}

#[tokio::test]
async fn an_ingress_post_cut_off_mid_way_answers_5xx_and_metas_retry_finishes_it() {
    let (stack, proxy) = faulty_stack("fault-ingress").await;
    let tenant = stack.tenant().await;
    stack.configure_whatsapp(&tenant, WA_SECRET).await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    stack
        .endpoint(&tenant, &receiver.url, json!({"events": ["message.*"]}))
        .await;

    let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
        "messages": [
            {"from": "16505551234", "id": "wamid.FAULT1", "timestamp": "1763800000", "type": "text", "text": {"body": "one"}},
            {"from": "16505551234", "id": "wamid.FAULT2", "timestamp": "1763800001", "type": "text", "text": {"body": "two"}}
        ]}}]}]}))
    .unwrap();
    let post = || async {
        let resp = stack
            .http
            .post(format!("{}/webhooks/meta/{tenant}", stack.base))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", sign(WA_SECRET, &body))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json::<Value>().await.unwrap_or(Value::Null))
    };

    // Stored, then the queue fails: Meta is told to retry.
    proxy.fail(ENQUEUE);
    let (status, reply) = post().await;
    assert!(status >= 500, "{status} {reply}");
    // Meta's retry of the same body finishes the job: nothing stored twice.
    proxy.heal();
    let (status, reply) = post().await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["received"], 2, "{reply}");
    assert_eq!(reply["stored"], 0, "{reply}");
    assert_eq!(reply["requeued"], 2, "{reply}");
    stack
        .eventually(WAIT, || async { receiver.count() >= 2 })
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (ids, requests) = delivered_ids(&receiver);
    assert_eq!(ids.len(), 2);
    assert_eq!(requests, 2, "each message delivered once");
}

#[tokio::test]
async fn a_worker_batch_cut_off_mid_way_is_redelivered_and_nothing_is_lost() {
    let (stack, proxy) = faulty_stack("fault-worker").await;
    let tenant = stack.tenant().await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    let (endpoint, _) = stack.endpoint(&tenant, &receiver.url, json!({})).await;

    // Hold the worker off the queue while five events are published...
    proxy.fail(&["ReceiveMessage"]);
    let published = publish_five(&stack, &tenant).await;
    // ...then let it take them, and fail what it records after sending: the attempt logs and
    // counters. The deliveries happen; their jobs cannot finish.
    proxy.fail(&["PutItem", "UpdateItem", "BatchWriteItem"]);
    stack
        .eventually(WAIT, || async {
            receiver.count() >= 5 && proxy.failed().iter().any(|op| op == "BatchWriteItem")
        })
        .await;
    proxy.heal();

    // Every job comes back after its visibility timeout and finishes: each event delivered
    // at least once, each logged as delivered, the queue drained, nothing dead-lettered.
    let requests = assert_all_delivered(&stack, &tenant, &endpoint, &receiver, &published).await;
    assert!(requests >= 5, "at least once each");
}

#[tokio::test]
async fn a_worker_killed_mid_batch_leaves_every_job_for_the_next_one() {
    let (stack, _proxy) = faulty_stack("fault-kill").await;
    let tenant = stack.tenant().await;
    // Slow enough that the kill lands while the batch's requests are in flight.
    let receiver = Receiver::start(Behaviour::Slow(Duration::from_secs(2))).await;
    let (endpoint, _) = stack.endpoint(&tenant, &receiver.url, json!({})).await;
    stack.kill_worker();
    let published = publish_five(&stack, &tenant).await;
    stack.start_worker();
    stack
        .eventually(WAIT, || async { receiver.count() >= 1 })
        .await;
    stack.kill_worker();
    let logged_before = stack.logs(&tenant, &endpoint).await.len();
    assert!(logged_before < 5, "killed before the batch finished");

    stack.start_worker();
    assert_all_delivered(&stack, &tenant, &endpoint, &receiver, &published).await;
}

/// DynamoDB's answer when another transaction was writing the same items (or, with
/// `ConditionalCheckFailed`, when a condition did not hold).
fn cancelled(reasons: &[&str]) -> String {
    let reasons: Vec<Value> = reasons.iter().map(|r| json!({ "Code": r })).collect();
    json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
        "CancellationReasons": reasons,
    })
    .to_string()
}

async fn patch_endpoint(stack: &Stack, tenant: &str, id: &str, events: &[&str]) -> (u16, Value) {
    stack
        .call(
            "PATCH",
            &format!("/api/v1/webhooks/{id}"),
            &stack.admin,
            Some(tenant),
            Some(json!({ "events": events })),
        )
        .await
}

/// Every endpoint change rewrites the tenant's subscription index in one transaction, so
/// concurrent changes in a tenant collide on DynamoDB: a transaction cancelled only for
/// `TransactionConflict` is sent again, and one that keeps colliding is a 503 that says so,
/// with nothing changed; a failed condition is not retried.
#[tokio::test]
async fn conflicting_transactions_are_retried_then_reported_and_conditions_are_not() {
    let (stack, proxy) = faulty_stack("tx-conflict").await;
    let tenant = stack.tenant().await;
    let (status, endpoint) = stack
        .call(
            "POST",
            "/api/v1/webhooks",
            &stack.admin,
            Some(&tenant),
            Some(json!({"name": "E", "url": "https://example.com/h", "events": ["contact.*"]})),
        )
        .await;
    assert_eq!(status, 201, "{endpoint}");
    let id = endpoint["id"].as_str().unwrap();
    let commits = |proxy: &FaultProxy| proxy.forwarded("TransactWriteItems");

    // Two conflicts, then through: one change, made once.
    let before = commits(&proxy);
    proxy.answer(
        "TransactWriteItems",
        2,
        400,
        &cancelled(&["None", "TransactionConflict"]),
    );
    let (status, body) = patch_endpoint(&stack, &tenant, id, &["message.*"]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"], json!(["message.*"]));
    assert_eq!(commits(&proxy), before + 1);

    // Conflicts every time: 503 with what happened, and the endpoint as it was.
    let attempts = hookhub_shared::store::COMMIT_ATTEMPTS as usize;
    proxy.answer(
        "TransactWriteItems",
        attempts,
        400,
        &cancelled(&["TransactionConflict", "None"]),
    );
    let before = commits(&proxy);
    let (status, body) = patch_endpoint(&stack, &tenant, id, &["booking.*"]).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "concurrent_change");
    assert_eq!(
        commits(&proxy),
        before,
        "every attempt was answered by the proxy"
    );
    let (_, stored) = stack
        .call(
            "GET",
            &format!("/api/v1/webhooks/{id}"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(stored["events"], json!(["message.*"]));

    // A condition that failed is a conflict with what is stored: answered at once.
    proxy.answer(
        "TransactWriteItems",
        1,
        400,
        &cancelled(&["ConditionalCheckFailed", "None"]),
    );
    let (status, body) = patch_endpoint(&stack, &tenant, id, &["booking.*"]).await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = patch_endpoint(&stack, &tenant, id, &["booking.*"]).await;
    assert_eq!(status, 200, "the scripted answers are used up");
}

/// DynamoDB may do only part of a batch and hand back the rest (`UnprocessedKeys`,
/// `UnprocessedItems`) when it throttles: the worker's endpoint reads and attempt-log writes
/// and an endpoint's log erasure finish the rest, and nothing is lost or counted twice.
#[tokio::test]
async fn batches_left_partly_unprocessed_are_finished_without_loss_or_double_counting() {
    let (stack, proxy) = faulty_stack("unprocessed").await;
    let tenant = stack.tenant().await;
    let receivers = [
        Receiver::start(Behaviour::Ok).await,
        Receiver::start(Behaviour::Ok).await,
        Receiver::start(Behaviour::Ok).await,
    ];
    let mut endpoints = Vec::new();
    for receiver in &receivers {
        endpoints.push(stack.endpoint(&tenant, &receiver.url, json!({})).await.0);
    }
    // And a throttled call outright, which the SDK's retry answers.
    proxy.answer(
        "BatchGetItem",
        1,
        400,
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate exceeded"}"#,
    );
    proxy.leave_unprocessed("BatchGetItem", 2);
    proxy.leave_unprocessed("BatchWriteItem", 2);
    let published = stack
        .publish(&tenant, "booking.created", json!({"booking": {"id": "b1"}}))
        .await;
    assert_eq!(published["deliveries"], 3, "{published}");
    let event = published["id"].as_str().unwrap();
    for (receiver, endpoint) in receivers.iter().zip(&endpoints) {
        stack
            .eventually(WAIT, || async {
                stack.logs(&tenant, endpoint).await.len() == 1 && receiver.count() == 1
            })
            .await;
    }
    assert_eq!(
        proxy.unprocessed_left("BatchGetItem"),
        0,
        "reads were cut short"
    );
    assert!(
        proxy.failed().contains(&"BatchGetItem".to_string()),
        "a read was throttled"
    );
    assert_eq!(
        proxy.unprocessed_left("BatchWriteItem"),
        0,
        "writes were cut short"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (receiver, endpoint) in receivers.iter().zip(&endpoints) {
        assert_eq!(receiver.count(), 1, "delivered once");
        let logs = stack.logs(&tenant, endpoint).await;
        assert_eq!(logs.len(), 1, "logged once: {logs:?}");
        assert_eq!(logs[0]["eventId"], event);
        let stats = stack.stats(&tenant, endpoint).await;
        assert_eq!(stats["totalDeliveries"], 1, "counted once: {stats}");
    }

    // Deleting an endpoint erases its log partition in batches; a partial batch is finished.
    proxy.leave_unprocessed("BatchWriteItem", 1);
    for endpoint in &endpoints {
        let (status, body) = stack
            .call(
                "DELETE",
                &format!("/api/v1/webhooks/{endpoint}"),
                &stack.admin,
                Some(&tenant),
                None,
            )
            .await;
        assert!(status == 204 || status == 200, "{status} {body}");
        let left = stack
            .stack
            .ctx
            .table
            .query(hookhub_shared::store::Query::new(
                hookhub_shared::store::Index::Primary,
                keys::endpoint_partition(&tenant, endpoint),
            ))
            .await
            .unwrap();
        assert!(left.items.is_empty(), "{:?}", left.items);
    }
}
