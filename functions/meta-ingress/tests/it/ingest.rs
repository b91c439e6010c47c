//! Signed POSTs through the ingress router over an isolated emulator stack: storage once per
//! natural id, duplicates, refusals that store nothing, and failures that Meta's retry
//! finishes.

use std::sync::Arc;

use axum::body::Body;
use hookhub_shared::audit::Actor;
use hookhub_shared::ids::{new_id, IdKind};
use hookhub_shared::integrations::IntegrationKind;
use hookhub_shared::jobs::SqsJobQueue;
use hookhub_shared::meta::samples::{cases, SampleParams};
use hookhub_shared::meta::{MetaEvent, ProcessingStatus};
use hookhub_shared::signing::body_hmac::sign;
use hookhub_shared::store::keys;
use hookhub_shared::validation::Fields;
use hookhub_shared::AppContext;
use hookhub_test_support::TestStack;
use serde_json::{json, Value};
use tower::ServiceExt;

const WA_SECRET: &str = "wa-app-secret-0123456789abcdef";
const IG_SECRET: &str = "ig-app-secret-fedcba9876543210";

async fn tenant_with_integrations(stack: &TestStack) -> String {
    let tenant = stack
        .ctx
        .tenants()
        .create(
            hookhub_shared::tenants::TenantCreate::read(Fields::new(
                json!({"name": "Acme"}).as_object().unwrap().clone(),
            ))
            .unwrap(),
        )
        .await
        .unwrap()
        .id;
    let integrations = stack.ctx.integrations();
    for (kind, input) in [
        (
            IntegrationKind::Whatsapp,
            json!({"enabled": true, "phoneNumberId": "106540352242922", "accessToken": "EAATestAccessToken123456789",
                   "webhookVerifyToken": "verify-me", "appSecret": WA_SECRET}),
        ),
        (
            IntegrationKind::Instagram,
            json!({"enabled": true, "accountId": "17841400008460056", "appId": "1234567890",
                   "appSecret": IG_SECRET, "accessToken": "IGQVJTestAccessToken1234567", "webhookVerifyToken": "verify-ig"}),
        ),
    ] {
        integrations
            .put(
                &tenant,
                kind,
                Fields::new(input.as_object().unwrap().clone()),
                &Actor::System,
            )
            .await
            .unwrap();
    }
    tenant
}

async fn post(
    ctx: &AppContext,
    tenant: &str,
    body: &[u8],
    signature: Option<&str>,
) -> (u16, Value) {
    let mut request = http::Request::post(format!("/webhooks/meta/{tenant}"))
        .header("content-type", "application/json");
    if let Some(sig) = signature {
        request = request.header("x-hub-signature-256", sig);
    }
    let response = meta_ingress::router(ctx.clone())
        .oneshot(request.body(Body::from(body.to_vec())).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into())),
    )
}

async fn stored(stack: &TestStack, tenant: &str) -> Vec<MetaEvent> {
    // The by-id index is eventually consistent on DynamoDB; the emulator's is immediate.
    let (events, _) = stack
        .ctx
        .meta_events()
        .list(tenant, None, None, Some(1000), None)
        .await
        .unwrap();
    events
}

