//! The admin API: every `/api` route. The same router serves Lambda (through
//! `lambda_http::run`) and the local runner.

mod error;
mod health;
mod openapi;

pub use error::ApiError;

use axum::routing::get;
use axum::Router;
use hookhub_shared::AppContext;
use tower_http::limit::RequestBodyLimitLayer;

/// Largest JSON body the admin API accepts.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub fn router(ctx: AppContext) -> Router {
    Router::new()
        .route("/api/health", get(health::health))
        .route("/api/openapi.json", get(openapi::document))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(ctx)
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(
            hookhub_shared::http::json_payload_too_large,
        ))
        .layer(axum::middleware::from_fn(hookhub_shared::http::request_id))
}
