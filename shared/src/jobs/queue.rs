use async_trait::async_trait;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use std::time::Duration;

use super::Job;
use crate::aws::describe_error;

/// SQS delays a message by at most 15 minutes.
pub const MAX_SQS_DELAY: Duration = Duration::from_secs(900);
const SQS_BATCH: usize = 10;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueueError {
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    #[error("{failed} of {total} messages were not accepted: {reason}")]
    Rejected {
        failed: usize,
        total: usize,
        reason: String,
    },
    #[error("no dead-letter queue is configured")]
    NoDeadLetterQueue,
}

/// The port to the delivery queue.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Sends every job, delayed by `delay` (capped at 15 minutes), in batches of ten.
    async fn enqueue(&self, jobs: &[Job], delay: Duration) -> Result<(), QueueError>;
    /// Moves an undecodable or unroutable message straight to the dead-letter queue.
    async fn dead_letter(&self, body: &str, reason: &str) -> Result<(), QueueError>;
    async fn ping(&self) -> Result<(), QueueError>;
}

/// Sends jobs in SQS batches of ten, several batches in flight at once.
pub async fn enqueue_concurrently(queue: &dyn JobQueue, jobs: &[Job]) -> Result<(), QueueError> {
    let batches = jobs
        .chunks(SQS_BATCH)
        .map(|chunk| queue.enqueue(chunk, Duration::ZERO));
    for result in futures::future::join_all(batches).await {
        result?;
    }
    Ok(())
}

#[derive(Clone, Debug)]
pub struct SqsJobQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    dead_letter_url: Option<String>,
}

impl SqsJobQueue {
    pub fn new(
        client: aws_sdk_sqs::Client,
        queue_url: impl Into<String>,
        dead_letter_url: Option<String>,
    ) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            dead_letter_url,
        }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

fn unavailable<E: std::error::Error + 'static>(err: E) -> QueueError {
    QueueError::Unavailable(describe_error(&err))
}

#[async_trait]
impl JobQueue for SqsJobQueue {
    async fn enqueue(&self, jobs: &[Job], delay: Duration) -> Result<(), QueueError> {
        let delay_secs = delay.min(MAX_SQS_DELAY).as_secs_f64().ceil() as i32;
        for chunk in jobs.chunks(SQS_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, job)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(job.to_body())
                        .delay_seconds(delay_secs)
                        .build()
                        .expect("id and body are set")
                })
                .collect::<Vec<_>>();
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(unavailable)?;
            if !out.failed().is_empty() {
                return Err(QueueError::Rejected {
                    failed: out.failed().len(),
                    total: chunk.len(),
                    reason: out.failed()[0].message().unwrap_or("unknown").to_string(),
                });
            }
        }
        Ok(())
    }

    async fn dead_letter(&self, body: &str, reason: &str) -> Result<(), QueueError> {
        let url = self
            .dead_letter_url
            .as_deref()
            .ok_or(QueueError::NoDeadLetterQueue)?;
        let reason: String = reason.chars().take(256).collect();
        self.client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .message_attributes(
                "hookhub-dead-letter-reason",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(reason)
                    .build()
                    .expect("data type is set"),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn ping(&self) -> Result<(), QueueError> {
        self.client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}
