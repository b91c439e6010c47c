//! AWS calls per POST, counted by an SDK interceptor on the same clients production builds:
//! a one-item POST and a 1,000-item batch. The batch must use the batch APIs (SendMessageBatch
//! of ten) and one conditional write per item, with no per-item reads.

use std::collections::BTreeMap;

use hookhub_shared::jobs::{Job, JobHandler, Outcome};
use hookhub_shared::local_stack::{AwsCallCounter, TestStack};
use hookhub_shared::signing::body_hmac::sign;
use hookhub_shared::validation::Fields;
use serde_json::json;

fn whatsapp(messages: usize, run: &str) -> Vec<u8> {
    let items: Vec<_> = (0..messages)
        .map(|i| json!({"from": "16505551234", "id": format!("wamid.{run}{i:06}"), "timestamp": "1763800000",
                        "type": "text", "text": {"body": "hello"}}))
        .collect();
    serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881", "phone_number_id": "1"},
        "contacts": [{"profile": {"name": "Sheena"}, "wa_id": "16505551234"}], "messages": items}}]}]}))
    .unwrap()
}

/// The next job on the queue (uncounted: Lambda's event source receives it), deleted.
async fn next_job(stack: &TestStack) -> Job {
    let taken = stack.receive(1).await;
    let m = &taken[0];
    stack
        .clients
        .sqs
        .delete_message()
        .queue_url(&stack.stack.queue_url)
        .receipt_handle(m.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    Job::from_body(m.body().unwrap()).unwrap()
}

#[tokio::test]
async fn aws_calls_per_post_use_batch_apis() {
    let stack = TestStack::new("meta-calls").await;
    let tenant = stack
        .ctx
        .tenants()
        .create(Fields::new(
            json!({"name": "Acme"}).as_object().unwrap().clone(),
        ))
        .await
        .unwrap()
        .id;
    stack
        .ctx
        .integrations()
        .put(
            &tenant,
            hookhub_shared::integrations::IntegrationKind::Whatsapp,
            Fields::new(
                json!({"enabled": true, "phoneNumberId": "1", "accessToken": "EAATestAccessToken123456789",
                       "webhookVerifyToken": "verify-me", "appSecret": "wa-app-secret-0123456789"})
                .as_object()
                .unwrap()
                .clone(),
            ),
            &hookhub_shared::audit::Actor::System,
        )
        .await
        .unwrap();
    // A subscriber, so that processing fans out as it would in use.
    stack
        .create_endpoint(
            &tenant,
            json!({"name": "inbox", "url": "http://127.0.0.1:9/hook", "events": ["message.*"]}),
        )
        .await;
    let calls = AwsCallCounter::default();
    let ctx = stack.counted_context(&calls);
    let ingest = ctx.meta_ingest();

    // Warm: the first POST opens the app secret through KMS; later ones use the cache.
    let warm = whatsapp(1, "W");
    ingest
        .receive(
            &tenant,
            Some(&sign("wa-app-secret-0123456789", &warm)),
            &warm,
        )
        .await
        .unwrap();
    let first = calls.take();
    assert_eq!(first.get("Decrypt"), Some(&1), "{first:?}");

    let one = whatsapp(1, "A");
    let report = ingest
        .receive(&tenant, Some(&sign("wa-app-secret-0123456789", &one)), &one)
        .await
        .unwrap();
    assert_eq!(report.stored, 1);
    let single = calls.take();
    println!("one-item POST: {single:?}");
    assert_eq!(
        single,
        BTreeMap::from([
            ("BatchGetItem".to_string(), 1),
            ("PutItem".to_string(), 1),
            ("SendMessageBatch".to_string(), 1),
            ("UpdateItem".to_string(), 1),
        ]),
        "tenant + integrations in one read, one conditional write, one enqueue, one counter update"
    );
    assert_eq!(report.aws_calls, 4, "the report counts what the SDK sent");

    // The processing job behind each stored item (the worker's side of an inbound event):
    // the first warms the contact, the second is what every later message costs.
    let mut processed = Vec::new();
    for _ in 0..2 {
        let job = next_job(&stack).await;
        let outcome = ctx.meta_processor().handle(&job).await.unwrap();
        assert_eq!(outcome, Outcome::Done);
        processed.push(calls.take());
    }
    println!("processing a received message: {:?}", processed[1]);
    assert_eq!(
        processed[1],
        BTreeMap::from([
            ("GetItem".to_string(), 3),
            ("PutItem".to_string(), 1),
            ("SendMessageBatch".to_string(), 1),
            ("UpdateItem".to_string(), 3),
        ]),
        "per received message: the stored Meta event read, its hookhub event looked up (a retry \
         finds it) then stored and fanned out (the tenant's subscription index read, one batch \
         enqueued), the contact captured, the Meta event's status and the hourly counters"
    );

    let batch = whatsapp(1000, "B");
    let report = ingest
        .receive(
            &tenant,
            Some(&sign("wa-app-secret-0123456789", &batch)),
            &batch,
        )
        .await
        .unwrap();
    assert_eq!(report.stored, 1000);
    let thousand = calls.take();
    println!("1000-item POST: {thousand:?}");
    assert_eq!(thousand.get("PutItem"), Some(&1000));
    assert_eq!(thousand.get("SendMessageBatch"), Some(&100));
    assert_eq!(thousand.get("BatchGetItem"), Some(&1));
    assert_eq!(thousand.get("UpdateItem"), Some(&1));
    assert_eq!(thousand.values().sum::<usize>(), 1102);
    assert_eq!(report.aws_calls, 1102);
}