async fn queued(stack: &TestStack) -> usize {
    let attrs = stack
        .clients
        .sqs
        .get_queue_attributes()
        .queue_url(&stack.stack.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn params() -> SampleParams {
    SampleParams {
        account_id: "17841400008460056".into(),
        sender_id: "16505551234".into(),
        sender_username: "sheena.nelson".into(),
        phone_number_id: None,
    }
}

#[tokio::test]
async fn every_sample_kind_is_stored_once_with_its_type_and_enqueued() {
    let stack = TestStack::new("meta-kinds").await;
    let tenant = tenant_with_integrations(&stack).await;
    let all = cases(&params(), "K1", 1_763_800_000);
    for case in &all {
        let body = serde_json::to_vec(&case.body).unwrap();
        let secret = match case.channel {
            hookhub_shared::meta::Channel::Whatsapp => WA_SECRET,
            _ => IG_SECRET,
        };
        let (status, reply) = post(&stack.ctx, &tenant, &body, Some(&sign(secret, &body))).await;
        assert_eq!(status, 200, "{}: {reply}", case.name);
        assert_eq!(reply["stored"], 1, "{}", case.name);
    }
    let events = stored(&stack, &tenant).await;
    assert_eq!(events.len(), all.len());
    for case in &all {
        assert!(
            events.iter().any(|e| e.event_type == case.expected_type),
            "{} stored as {}",
            case.name,
            case.expected_type
        );
    }
    assert!(events
        .iter()
        .all(|e| e.status == ProcessingStatus::Received));
    assert_eq!(queued(&stack).await, all.len(), "one process job per event");
    let by_type = stack
        .ctx
        .meta_events()
        .list(&tenant, Some("message.failed"), None, None, None)
        .await
        .unwrap()
        .0;
    assert_eq!(by_type.len(), 1);
    assert_eq!(by_type[0].data()["error"]["code"], "131047");
}

#[tokio::test]
async fn duplicates_across_and_within_posts_are_stored_once_and_answered_200() {
    let stack = TestStack::new("meta-dupes").await;
    let tenant = tenant_with_integrations(&stack).await;
    let item = |mid: &str| json!({"sender": {"id": "u1"}, "recipient": {"id": "IG"}, "timestamp": 1763800000000u64, "message": {"mid": mid, "text": "hi"}});
    let body = serde_json::to_vec(&json!({"object": "instagram", "entry": [
        {"id": "17841400008460056", "time": 1763800000, "messaging": [item("m1"), item("m1"), item("m2")]},
        {"id": "17841400008460056", "time": 1763800000, "changes": [{"field": "comments", "value": {"id": "c1", "text": "x", "from": {"id": "u1", "username": "ann"}, "media": {"id": "md"}}}]}
    ]})).unwrap();
    let sig = sign(IG_SECRET, &body);
    let (status, reply) = post(&stack.ctx, &tenant, &body, Some(&sig)).await;
    assert_eq!(status, 200);
    assert_eq!(
        reply,
        json!({"received": 4, "stored": 3, "duplicates": 1, "requeued": 0, "foreignAccount": 0})
    );
    assert_eq!(queued(&stack).await, 3);

    // Meta's retry of the whole POST: stored events still unprocessed are enqueued again,
    // nothing is stored twice.
    let (status, reply) = post(&stack.ctx, &tenant, &body, Some(&sig)).await;
    assert_eq!(status, 200);
    assert_eq!(reply["stored"], 0);
    assert_eq!(reply["requeued"], 3);
    assert_eq!(stored(&stack, &tenant).await.len(), 3);

    // Once processed, a duplicate is only a duplicate.
    let store = stack.ctx.meta_events();
    for mut event in stored(&stack, &tenant).await {
        event.status = ProcessingStatus::Processed;
        store.record_outcome(&event).await.unwrap();
    }
    let (status, reply) = post(&stack.ctx, &tenant, &body, Some(&sig)).await;
    assert_eq!(status, 200);
    assert_eq!(
        reply,
        json!({"received": 4, "stored": 0, "duplicates": 4, "requeued": 0, "foreignAccount": 0})
    );
}

#[tokio::test]
async fn bad_signatures_store_nothing() {
    let stack = TestStack::new("meta-badsig").await;
    let tenant = tenant_with_integrations(&stack).await;
    let body = serde_json::to_vec(&cases(&params(), "B1", 1_763_800_000)[0].body).unwrap();
    let good = sign(IG_SECRET, &body);
    let hex = good.trim_start_matches("sha256=");
    let mut changed = body.clone();
    changed[10] ^= 1;
    for (label, signature, bytes) in [
        ("missing", None, body.clone()),
        ("sha1", Some(format!("sha1={}", &hex[..40])), body.clone()),
        (
            "uppercase",
            Some(format!("sha256={}", hex.to_uppercase())),
            body.clone(),
        ),
        (
            "short",
            Some(format!("sha256={}", &hex[..62])),
            body.clone(),
        ),
        (
            "other secret",
            Some(sign("not-the-secret", &body)),
            body.clone(),
        ),
        ("one byte changed", Some(good.clone()), changed),
    ] {
        let (status, reply) = post(&stack.ctx, &tenant, &bytes, signature.as_deref()).await;
        assert_eq!(status, 401, "{label}: {reply}");
        assert_eq!(reply["error"]["code"], "invalid_signature", "{label}");
    }
    assert!(stored(&stack, &tenant).await.is_empty());
    assert_eq!(queued(&stack).await, 0);

    let unknown = new_id(IdKind::Tenant);
    assert_eq!(post(&stack.ctx, &unknown, &body, Some(&good)).await.0, 404);
    assert_eq!(
        post(&stack.ctx, "not-a-tenant", &body, Some(&good)).await.0,
        404
    );
}

#[tokio::test]
async fn unicode_escaped_bodies_verify_over_the_bytes_as_sent() {
    let stack = TestStack::new("meta-unicode").await;
    let tenant = tenant_with_integrations(&stack).await;
    let body = br#"{"object":"instagram","entry":[{"id":"17841400008460056","time":1763800000,"messaging":[{"sender":{"id":"u1"},"recipient":{"id":"IG"},"timestamp":1763800000000,"message":{"mid":"m-uni","text":"caf\u00e9 \ud83d\ude00 \u003cb\u003e"}}]}]}"#;
    let sig = sign(IG_SECRET, body);
    let reserialised = serde_json::to_vec(&serde_json::from_slice::<Value>(body).unwrap()).unwrap();
    assert_eq!(
        post(&stack.ctx, &tenant, &reserialised, Some(&sig)).await.0,
        401
    );
    let (status, _) = post(&stack.ctx, &tenant, body, Some(&sig)).await;
    assert_eq!(status, 200);
    let events = stored(&stack, &tenant).await;
    assert_eq!(events[0].data()["message"]["text"], "café 😀 <b>");
    assert!(
        events[0].raw.contains(r"caf\u00e9"),
        "the raw item is kept as sent"
    );
}

/// The normalised document is rebuilt from the raw item, so it is not stored with it; an
/// item too big to keep whole keeps the document built from all of it instead.
#[tokio::test]
async fn the_document_is_stored_only_for_an_item_cut_to_fit() {
    let stack = TestStack::new("meta-cut").await;
    let tenant = tenant_with_integrations(&stack).await;
    let message = |id: &str, text: &str| json!({"from": "16505551234", "id": id, "timestamp": "1763800000", "type": "text", "text": {"body": text}});
    let long = "é".repeat(60 * 1024);
    let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Sheena"}, "wa_id": "16505551234"}],
        "messages": [message("wamid.short", "hi"), message("wamid.long", &long)]}, "field": "messages"}]}]}))
    .unwrap();
    let sig = sign(WA_SECRET, &body);
    assert_eq!(post(&stack.ctx, &tenant, &body, Some(&sig)).await.0, 200);
    let events = stored(&stack, &tenant).await;
    assert_eq!(events.len(), 2);
    for event in &events {
        let key = keys::meta_event(&tenant, &event.natural_id);
        let item = stack.ctx.table.get(&key).await.unwrap().unwrap();
        let data = event.data();
        assert_eq!(data["metaEventId"], event.id);
        assert_eq!(data["contact"]["name"], "Sheena");
        assert_eq!(data["phoneNumberId"], "106540352242922");
        if event.natural_id == "wa:wamid.long" {
            assert!(event.raw_truncated, "a 120 KB item is cut to fit");
            assert!(item.contains_key("data"), "its document is kept whole");
            assert_eq!(data["message"]["text"], long.as_str());
        } else {
            assert!(!event.raw_truncated);
            assert!(!item.contains_key("data"), "rebuilt from raw, not stored");
            assert_eq!(data["message"]["text"], "hi");
        }
    }
}

