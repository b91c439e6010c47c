use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use hookhub_shared::aws::describe_error;
use hookhub_shared::jobs::BatchProcessor;
use tokio::sync::watch;

/// What one poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollStats {
    pub received: usize,
    pub deleted: usize,
    pub failed: usize,
}

/// Long-polls the delivery queue like Lambda's SQS event source mapping.
pub struct QueuePoller {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    processor: Arc<BatchProcessor>,
    wait: Duration,
}

impl QueuePoller {
    pub fn new(
        sqs: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
        processor: Arc<BatchProcessor>,
    ) -> Self {
        Self {
            sqs,
            queue_url: queue_url.into(),
            processor,
            wait: Duration::from_secs(2),
        }
    }

    /// How long one receive waits for messages (SQS long polling, at most 20 s).
    pub fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = wait.min(Duration::from_secs(20));
        self
    }

    /// One receive, one batch through the processor, one delete of the succeeded messages.
    pub async fn poll_once(&self) -> Result<PollStats, String> {
        let received = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(self.wait.as_secs() as i32)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| describe_error(&e))?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(PollStats::default());
        }

        let receipts: Vec<(String, String)> = messages
            .iter()
            .filter_map(|m| Some((m.message_id.clone()?, m.receipt_handle.clone()?)))
            .collect();
        let mut event = SqsEvent::default();
        event.records = messages
            .into_iter()
            .map(|m| to_lambda_record(m, &self.queue_url))
            .collect();
        let response = self.processor.process(event).await;
        let failed: HashSet<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();

        let to_delete: Vec<DeleteMessageBatchRequestEntry> = receipts
            .iter()
            .filter(|(id, _)| !failed.contains(id))
            .enumerate()
            .map(|(i, (_, receipt))| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(receipt)
                    .build()
                    .expect("id and receipt are set")
            })
            .collect();
        let deleted = to_delete.len();
        if !to_delete.is_empty() {
            self.sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(to_delete))
                .send()
                .await
                .map_err(|e| describe_error(&e))?;
        }
        Ok(PollStats {
            received: receipts.len(),
            deleted,
            failed: failed.len(),
        })
    }

    /// Polls until `shutdown` turns true; an unreachable queue is retried after a pause.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            tokio::select! {
                result = self.poll_once() => match result {
                    Ok(stats) if stats.received > 0 => {
                        tracing::info!(received = stats.received, deleted = stats.deleted, failed = stats.failed, "batch processed");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "queue poll failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                },
                _ = shutdown.changed() => break,
            }
        }
    }
}

/// The record the SQS event source mapping would hand to Lambda for this message.
fn to_lambda_record(message: Message, queue_url: &str) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.attributes = message
        .attributes
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.as_str().to_string(), v))
        .collect();
    record.message_id = message.message_id;
    record.receipt_handle = message.receipt_handle;
    record.body = message.body;
    record.md5_of_body = message.md5_of_body;
    record.event_source = Some("aws:sqs".into());
    record.event_source_arn = Some(queue_url.to_string());
    record.aws_region = Some("us-east-1".into());
    record
}
