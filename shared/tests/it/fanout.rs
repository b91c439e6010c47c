//! Fan-out enqueues in SQS batches of ten, not one call per endpoint; the event is stored
//! before any job is enqueued, and a publish refused part-way leaves nothing behind.

use std::sync::Arc;

use hookhub_shared::jobs::SqsJobQueue;
use hookhub_shared::validation::Fields;
use hookhub_shared::webhooks::events::EventService;
use hookhub_test_support::{counted_clients, AwsCallCounter, TestStack};
use serde_json::json;

#[tokio::test]
async fn one_event_to_100_endpoints_is_ten_batch_calls() {
    let stack = TestStack::new("fanout").await;
    let ctx = &stack.ctx;
    let tenant = &stack.create_tenant("Fan-out").await;
    let endpoints = ctx.endpoints();
    for i in 0..100 {
        let input = json!({"name": format!("e{i}"), "url": format!("http://127.0.0.1:9/{i}"), "events": ["*"]});
        endpoints
            .create(tenant, Fields::new(input.as_object().unwrap().clone()))
            .await
            .unwrap();
    }
    let calls = AwsCallCounter::default();
    let sqs = counted_clients(&stack.clients, &calls).sqs;
    let queue = Arc::new(SqsJobQueue::new(sqs, &stack.stack.queue_url, None));
    let events = EventService::new(
        ctx.table.clone(),
        queue,
        endpoints,
        ctx.config.log_retention,
    );
    let published = events
        .publish(tenant, "contact.created", json!({}), None, "api")
        .await
        .unwrap();
    assert_eq!(published.deliveries, 100);
    let batches = calls.sqs_batches();
    assert_eq!(
        batches.iter().map(Vec::len).collect::<Vec<_>>(),
        [10; 10],
        "SendMessageBatch calls of ten"
    );

    let depth = stack
        .clients
        .sqs
        .get_queue_attributes()
        .queue_url(&stack.stack.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    let n: usize = depth.attributes().unwrap()
        [&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages]
        .parse()
        .unwrap();
    assert_eq!(n, 100);
}

/// The subscription lookup and the event's write go at once; these are the ways one of them
/// fails while the other succeeds.
#[tokio::test]
async fn a_publish_half_refused_enqueues_nothing_and_leaves_no_event() {
    let stack = TestStack::new("half-publish").await;
    let tenant = &stack.create_tenant("Half").await;
    stack
        .create_endpoint(
            tenant,
            json!({"name": "all", "url": "https://hooks.example.com/in", "events": ["*"]}),
        )
        .await;
    let calls = AwsCallCounter::default();
    let ctx = stack.counted_context(&calls);
    let stored_events = || async {
        let listed = stack
            .ctx
            .events()
            .list(tenant, &Default::default(), None, None)
            .await;
        listed.unwrap().0.len()
    };

    // PutItem down: the event cannot be stored, so no job may go out for it. GetItem down:
    // the targets cannot be read, and the event stored meanwhile is taken back.
    for down in ["PutItem", "GetItem"] {
        calls.refuse(&[down]);
        let refused = ctx
            .events()
            .publish(
                tenant,
                "contact.created",
                json!({"down": down}),
                None,
                "api",
            )
            .await;
        assert!(refused.is_err(), "{down}: {refused:?}");
        assert_eq!(calls.take().get(down), Some(&1), "{down} was tried");
        assert_eq!(stack.queue_depth(&stack.stack.queue_url).await, 0, "{down}");
        assert_eq!(stored_events().await, 0, "{down}");
    }

    // Once everything answers, the same publish goes through whole.
    calls.refuse(&[]);
    let published = ctx
        .events()
        .publish(tenant, "contact.created", json!({"n": 3}), None, "api")
        .await
        .unwrap();
    assert_eq!(published.deliveries, 1);
    assert_eq!(stack.queue_depth(&stack.stack.queue_url).await, 1);
    assert_eq!(stored_events().await, 1);
}
