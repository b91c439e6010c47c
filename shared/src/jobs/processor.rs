use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
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

/// A message settled before any handler runs.
enum Early {
    /// Undecodable, or of a kind nobody handles: to the dead-letter queue.
    Poison(String, String),
    /// Due later than SQS can delay: sent round again.
    NotDue(Job, Duration),
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
        // Decode every message first, so that the due jobs of one kind reach their handler
        // together and can share work (one endpoint read, one log write for the batch).
        let mut early: Vec<(String, Early)> = Vec::new();
        let mut due: HashMap<String, Vec<(String, String, Job)>> = HashMap::new();
        let now = chrono::Utc::now().timestamp_millis();
        for message in event.records {
            let id = message.message_id.clone().unwrap_or_default();
            let body = message.body.unwrap_or_default();
            let job = match Job::from_body(&body) {
                Ok(job) => job,
                Err(reason) => {
                    early.push((id, Early::Poison(body, reason)));
                    continue;
                }
            };
            if !self.router.handlers.contains_key(&job.kind) {
                let reason = format!("no handler for job kind {:?}", job.kind);
                early.push((id, Early::Poison(body, reason)));
            } else if let Some(due_at) = job.not_before.filter(|due_at| *due_at > now) {
                // Not due yet: SQS delays at most 15 minutes, so long waits take several hops.
                let wait = Duration::from_millis((due_at - now) as u64);
                early.push((id, Early::NotDue(job, wait)));
            } else {
                due.entry(job.kind.clone())
                    .or_default()
                    .push((id, body, job));
            }
        }

        let settle_early = futures::stream::iter(early)
            .map(|(id, step)| async move {
                let ack = match step {
                    Early::Poison(body, reason) => self.poison(&body, &reason).await,
                    Early::NotDue(job, wait) => self.requeue(&job, wait).await,
                };
                (id, ack)
            })
            .buffer_unordered(self.concurrency)
            .collect::<Vec<_>>();
        let run_due =
            futures::future::join_all(due.into_values().map(|group| self.run_group(group)));
        let (mut results, groups) = futures::join!(settle_early, run_due);
        results.extend(groups.into_iter().flatten());

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

    /// The due jobs of one kind: handled together, then each outcome settled.
    async fn run_group(&self, group: Vec<(String, String, Job)>) -> Vec<(String, Ack)> {
        let Some(handler) = group
            .first()
            .and_then(|(_, _, job)| self.router.handlers.get(&job.kind))
        else {
            return Vec::new();
        };
        let jobs: Vec<Job> = group.iter().map(|(_, _, job)| job.clone()).collect();
        let handled = AssertUnwindSafe(handler.handle_batch(&jobs, self.concurrency))
            .catch_unwind()
            .await
            .unwrap_or_else(|_| {
                jobs.iter()
                    .map(|job| Err(super::JobError::new(format!("job {} panicked", job.id))))
                    .collect()
            });
        let now = chrono::Utc::now().timestamp_millis();
        futures::stream::iter(group.into_iter().zip(handled))
            .map(|((id, body, job), outcome)| async move {
                (id, self.settle(&body, &job, outcome, now).await)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await
    }

    async fn settle(
        &self,
        body: &str,
        job: &Job,
        handled: Result<Outcome, super::JobError>,
        now: i64,
    ) -> Ack {
        match handled {
            Ok(Outcome::Done) => Ack::Delete,
            Ok(Outcome::GiveUp(reason)) => {
                tracing::info!(job_id = %job.id, kind = %job.kind, %reason, "job given up");
                Ack::Delete
            }
            Ok(Outcome::Missing(reason)) => match self.tenant_exists(&job.tenant_id).await {
                Ok(true) => {
                    tracing::info!(job_id = %job.id, kind = %job.kind, %reason, "job given up");
                    Ack::Delete
                }
                Ok(false) => {
                    let reason = format!("unknown tenant {:?}: {reason}", job.tenant_id);
                    self.poison(body, &reason).await
                }
                Err(e) => Ack::Keep(format!("job {}: tenant check failed: {e}", job.id)),
            },
            Ok(Outcome::Poison(reason)) => self.poison(body, &reason).await,
            Ok(Outcome::RetryAfter(after)) => {
                let next = job.retry(after, now);
                self.requeue(&next, after).await
            }
            Err(e) => Ack::Keep(format!("job {} failed: {e}", job.id)),
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
