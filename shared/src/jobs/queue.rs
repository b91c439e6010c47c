use async_trait::async_trait;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use std::time::Duration;

use super::Job;
use crate::aws::describe_error;

/// SQS delays a message by at most 15 minutes.
pub const MAX_SQS_DELAY: Duration = Duration::from_secs(900);
const SQS_BATCH: usize = 10;
/// SQS's limit on one message, and on one batch's messages together: the one every region
/// and every queue honours.
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// The jobs' bodies, in order, grouped into batches SQS accepts: at most ten messages and
/// [`MAX_BATCH_BYTES`] each.
pub fn batch_bodies(jobs: &[Job]) -> Vec<Vec<String>> {
    let mut batches: Vec<Vec<String>> = Vec::new();
    let mut bytes = 0;
    for body in jobs.iter().map(Job::to_body) {
        let fits = batches
            .last()
            .is_some_and(|b| b.len() < SQS_BATCH && bytes + body.len() <= MAX_BATCH_BYTES);
        if !fits {
            batches.push(Vec::new());
            bytes = 0;
        }
        bytes += body.len();
        batches
            .last_mut()
            .expect("a batch was just opened")
            .push(body);
    }
    batches
}

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
    /// Sends every job, delayed by `delay` (capped at 15 minutes), in the batches of
    /// [`batch_bodies`], several in flight at once.
    async fn enqueue(&self, jobs: &[Job], delay: Duration) -> Result<(), QueueError>;
    /// Moves an undecodable or unroutable message straight to the dead-letter queue.
    async fn dead_letter(&self, body: &str, reason: &str) -> Result<(), QueueError>;
    async fn ping(&self) -> Result<(), QueueError>;
}

/// Sends jobs now, several batches in flight at once.
pub async fn enqueue_concurrently(queue: &dyn JobQueue, jobs: &[Job]) -> Result<(), QueueError> {
    queue.enqueue(jobs, Duration::ZERO).await
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
        let sends = batch_bodies(jobs).into_iter().map(|bodies| async move {
            let total = bodies.len();
            let entries = bodies
                .into_iter()
                .enumerate()
                .map(|(i, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
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
            match out.failed().first() {
                None => Ok(()),
                Some(first) => Err(QueueError::Rejected {
                    failed: out.failed().len(),
                    total,
                    reason: first.message().unwrap_or("unknown").to_string(),
                }),
            }
        });
        for sent in futures::future::join_all(sends).await {
            sent?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn job_of(bytes: usize) -> Job {
        Job::new(
            "test",
            "ten_1",
            serde_json::json!({ "pad": "x".repeat(bytes) }),
        )
    }

    #[test]
    fn batches_hold_at_most_ten_messages_and_256_kib() {
        let small: Vec<Job> = (0..23).map(|_| job_of(10)).collect();
        let sizes: Vec<usize> = batch_bodies(&small).iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 3]);

        // 60 KB jobs: four fit under 256 KiB, a fifth would not.
        let large: Vec<Job> = (0..10).map(|_| job_of(60_000)).collect();
        let batches = batch_bodies(&large);
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 2]);
        for batch in &batches {
            assert!(batch.iter().map(String::len).sum::<usize>() <= MAX_BATCH_BYTES);
        }
        let order: Vec<String> = batches.concat();
        assert_eq!(order, large.iter().map(Job::to_body).collect::<Vec<_>>());
        assert!(batch_bodies(&[]).is_empty());
    }
}
