//! AWS calls per delivery, counted by an SDK interceptor on the same clients production
//! builds: what publishing costs per event and what the worker costs per delivered message,
//! warm (the endpoint secret's data key already opened) and cold. These counts are the
//! inputs of the README's cost model; a change here is a change of the running cost.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hookhub_shared::error::ServiceError;
use hookhub_shared::webhooks::events::TenantCheck;
use hookhub_test_support::{AwsCallCounter, TestStack};
use serde_json::json;

use crate::support::batch_of;

/// A receiver that answers every POST with 200, counting them.
async fn receiver() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[tokio::test]
async fn aws_calls_per_published_event_and_per_delivery() {
    let stack = TestStack::new("worker-calls").await;
    let tenant = &stack.create_tenant("calls").await;
    let (url, hits) = receiver().await;
    stack
        .create_endpoint(
            tenant,
            json!({"name": "orders", "url": url, "events": ["*"]}),
        )
        .await;

    let calls = AwsCallCounter::default();
    let ctx = stack.counted_context(&calls);
    let processor = delivery_worker::processor(&ctx);

    for round in 0..2 {
        for i in 0..10 {
            ctx.events()
                .publish(
                    tenant,
                    "contact.created",
                    json!({"order": i, "round": round}),
                    None,
                    "api",
                )
                .await
                .unwrap();
        }
        let published = calls.take();
        assert_eq!(
            published,
            counts(&[
                ("GetItem", 10),
                ("PutItem", 10),
                ("SendMessageBatch", 10),
                ("UpdateItem", 10)
            ]),
            "per event: the tenant's subscription index read, the event stored, one batch \
             enqueued, the publish counted against the tenant's rate quota"
        );

        let response = processor.process(batch_of(&stack, 10).await).await;
        assert!(response.batch_item_failures.is_empty());
        let delivered = calls.take();
        if round == 0 {
            // A cold worker opens the endpoint's signing secret once through KMS.
            assert_eq!(delivered.get("Decrypt"), Some(&1), "{delivered:?}");
        } else {
            // At the top of an hour the endpoint's open hour moves to its own item: a
            // transaction and a read, once an hour per endpoint.
            if !delivered.contains_key("TransactWriteItems") {
                assert_eq!(
                    delivered,
                    counts(&[
                        ("BatchGetItem", 1),
                        ("BatchWriteItem", 1),
                        ("UpdateItem", 1)
                    ]),
                    "per batch of ten to one endpoint, warm: one endpoint read, one log write, \
                     the endpoint's counters (with its open hour) once"
                );
            }
        }
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        20,
        "every event delivered once"
    );

    // A caller whose tenant is still to be checked (an admin token naming it): the index
    // proves the tenant, so the same single read. The event is written alongside that read,
    // so an unknown tenant costs two reads and the event's write, taken back.
    calls.take();
    let checked = ctx
        .events()
        .publish_checked(
            tenant,
            "contact.created",
            json!({}),
            None,
            "api",
            TenantCheck::Verify,
        )
        .await
        .unwrap();
    assert_eq!(checked.deliveries, 1);
    assert_eq!(
        calls.take(),
        counts(&[
            ("GetItem", 1),
            ("PutItem", 1),
            ("SendMessageBatch", 1),
            ("UpdateItem", 1)
        ]),
        "a checked publish: the index read is the tenant check; the publish is counted once \
         the tenant is found"
    );
    let stranger = "ten_01JDQ7Y3ZK5V8X9W2M4N6P8R0V";
    let unknown = ctx
        .events()
        .publish_checked(
            stranger,
            "contact.created",
            json!({}),
            None,
            "api",
            TenantCheck::Verify,
        )
        .await;
    assert!(
        matches!(unknown, Err(ServiceError::NotFound("tenant"))),
        "{unknown:?}"
    );
    assert_eq!(
        calls.take(),
        counts(&[("GetItem", 2), ("PutItem", 1), ("DeleteItem", 1)]),
        "an unknown tenant: no index, then no tenant; the event stored meanwhile deleted"
    );
    let (left, _) = ctx
        .events()
        .list(stranger, &Default::default(), None, None)
        .await
        .unwrap();
    assert!(
        left.is_empty(),
        "nothing left under an unknown tenant: {left:?}"
    );

    // A tenant from before the subscription index (none stored): its endpoints are queried.
    let legacy = "ten_01JDQ7Y3ZK5V8X9W2M4N6P8R0T";
    stack
        .create_endpoint(legacy, json!({"name": "old", "url": url, "events": ["*"]}))
        .await;
    calls.take();
    let published = ctx
        .events()
        .publish(legacy, "contact.created", json!({}), None, "api")
        .await
        .unwrap();
    assert_eq!(published.deliveries, 1);
    assert_eq!(
        calls.take(),
        counts(&[
            ("GetItem", 2),
            ("PutItem", 1),
            ("Query", 2),
            ("SendMessageBatch", 1),
            ("UpdateItem", 1)
        ]),
        "without an index: the missing index, the tenant (its quotas), then the endpoints \
         and workflows queried; the publish counted"
    );
}
