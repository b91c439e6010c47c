//! The sweep behind store-then-enqueue: events left `received` for longer than processing
//! ever takes (stored by a POST whose enqueue failed and that Meta stopped retrying) are
//! enqueued again. A schedule puts a `meta.sweep` job on the queue every few minutes; the
//! worker runs it like any other job.

use std::time::Duration;

use async_trait::async_trait;

use super::ingest::process_job;
use super::store::MetaEventStore;
use crate::jobs::{enqueue_concurrently, Job, JobError, JobHandler, JobQueue, Outcome};
use crate::tenants::TenantService;

pub const SWEEP_JOB: &str = "meta.sweep";

/// Older than this and still `received`, an event is taken as never enqueued.
pub const STALE_AFTER: Duration = Duration::from_secs(10 * 60);

/// Events re-enqueued per tenant per sweep; the next sweep takes the rest.
const PER_TENANT: u32 = 500;

#[derive(Clone)]
pub struct MetaSweep {
    tenants: TenantService,
    store: MetaEventStore,
    queue: std::sync::Arc<dyn JobQueue>,
    stale_after: Duration,
}

impl MetaSweep {
    pub fn new(
        tenants: TenantService,
        store: MetaEventStore,
        queue: std::sync::Arc<dyn JobQueue>,
    ) -> Self {
        Self {
            tenants,
            store,
            queue,
            stale_after: STALE_AFTER,
        }
    }

    pub fn with_stale_after(mut self, stale_after: Duration) -> Self {
        self.stale_after = stale_after;
        self
    }

    /// Re-enqueues every tenant's stale events; answers how many.
    pub async fn run(&self) -> Result<usize, JobError> {
        let cutoff =
            crate::time::now() - chrono::Duration::from_std(self.stale_after).unwrap_or_default();
        let tenants = self
            .tenants
            .all_ids()
            .await
            .map_err(|e| JobError::new(e.to_string()))?;
        let mut enqueued = 0;
        for (tenant_id, _) in tenants {
            let stale = self
                .store
                .unprocessed_before(&tenant_id, cutoff, PER_TENANT)
                .await
                .map_err(|e| JobError::new(e.to_string()))?;
            let jobs: Vec<Job> = stale
                .iter()
                .map(|e| process_job(&tenant_id, &e.natural_id))
                .collect();
            enqueue_concurrently(self.queue.as_ref(), &jobs)
                .await
                .map_err(|e| JobError::new(e.to_string()))?;
            if !jobs.is_empty() {
                tracing::warn!(%tenant_id, count = jobs.len(), "stale Meta events re-enqueued");
            }
            enqueued += jobs.len();
        }
        Ok(enqueued)
    }
}

#[async_trait]
impl JobHandler for MetaSweep {
    async fn handle(&self, _job: &Job) -> Result<Outcome, JobError> {
        self.run().await.map(|_| Outcome::Done)
    }
}
