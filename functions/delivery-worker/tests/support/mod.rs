//! What the worker's tests share: SQS batches shaped as Lambda's event source delivers them.

use aws_lambda_events::event::sqs::SqsEvent;
use hookhub_shared::local_stack::TestStack;
use serde_json::json;

/// Takes `count` jobs off the queue (uncounted: in AWS, Lambda's event source does this) and
/// shapes them as the SQS event Lambda would invoke the worker with.
pub async fn batch_of(stack: &TestStack, count: usize) -> SqsEvent {
    let mut records = Vec::new();
    while records.len() < count {
        let out = stack
            .clients
            .sqs
            .receive_message()
            .queue_url(&stack.stack.queue_url)
            .max_number_of_messages((count - records.len()).min(10) as i32)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            records.push(json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "awsRegion": "us-east-1",
            }));
        }
    }
    serde_json::from_value(json!({ "Records": records })).unwrap()
}
