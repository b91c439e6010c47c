//! `GET /api/openapi.json`: the OpenAPI 3.1 document. The schemas of typed request and
//! response bodies are generated from the types themselves (utoipa); the paths and the other
//! schemas are still written in `openapi.json`, which the migration to typed bodies empties.
//! A schema lives in one place only, and the tests check the whole document against the
//! router and the catalog.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use hookhub_shared::meta::graph_health::ChannelCheck;
use hookhub_shared::meta::samples::SampleParams;
use hookhub_shared::meta::subscriptions::{MetaSubscription, SubscriptionRequest};
use hookhub_shared::meta::test_suites::TestSuite;
use hookhub_shared::quotas::{QuotaChanges, QuotaOverrides, Quotas};
use hookhub_shared::tenants::TenantView;
use serde_json::{Map, Value};
use utoipa::OpenApi;

/// The paths and the schemas not yet generated from types.
const WRITTEN: &str = include_str!("../openapi.json");

/// The bodies whose schemas come from their types.
#[derive(OpenApi)]
#[openapi(components(schemas(
    MetaSubscription,
    SubscriptionRequest,
    ChannelCheck,
    SampleParams,
    TestSuite,
    TenantView,
    Quotas,
    QuotaOverrides,
    QuotaChanges
)))]
struct Typed;

/// The schemas generated from types, by component name.
pub fn typed_schemas() -> Map<String, Value> {
    let generated = serde_json::to_value(Typed::openapi()).expect("a document serialises");
    generated["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default()
}

/// The whole document: the written one with the generated schemas added.
pub fn document_value() -> Value {
    let mut document: Value = serde_json::from_str(WRITTEN).expect("openapi.json is JSON");
    let schemas = document["components"]["schemas"]
        .as_object_mut()
        .expect("openapi.json has components.schemas");
    schemas.extend(typed_schemas());
    document
}

/// Built at the first request for it, not at every cold start.
static SERVED: LazyLock<String> = LazyLock::new(|| document_value().to_string());

pub async fn document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        SERVED.as_str(),
    )
}
