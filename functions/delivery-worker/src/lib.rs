//! The delivery worker: SQS batches of up to ten jobs, run concurrently, with partial batch
//! failures reported. The same processor runs in Lambda and in the local runner's poller.

use std::sync::Arc;

use hookhub_shared::alerts::ALERT_JOB;
use hookhub_shared::erasure::ERASE_JOB;
use hookhub_shared::jobs::{BatchProcessor, JobRouter};
use hookhub_shared::messages::SEND_JOB;
use hookhub_shared::meta::{GRAPH_HEALTH_JOB, PROCESS_JOB, SWEEP_JOB};
use hookhub_shared::webhooks::delivery::DeliverHandler;
use hookhub_shared::webhooks::DELIVER_JOB;
use hookhub_shared::AppContext;

/// Every job kind the worker performs; a kind with no handler goes to the dead-letter queue.
pub fn job_router(ctx: &AppContext) -> JobRouter {
    JobRouter::new()
        .route(
            DELIVER_JOB,
            Arc::new(DeliverHandler {
                service: ctx.delivery(),
            }),
        )
        .route(PROCESS_JOB, Arc::new(ctx.meta_processor()))
        .route(SWEEP_JOB, Arc::new(ctx.meta_sweep()))
        .route(GRAPH_HEALTH_JOB, Arc::new(ctx.graph_health()))
        .route(SEND_JOB, Arc::new(ctx.message_service()))
        .route(ERASE_JOB, Arc::new(ctx.erasures()))
        .route(ALERT_JOB, Arc::new(ctx.failure_alerts()))
}

pub fn processor(ctx: &AppContext) -> BatchProcessor {
    BatchProcessor::new(job_router(ctx), ctx.queue.clone()).with_tenants(Arc::new(ctx.tenants()))
}
