//! `GET /api/health`: no authentication, no secrets; says which components answered.

use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use hookhub_shared::AppContext;
use serde::Serialize;

/// What `GET /api/health` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Health))]
pub struct HealthView {
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::overall))]
    pub status: &'static str,
    pub version: &'static str,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub components: Components,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Components {
    pub dynamodb: Component,
    pub sqs: Component,
}

/// Whether one dependency answered, and how fast; never why not, which is logged.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Component {
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::component))]
    pub status: &'static str,
    pub latency_ms: u64,
}

impl Component {
    fn of<E: std::fmt::Display>(result: Result<(), E>, started: Instant) -> Self {
        let latency_ms = started.elapsed().as_millis() as u64;
        let status = match result {
            Ok(()) => "ok",
            Err(e) => {
                tracing::warn!(error = %e, "health check failed");
                "unavailable"
            }
        };
        Self { status, latency_ms }
    }
}

#[cfg(feature = "openapi")]
mod openapi {
    use utoipa::openapi::schema::{ObjectBuilder, Type};

    pub fn overall() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["ok", "degraded"]))
    }

    pub fn component() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["ok", "unavailable"]))
    }
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/health", operation_id = "getHealth",
    tag = "meta",
    summary = "Reachability of DynamoDB and SQS; no authentication, no secrets",
    security(()),
    responses(
        (status = 200, description = "Every component answered", body = crate::health::HealthView),
        (status = 503, description = "A component did not answer", body = crate::health::HealthView),
    ),
))]
pub async fn health(State(ctx): State<AppContext>) -> (StatusCode, Json<HealthView>) {
    let (dynamodb, sqs) = tokio::join!(
        async {
            let started = Instant::now();
            Component::of(ctx.table.ping().await, started)
        },
        async {
            let started = Instant::now();
            Component::of(ctx.queue.ping().await, started)
        },
    );
    let healthy = dynamodb.status == "ok" && sqs.status == "ok";
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(HealthView {
            status: if healthy { "ok" } else { "degraded" },
            version: hookhub_shared::VERSION,
            components: Components { dynamodb, sqs },
        }),
    )
}
