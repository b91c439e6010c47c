//! `GET /api/health`: no authentication, no secrets; says which components answered.

use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use hookhub_shared::AppContext;
use serde_json::{json, Value};

fn component<E: std::fmt::Display>(result: Result<(), E>, started: Instant) -> Value {
    let latency_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(()) => json!({"status": "ok", "latencyMs": latency_ms}),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            json!({"status": "unavailable", "latencyMs": latency_ms})
        }
    }
}

pub async fn health(State(ctx): State<AppContext>) -> (StatusCode, Json<Value>) {
    let (dynamodb, sqs) = tokio::join!(
        async {
            let started = Instant::now();
            component(ctx.table.ping().await, started)
        },
        async {
            let started = Instant::now();
            component(ctx.queue.ping().await, started)
        },
    );
    let healthy = dynamodb["status"] == "ok" && sqs["status"] == "ok";
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": if healthy { "ok" } else { "degraded" },
            "version": hookhub_shared::VERSION,
            "components": {"dynamodb": dynamodb, "sqs": sqs},
        })),
    )
}
