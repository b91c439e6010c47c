//! The delivery worker: SQS batches of up to ten jobs, run concurrently, with partial batch
//! failures reported. The same processor runs in Lambda and in the local runner's poller.

use hookhub_shared::jobs::{BatchProcessor, JobRouter};
use hookhub_shared::AppContext;

/// Every job kind the worker performs. Later kinds (webhook deliveries, workflow calls,
/// messages) register here; a kind with no handler goes to the dead-letter queue.
pub fn job_router(_ctx: &AppContext) -> JobRouter {
    JobRouter::new()
}

pub fn processor(ctx: &AppContext) -> BatchProcessor {
    BatchProcessor::new(job_router(ctx), ctx.queue.clone())
}
