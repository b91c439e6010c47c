use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::{FutureExt, StreamExt};

use super::{Job, JobHandler, JobQueue, Outcome, TenantDirectory, MAX_SQS_DELAY};

/// Handlers by job kind.
#[derive(Default, Clone)]
pub struct JobRouter {
    handlers: HashMap<String, Arc<dyn JobHandler>>,
}

impl JobRouter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn route(mut self, kind: impl Into<String>, handler: Arc<dyn JobHandler>) -> Self {
        self.handlers.insert(kind.into(), handler);
        self
    }

    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.handlers.keys().map(String::as_str)
    }
}

/// What to tell SQS about one message.
#[derive(Debug, PartialEq, Eq)]
enum Ack {
    /// Delete it: done, given up, or a follow-up message carries it on.
    Delete,
    /// Leave it: SQS redelivers it after its visibility timeout.
    Keep(String),
}

/// Runs one SQS batch: every message concurrently (bounded), then reports the ones to keep
/// as `batchItemFailures`. The same code runs in Lambda and in the local runner's poller.
pub struct BatchProcessor {
    router: JobRouter,
    queue: Arc<dyn JobQueue>,
    tenants: Option<Arc<dyn TenantDirectory>>,
    concurrency: usize,
}

impl BatchProcessor {
    pub fn new(router: JobRouter, queue: Arc<dyn JobQueue>) -> Self {
        Self {
            router,
            queue,
            tenants: None,
            concurrency: 10,
        }
    }

    /// Lets the processor tell a missing record of a real tenant (given up) from a job for a
    /// tenant that does not exist (dead-lettered).
    pub fn with_tenants(mut self, tenants: Arc<dyn TenantDirectory>) -> Self {
        self.tenants = Some(tenants);
        self
    }

    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    pub async fn process(&self, event: SqsEvent) -> SqsBatchResponse {
        let results: Vec<(String, Ack)> = futures::stream::iter(event.records)
            .map(|message| async move {
                let id = message.message_id.clone().unwrap_or_default();
                let ack = self.process_one(message).await;
                (id, ack)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;

        let mut response = SqsBatchResponse::default();
        for (id, ack) in results {
            if let Ack::Keep(reason) = ack {
                tracing::warn!(message_id = %id, %reason, "job left on the queue for redelivery");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
        response
    }

    async fn process_one(&self, message: SqsMessage) -> Ack {
        let body = message.body.unwrap_or_default();
        let job = match Job::from_body(&body) {
            Ok(job) => job,
            Err(reason) => return self.poison(&body, &reason).await,
        };
        let Some(handler) = self.router.handlers.get(&job.kind) else {
            return self
                .poison(&body, &format!("no handler for job kind {:?}", job.kind))
                .await;
        };

        let now = chrono::Utc::now().timestamp_millis();
        if let Some(due) = job.not_before.filter(|due| *due > now) {
            // Not due yet: SQS delays at most 15 minutes, so long waits take several hops.
            let wait = Duration::from_millis((due - now) as u64);
            return self.requeue(&job, wait).await;
        }

        let handled = AssertUnwindSafe(handler.handle(&job)).catch_unwind().await;
        match handled {
            Ok(Ok(Outcome::Done)) => Ack::Delete,
            Ok(Ok(Outcome::GiveUp(reason))) => {
                tracing::info!(job_id = %job.id, kind = %job.kind, %reason, "job given up");
                Ack::Delete
            }
            Ok(Ok(Outcome::Missing(reason))) => match self.tenant_exists(&job.tenant_id).await {
                Ok(true) => {
                    tracing::info!(job_id = %job.id, kind = %job.kind, %reason, "job given up");
                    Ack::Delete
                }
                Ok(false) => {
                    let reason = format!("unknown tenant {:?}: {reason}", job.tenant_id);
                    self.poison(&body, &reason).await
                }
                Err(e) => Ack::Keep(format!("job {}: tenant check failed: {e}", job.id)),
            },
            Ok(Ok(Outcome::Poison(reason))) => self.poison(&body, &reason).await,
            Ok(Ok(Outcome::RetryAfter(after))) => {
                let next = job.retry(after, now);
                self.requeue(&next, after).await
            }
            Ok(Err(e)) => Ack::Keep(format!("job {} failed: {e}", job.id)),
            Err(_) => Ack::Keep(format!("job {} panicked", job.id)),
        }
    }

    async fn tenant_exists(&self, tenant_id: &str) -> Result<bool, super::JobError> {
        match &self.tenants {
            Some(tenants) => tenants.exists(tenant_id).await,
            None => Ok(true),
        }
    }

    async fn requeue(&self, job: &Job, wait: Duration) -> Ack {
        match self
            .queue
            .enqueue(std::slice::from_ref(job), wait.min(MAX_SQS_DELAY))
            .await
        {
            Ok(()) => Ack::Delete,
            Err(e) => Ack::Keep(format!("could not schedule job {}: {e}", job.id)),
        }
    }

    async fn poison(&self, body: &str, reason: &str) -> Ack {
        tracing::error!(%reason, "poison message sent to the dead-letter queue");
        let body = if body.is_empty() {
            "(empty body)"
        } else {
            body
        };
        match self.queue.dead_letter(body, reason).await {
            Ok(()) => Ack::Delete,
            // Without a DLQ to send to, the redrive policy moves it after maxReceiveCount.
            Err(e) => Ack::Keep(format!("{reason}; dead-letter send failed: {e}")),
        }
    }
}
