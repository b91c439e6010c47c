//! What the worker's tests share: SQS batches shaped as Lambda's event source delivers them.

use aws_lambda_events::event::sqs::SqsEvent;
use hookhub_test_support::TestStack;
use serde_json::json;

/// Takes `count` jobs off the queue (uncounted: in AWS, Lambda's event source does this) and
/// shapes them as the SQS event Lambda would invoke the worker with.
pub async fn batch_of(stack: &TestStack, count: usize) -> SqsEvent {
    let records: Vec<_> = stack
        .receive(count)
        .await
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}
