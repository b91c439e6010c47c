//! The local runner: what API Gateway and the SQS event source mapping do in AWS, on one
//! machine. One HTTP port routes `/api/*` to the admin API router and `/webhooks/meta/*` to
//! the Meta ingress router; a poller long-polls the delivery queue and hands batches of up
//! to ten to the worker's batch processor, deleting only the messages it did not report as
//! failed.

mod poller;
pub mod provision;
pub mod runtime_api;

/// Latency figures for the load tools.
pub mod measure {
    use std::time::Duration;

    /// The p-th percentile of sorted latencies (nearest rank).
    pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    pub fn ms(d: Duration) -> String {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    }
}

pub use poller::{PollStats, QueuePoller};

use axum::Router;
use hookhub_shared::AppContext;

/// Both HTTP functions behind one listener, exactly as deployed behind API Gateway.
pub fn app(ctx: AppContext) -> Router {
    admin_api::router(ctx.clone()).merge(meta_ingress::router(ctx))
}

pub const DEFAULT_PORT: u16 = 3000;
pub const DEFAULT_EMULATOR_PORT: u16 = 4566;

/// Starts `count` pollers over the delivery queue, each feeding the worker's batch
/// processor, as several concurrent Lambda invocations would. They stop when `stop` turns
/// true.
pub fn spawn_pollers(
    ctx: &AppContext,
    sqs: &aws_sdk_sqs::Client,
    count: usize,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let processor = std::sync::Arc::new(delivery_worker::processor(ctx));
    let sweep = spawn_sweep_schedule(ctx, stop.clone());
    (0..count.max(1))
        .map(|_| {
            let poller = QueuePoller::new(
                sqs.clone(),
                ctx.config.delivery_queue_url.clone(),
                processor.clone(),
            );
            let stop = stop.clone();
            tokio::spawn(async move { poller.run(stop).await })
        })
        .chain([sweep])
        .collect()
}

/// What the deployed EventBridge schedule does: a `meta.sweep` job on the queue every five
/// minutes.
fn spawn_sweep_schedule(
    ctx: &AppContext,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let queue = ctx.queue.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(300));
        every.tick().await;
        loop {
            tokio::select! {
                _ = every.tick() => {
                    let job = hookhub_shared::jobs::Job::new(
                        hookhub_shared::meta::SWEEP_JOB,
                        "platform",
                        serde_json::json!({}),
                    );
                    if let Err(e) = queue.enqueue(&[job], std::time::Duration::ZERO).await {
                        tracing::warn!(error = %e, "sweep not scheduled");
                    }
                }
                _ = stop.changed() => break,
            }
        }
    })
}

/// `HOOKHUB_POLLERS` or 2: concurrent batches the local worker runs.
pub fn pollers() -> usize {
    env_port("HOOKHUB_POLLERS", 2).into()
}

/// `HOOKHUB_PORT` or 3000.
pub fn port() -> u16 {
    env_port("HOOKHUB_PORT", DEFAULT_PORT)
}

/// `HOOKHUB_EMULATOR_PORT` or 4566.
pub fn emulator_port() -> u16 {
    env_port("HOOKHUB_EMULATOR_PORT", DEFAULT_EMULATOR_PORT)
}

fn env_port(name: &str, default: u16) -> u16 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

pub fn emulator_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL")
        .unwrap_or_else(|_| format!("http://127.0.0.1:{}", emulator_port()))
}