#[tokio::test]
async fn unknown_objects_are_stored_and_malformed_or_huge_bodies_refused() {
    let stack = TestStack::new("meta-unknown").await;
    let tenant = tenant_with_integrations(&stack).await;
    let body = br#"{"object":"permissions","entry":[{"id":"1","time":1763800000,"changes":[{"field":"connected","value":{"verb":"granted"}}]}]}"#;
    let (status, reply) = post(&stack.ctx, &tenant, body, Some(&sign(WA_SECRET, body))).await;
    assert_eq!(status, 200, "{reply}");
    let events = stored(&stack, &tenant).await;
    assert_eq!(events[0].event_type, "meta.unknown");
    assert_eq!(events[0].data()["object"], "permissions");

    let broken = b"{\"object\": \"instagram\", \"entry\": [";
    let (status, reply) = post(&stack.ctx, &tenant, broken, Some(&sign(WA_SECRET, broken))).await;
    assert_eq!(status, 400, "{reply}");
    assert_eq!(reply["error"]["code"], "malformed_body");

    let mut huge = br#"{"object":"instagram","entry":[],"pad":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'a', meta_ingress::MAX_BODY_BYTES));
    huge.extend(br#""}"#);
    let (status, reply) = post(&stack.ctx, &tenant, &huge, Some(&sign(WA_SECRET, &huge))).await;
    assert_eq!(status, 413, "{reply}");
    assert_eq!(stored(&stack, &tenant).await.len(), 1);

    // Meta's own limit (3 MB) is accepted.
    let mut big = br#"{"object":"instagram","entry":[],"pad":""#.to_vec();
    big.extend(std::iter::repeat_n(
        b'a',
        meta_ingress::MAX_BODY_BYTES - 100,
    ));
    big.extend(br#""}"#);
    let (status, reply) = post(&stack.ctx, &tenant, &big, Some(&sign(WA_SECRET, &big))).await;
    assert_eq!(status, 200, "{reply}");
}

#[tokio::test]
async fn a_failed_enqueue_answers_503_and_metas_retry_finishes_the_job() {
    let stack = TestStack::new("meta-queue-down").await;
    let tenant = tenant_with_integrations(&stack).await;
    let body = serde_json::to_vec(&cases(&params(), "Q1", 1_763_800_000)[3].body).unwrap();
    let sig = sign(IG_SECRET, &body);

    let mut broken = stack.ctx.clone();
    broken.queue = Arc::new(SqsJobQueue::new(
        stack.clients.sqs.clone(),
        format!("{}-missing", stack.stack.queue_url),
        None,
    ));
    let (status, reply) = post(&broken, &tenant, &body, Some(&sig)).await;
    assert_eq!(status, 503, "{reply}");
    assert_eq!(reply["error"]["code"], "service_unavailable");
    assert_eq!(queued(&stack).await, 0);
    let events = stored(&stack, &tenant).await;
    assert_eq!(events.len(), 1, "stored before the enqueue failed");
    assert_eq!(events[0].status, ProcessingStatus::Received);

    let (status, reply) = post(&stack.ctx, &tenant, &body, Some(&sig)).await;
    assert_eq!(status, 200);
    assert_eq!(reply["requeued"], 1);
    assert_eq!(queued(&stack).await, 1);
    assert_eq!(stored(&stack, &tenant).await.len(), 1);
}

#[tokio::test]
async fn an_unreachable_table_answers_503_and_stores_nothing() {
    let stack = TestStack::new("meta-table-down").await;
    let tenant = tenant_with_integrations(&stack).await;
    let body = serde_json::to_vec(&cases(&params(), "T1", 1_763_800_000)[3].body).unwrap();
    let sig = sign(IG_SECRET, &body);
    let mut broken = stack.ctx.clone();
    broken.table = hookhub_shared::store::Table::new(
        stack.clients.dynamodb.clone(),
        format!("{}-missing", stack.ctx.table.name()),
    );
    let (status, _) = post(&broken, &tenant, &body, Some(&sig)).await;
    assert_eq!(status, 503);
    assert!(stored(&stack, &tenant).await.is_empty());
    assert_eq!(queued(&stack).await, 0);
}

#[tokio::test]
async fn the_sweep_enqueues_events_left_received_when_meta_gives_up() {
    let stack = TestStack::new("meta-sweep").await;
    let tenant = tenant_with_integrations(&stack).await;
    let body = serde_json::to_vec(&cases(&params(), "S1", 1_763_800_000)[0].body).unwrap();
    let mut broken = stack.ctx.clone();
    broken.queue = Arc::new(SqsJobQueue::new(
        stack.clients.sqs.clone(),
        format!("{}-missing", stack.stack.queue_url),
        None,
    ));
    let (status, _) = post(&broken, &tenant, &body, Some(&sign(IG_SECRET, &body))).await;
    assert_eq!(status, 503);
    assert_eq!(queued(&stack).await, 0);

    // Not stale yet: left alone.
    assert_eq!(stack.ctx.meta_sweep().run().await.unwrap(), 0);
    let sweep = stack
        .ctx
        .meta_sweep()
        .with_stale_after(std::time::Duration::ZERO);
    assert_eq!(sweep.run().await.unwrap(), 1);
    assert_eq!(queued(&stack).await, 1);
}

/// One Meta app can serve several businesses, so its app secret proves who sent a POST,
/// not whose it is: items for another account are counted, never stored.
#[tokio::test]
async fn items_for_another_account_are_counted_not_stored() {
    let stack = TestStack::new("meta-foreign").await;
    let tenant = tenant_with_integrations(&stack).await;
    let whatsapp = |phone_number_id: &str, wamid: &str| {
        json!({"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
            "messages": [{"from": "16505551234", "id": wamid, "timestamp": "1763800000", "type": "text", "text": {"body": "hi"}}]}}]})
    };
    let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [
        whatsapp("106540352242922", "wamid.ours"),
        whatsapp("999999999999999", "wamid.theirs"),
    ]}))
    .unwrap();
    let (status, reply) = post(&stack.ctx, &tenant, &body, Some(&sign(WA_SECRET, &body))).await;
    assert_eq!(status, 200);
    assert_eq!(
        reply,
        json!({"received": 2, "stored": 1, "duplicates": 0, "requeued": 0, "foreignAccount": 1})
    );
    let ids: Vec<String> = stored(&stack, &tenant)
        .await
        .into_iter()
        .map(|e| e.natural_id)
        .collect();
    assert_eq!(ids, ["wa:wamid.ours"]);

    // Instagram: the entry names the account.
    let ig = serde_json::to_vec(&json!({"object": "instagram", "entry": [{"id": "17841499999999999", "time": 1763800000,
        "messaging": [{"sender": {"id": "u1"}, "recipient": {"id": "17841499999999999"}, "timestamp": 1763800000000u64, "message": {"mid": "m-theirs", "text": "hi"}}]}]}))
    .unwrap();
    let (_, reply) = post(&stack.ctx, &tenant, &ig, Some(&sign(IG_SECRET, &ig))).await;
    assert_eq!(reply["foreignAccount"], 1);
    assert_eq!(reply["stored"], 0);

    // And the monitoring dashboard shows them.
    let dashboard = stack
        .ctx
        .meta_monitoring()
        .dashboard(&tenant)
        .await
        .unwrap();
    assert_eq!(dashboard.windows.day.foreign_account, 2, "{dashboard:?}");
}
