//! The `sam local invoke -e` SQS fixture, run through the worker's batch processor.

use aws_lambda_events::event::sqs::SqsEvent;
use hookhub_test_support::TestStack;

#[tokio::test]
async fn fixture_batch_unroutable_jobs_are_dead_lettered_not_retried() {
    let stack = TestStack::new("fx-worker").await;
    let event: SqsEvent =
        serde_json::from_str(include_str!("../../events/sqs-batch.json")).unwrap();
    assert_eq!(event.records.len(), 2);
    let response = delivery_worker::processor(&stack.ctx).process(event).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "poison goes to the DLQ, not back to the queue"
    );
    let dead = stack
        .clients
        .sqs
        .receive_message()
        .queue_url(&stack.stack.dead_letter_queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let bodies: Vec<&str> = dead.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies.len(), 2);
    assert!(bodies.contains(&"this message is not a job"));
}
