//! HTTP pieces both routers share: the error body shape, and middleware every request
//! passes through: a request id with a trace span, and the body
//! size limit's 413 in the API's error shape.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::ids::{new_id, IdKind};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Keeps a caller's sane `x-request-id` (API Gateway's, a client's), or makes one; echoes it
/// in the response and in every log line of the request.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| new_id(IdKind::Request));
    let value = HeaderValue::from_str(&id).expect("checked characters");
    request
        .headers_mut()
        .insert(REQUEST_ID_HEADER, value.clone());
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path());
    let mut response = tracing::Instrument::instrument(next.run(request), span.clone()).await;
    span.in_scope(|| tracing::info!(status = response.status().as_u16(), "request done"));
    response.headers_mut().insert(REQUEST_ID_HEADER, value);
    response
}

/// tower-http answers an oversized body with a bare 413; give it the API's error shape.
pub async fn json_payload_too_large(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE
        && response
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .is_none_or(|v| v != "application/json")
    {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body is too large",
        );
    }
    response
}

/// `{"error": {"code", "message"}}`, the shape of every error the APIs return.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}
