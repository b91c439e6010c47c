//! Meta ingress: `GET|POST /webhooks/meta/{tenantId}`. The same router serves Lambda and the
//! local runner; the body reaches the handler as the raw bytes Meta signed.

mod error;
mod handlers;

pub use error::IngressError;

use axum::routing::get;
use axum::Router;
use hookhub_shared::AppContext;
use tower_http::limit::RequestBodyLimitLayer;

/// Meta sends at most 3 MB; anything larger is 413.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

pub fn router(ctx: AppContext) -> Router {
    Router::new()
        .route(
            "/webhooks/meta/{tenant_id}",
            get(handlers::verify_subscription).post(handlers::receive),
        )
        .with_state(ctx)
        // axum's own 2 MB default would cut Meta's 3 MB below the limit set here.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(
            hookhub_shared::http::json_payload_too_large,
        ))
        .layer(axum::middleware::from_fn(hookhub_shared::http::request_id))
}
