//! `GET /api/openapi.json`: the OpenAPI 3.1 document, kept beside the code and checked
//! against the router by the tests.

use axum::http::header;
use axum::response::IntoResponse;

pub const DOCUMENT: &str = include_str!("../openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
