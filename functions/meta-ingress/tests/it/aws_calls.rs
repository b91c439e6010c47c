//! AWS calls per POST, counted by an SDK interceptor on the same clients production builds:
//! a one-item POST and a 1,000-item batch. The batch must use the batch APIs (SendMessageBatch
//! of ten) and one conditional write per item, with no per-item reads.

use std::collections::BTreeMap;

use hookhub_shared::jobs::{Job, JobHandler, Outcome};
use hookhub_shared::signing::body_hmac::sign;
use hookhub_shared::validation::Fields;
use hookhub_test_support::{AwsCallCounter, TestStack};
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

/// A tenant with WhatsApp connected (app secret `wa-app-secret-0123456789`) and one
/// subscriber to its messages, so that processing fans out as it would in use.
async fn tenant_with_whatsapp(stack: &TestStack) -> String {
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
    tenant
}

/// Every message on the delivery queue now, taken off it.
async fn drain(stack: &TestStack) -> Vec<Job> {
    let mut jobs = Vec::new();
    loop {
        let out = stack
            .clients
            .sqs
            .receive_message()
            .queue_url(&stack.stack.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return jobs;
        }
        jobs.extend(
            messages
                .iter()
                .map(|m| Job::from_body(m.body().unwrap()).unwrap()),
        );
    }
}

/// One message POSTed and stored: its processing job, taken off the queue, and its natural id.
async fn received_message(stack: &TestStack, tenant: &str, run: &str) -> (Job, String) {
    let body = whatsapp(1, run);
    let signature = sign("wa-app-secret-0123456789", &body);
    let ingest = stack.ctx.meta_ingest();
    ingest
        .receive(tenant, Some(&signature), &body)
        .await
        .unwrap();
    let job = next_job(stack).await;
    let natural_id = job.payload["naturalId"].as_str().unwrap().to_string();
    (job, natural_id)
}

#[tokio::test]
async fn a_meta_event_is_processed_by_one_job_at_a_time() {
    let stack = TestStack::new("meta-claim").await;
    let tenant = tenant_with_whatsapp(&stack).await;
    let (job, natural_id) = received_message(&stack, &tenant, "C").await;
    let processor = stack.ctx.meta_processor();

    // Meta sent the batch twice at once: two jobs for one stored event, run together.
    let (a, b) = tokio::join!(processor.handle(&job), processor.handle(&job));
    assert_eq!(a.unwrap(), Outcome::Done);
    assert_eq!(b.unwrap(), Outcome::Done);
    let fanned_out = drain(&stack).await;
    assert_eq!(
        fanned_out.len(),
        1,
        "one delivery for the one subscriber: {fanned_out:?}"
    );

    // A job that finds the claim held leaves the event to its holder, which is given it
    // again when the claim is given up.
    let events = stack.ctx.meta_events();
    let (job, natural_id_2) = received_message(&stack, &tenant, "D").await;
    assert_ne!(natural_id, natural_id_2);
    let lease = std::time::Duration::from_secs(60);
    assert!(events
        .claim_processing(&tenant, &natural_id_2, lease)
        .await
        .unwrap());
    assert_eq!(processor.handle(&job).await.unwrap(), Outcome::Done);
    assert!(
        drain(&stack).await.is_empty(),
        "nothing fanned out meanwhile"
    );
    events
        .release_processing(&tenant, &natural_id_2)
        .await
        .unwrap();
    assert_eq!(processor.handle(&job).await.unwrap(), Outcome::Done);
    assert_eq!(drain(&stack).await.len(), 1);
}

#[tokio::test]
async fn aws_calls_per_post_use_batch_apis() {
    let stack = TestStack::new("meta-calls").await;
    let tenant = tenant_with_whatsapp(&stack).await;
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
            ("PutItem".to_string(), 2),
            ("SendMessageBatch".to_string(), 1),
            ("UpdateItem".to_string(), 3),
        ]),
        "per received message: the stored Meta event read and its processing claimed, its \
         hookhub event looked up (a retry finds it) then stored and fanned out (the tenant's subscription index read, one batch \
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
