//! The job pipeline behind the delivery worker: a versioned envelope on the SQS queue, a
//! handler per kind, and a batch processor that reports partial batch failures the way the
//! Lambda SQS event source mapping expects.

mod envelope;
mod processor;
mod queue;

pub use envelope::{Job, JOB_FORMAT_VERSION};
pub use processor::{BatchProcessor, JobRouter};

pub use queue::{
    batch_bodies, enqueue_concurrently, JobQueue, QueueError, SqsJobQueue, MAX_BATCH_BYTES,
    MAX_SQS_DELAY,
};

use async_trait::async_trait;
use futures::{FutureExt, StreamExt};
use std::time::Duration;

/// What became of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Finished; its result is recorded.
    Done,
    /// Try again after this long; the attempt is recorded.
    RetryAfter(Duration),
    /// Will never succeed (a final error, attempts exhausted); the failure is recorded.
    GiveUp(String),
    /// The record the job names is no longer stored (a deleted endpoint or message). Given
    /// up like `GiveUp` when its tenant exists; a job naming a tenant that does not exist was
    /// never valid, and goes to the dead-letter queue.
    Missing(String),
    /// The job cannot be run as written (a payload that does not decode): it goes to the
    /// dead-letter queue with the reason, for someone to look at.
    Poison(String),
}

/// An infrastructure failure while handling a job (the database is unreachable, say): the
/// job's outcome could not be recorded, so the message stays on the queue and SQS redelivers
/// it, until the redrive policy moves it to the dead-letter queue.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JobError(pub String);

impl JobError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

#[async_trait]
pub trait JobHandler: Send + Sync {
    async fn handle(&self, job: &Job) -> Result<Outcome, JobError>;

    /// The due jobs of this kind from one SQS batch, at most `concurrency` at a time; one
    /// result per job, in the jobs' order. Handlers whose jobs share reads and writes (the
    /// same endpoint, the same counters) override it to do that work once per batch.
    async fn handle_batch(
        &self,
        jobs: &[Job],
        concurrency: usize,
    ) -> Vec<Result<Outcome, JobError>> {
        futures::stream::iter(0..jobs.len())
            .map(|i| async move {
                // A panic in one job is that job's failure, not the batch's.
                std::panic::AssertUnwindSafe(self.handle(&jobs[i]))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| Err(JobError::new(format!("job {} panicked", jobs[i].id))))
            })
            .buffered(concurrency.max(1))
            .collect()
            .await
    }
}

/// Whether a tenant exists: asked only when a job's subject is missing.
#[async_trait]
pub trait TenantDirectory: Send + Sync {
    async fn exists(&self, tenant_id: &str) -> Result<bool, JobError>;
}
