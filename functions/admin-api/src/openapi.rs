//! `GET /api/openapi.json`: the OpenAPI 3.1 document, generated from the code and committed
//! as `openapi.json`, which the function serves as it is (no generator code in the Lambda
//! binary, nothing built at a cold start), embedded gzipped and sent so when the client
//! takes gzip.
//!
//! With the `openapi` feature, [`generate`] makes the document: the schemas of typed
//! request and response bodies from the types themselves (utoipa), the rest from
//! `openapi/written.json`, which shrinks as bodies become typed. `hookhub-local openapi`
//! prints it; a test holds the committed file to it.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

/// `openapi.json`, gzipped by `build.rs`.
const DOCUMENT_GZIP: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/openapi.json.gz"));

pub async fn document(headers: HeaderMap) -> Response {
    let gzip = crate::console::accepts_gzip(&headers);
    let mut response = if gzip {
        DOCUMENT_GZIP.into_response()
    } else {
        crate::console::gunzip(DOCUMENT_GZIP).into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

#[cfg(feature = "openapi")]
pub mod generate {
    use hookhub_shared::erasure::ErasureView;
    use hookhub_shared::meta::graph_health::ChannelCheck;
    use hookhub_shared::meta::samples::SampleParams;
    use hookhub_shared::meta::subscriptions::{MetaSubscription, SubscriptionRequest};
    use hookhub_shared::meta::test_suites::TestSuite;
    use hookhub_shared::page::Page;
    use hookhub_shared::quotas::{QuotaChanges, QuotaOverrides, Quotas};
    use hookhub_shared::tenants::TenantView;
    use hookhub_shared::webhooks::analytics::EndpointAnalytics;
    use hookhub_shared::webhooks::catalog::openapi::EventPattern;
    use hookhub_shared::webhooks::catalog::{CatalogView, EventType};
    use hookhub_shared::webhooks::endpoint::{
        EndpointDetailView, EndpointStatsView, EndpointView, EndpointWithSecretView,
    };
    use hookhub_shared::webhooks::events::Published;
    use hookhub_shared::webhooks::history::{
        AttemptDetailView, EventDetailView, EventView, Recovery, Redelivery,
    };
    use hookhub_shared::webhooks::logs::{
        AttemptHead, AttemptView, RecentCalls, StatsView, WorkflowCallView,
    };
    use serde_json::{Map, Value};
    use utoipa::OpenApi;

    /// The paths and the schemas not yet generated from types.
    pub const WRITTEN: &str = include_str!("../openapi/written.json");

    // The listings, each named for what it lists (the component macro takes paths, not
    // generic types).
    type EndpointPage = Page<EndpointView>;
    type AttemptPage = Page<AttemptView>;
    type EventPage = Page<EventView>;
    type WorkflowCallPage = Page<WorkflowCallView>;

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
        QuotaChanges,
        ErasureView,
        EventType,
        EventPattern,
        CatalogView,
        EndpointView,
        EndpointPage,
        EndpointWithSecretView,
        EndpointDetailView,
        StatsView,
        EndpointStatsView,
        EndpointAnalytics,
        AttemptHead,
        AttemptView,
        AttemptPage,
        AttemptDetailView,
        Redelivery,
        Recovery,
        EventView,
        EventPage,
        EventDetailView,
        Published,
        WorkflowCallView,
        WorkflowCallPage,
        RecentCalls
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

    /// The whole document: the written part with the generated schemas added.
    pub fn document() -> Value {
        let mut document: Value = serde_json::from_str(WRITTEN).expect("written.json is JSON");
        let schemas = document["components"]["schemas"]
            .as_object_mut()
            .expect("written.json has components.schemas");
        schemas.extend(typed_schemas());
        document
    }

    /// The document as committed: two-space indented, with a final newline.
    pub fn document_text() -> String {
        let mut text = serde_json::to_string_pretty(&document()).expect("a document serialises");
        text.push('\n');
        text
    }
}
