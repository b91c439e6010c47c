//! `GET /api/openapi.json`: the OpenAPI 3.1 document, generated from the code and committed
//! as `openapi.json`, which the function serves as it is (no generator code in the Lambda
//! binary, nothing built at a cold start), embedded gzipped and sent so when the client
//! takes gzip.
//!
//! With the `openapi` feature, [`generate`] makes the document: every schema from the type
//! the handlers parse into or render (utoipa), the head and the paths from
//! `openapi/paths.json`. `hookhub-local openapi` prints it; a test holds the committed file
//! to it.

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
    use hookhub_shared::api_keys::{ApiKeyCreate, ApiKeyView, IssuedKeyView, KeyUsage};
    use hookhub_shared::audit::AuditEntry;
    use hookhub_shared::contacts::{ContactPage, ContactUpdate, ContactView};
    use hookhub_shared::erasure::{ContactErased, ErasureView};
    use hookhub_shared::exports::{ContactExportFile, ExportRecord};
    use hookhub_shared::integrations::openapi::IntegrationSettings;
    use hookhub_shared::integrations::{ConnectionCheck, IntegrationView, Integrations};
    use hookhub_shared::messages::content::openapi::IntegrationTestRequest;
    use hookhub_shared::messages::{IntegrationTestView, MessageView, SendRequest};
    use hookhub_shared::meta::graph::GraphHealth;
    use hookhub_shared::meta::graph_health::ChannelCheck;
    use hookhub_shared::meta::graph_health::GraphCheckList;
    use hookhub_shared::meta::monitoring::{MetaDashboard, MetaHealth};
    use hookhub_shared::meta::samples::SampleParams;
    use hookhub_shared::meta::store::MetaEventView;
    use hookhub_shared::meta::subscriptions::{
        MetaSubscription, SubscriptionList, SubscriptionRequest,
    };
    use hookhub_shared::meta::test_suites::{TestRun, TestSuite};
    use hookhub_shared::page::Page;
    use hookhub_shared::people::sign_in::{
        Me, NewPasswordAnswer, NewPasswordChallenge, RefreshRequest, ResetConfirmation,
        ResetRequest, ResetRequested, SignInAnswer, SignInRequest, SignedInUser, TokensView,
    };
    use hookhub_shared::people::{Invite, PersonView};
    use hookhub_shared::quotas::{QuotaChanges, QuotaOverrides, Quotas};
    use hookhub_shared::tenants::{TenantCreate, TenantUpdate, TenantView};
    use hookhub_shared::webhooks::analytics::EndpointAnalytics;
    use hookhub_shared::webhooks::catalog::openapi::EventPattern;
    use hookhub_shared::webhooks::catalog::{CatalogView, EventType};
    use hookhub_shared::webhooks::delivery::{TestDelivery, TestResult};
    use hookhub_shared::webhooks::endpoint::openapi::{
        EndpointCreate, EndpointUpdate, WorkflowCreate, WorkflowUpdate,
    };
    use hookhub_shared::webhooks::endpoint::{
        DeliveryTargetView, EndpointDetailView, EndpointStatsView, EndpointView,
        EndpointWithSecretView, Rotation, WorkflowView, WorkflowWithSecretView,
    };
    use hookhub_shared::webhooks::events::{PublishRequest, Published};
    use hookhub_shared::webhooks::history::{
        AttemptDetailView, EventDetailView, EventView, Recovery, Redelivery,
    };
    use hookhub_shared::webhooks::logs::{
        AttemptHead, AttemptView, RecentCalls, StatsView, WorkflowCallView,
    };
    use hookhub_shared::webhooks::n8n::N8nHealth;
    use hookhub_shared::webhooks::workflow_analytics::{WorkflowAnalytics, WorkflowSummary};
    use hookhub_shared::webhooks::workflow_calls::{
        Answer, BroadcastAnswered, CallAccepted, WorkflowCallAnswered,
    };
    use serde_json::{Map, Value};
    use utoipa::OpenApi;

    /// The document's head and its paths; the schemas they name are the types'.
    pub const PATHS: &str = include_str!("../openapi/paths.json");

    // The listings, each named for what it lists (the component macro takes paths, not
    // generic types).
    type EndpointPage = Page<EndpointView>;
    type AttemptPage = Page<AttemptView>;
    type EventPage = Page<EventView>;
    type WorkflowCallPage = Page<WorkflowCallView>;
    type ErasurePage = Page<ErasureView>;
    type WorkflowPage = Page<WorkflowView>;
    type MetaEventPage = Page<MetaEventView>;
    type MetaTestSuitePage = Page<TestSuite>;
    type TenantPage = Page<TenantView>;
    type PersonPage = Page<PersonView>;
    type AuditEntryPage = Page<AuditEntry>;
    type ApiKeyPage = Page<ApiKeyView>;
    type MessagePage = Page<MessageView>;
    type ExportRecordPage = Page<ExportRecord>;

    use crate::error::ErrorBody;
    use crate::health::HealthView;

    /// The bodies whose schemas come from their types.
    #[derive(OpenApi)]
    #[openapi(components(schemas(
        MetaSubscription,
        SubscriptionRequest,
        ChannelCheck,
        SampleParams,
        TestSuite,
        TenantView,
        TenantPage,
        TenantCreate,
        TenantUpdate,
        Quotas,
        QuotaOverrides,
        QuotaChanges,
        ErasureView,
        ErrorBody,
        HealthView,
        PublishRequest,
        TestDelivery,
        TestResult,
        Rotation,
        EndpointCreate,
        EndpointUpdate,
        WorkflowCreate,
        WorkflowUpdate,
        MetaEventView,
        MetaEventPage,
        MetaTestSuitePage,
        MetaHealth,
        MetaDashboard,
        GraphCheckList,
        TestRun,
        SubscriptionList,
        WorkflowSummary,
        WorkflowAnalytics,
        Answer,
        CallAccepted,
        WorkflowCallAnswered,
        BroadcastAnswered,
        IntegrationView,
        Integrations,
        IntegrationSettings,
        ConnectionCheck,
        GraphHealth,
        N8nHealth,
        SignInRequest,
        NewPasswordAnswer,
        RefreshRequest,
        ResetRequest,
        ResetConfirmation,
        SignInAnswer,
        TokensView,
        SignedInUser,
        NewPasswordChallenge,
        Me,
        ResetRequested,
        PersonView,
        PersonPage,
        Invite,
        AuditEntry,
        AuditEntryPage,
        ApiKeyView,
        ApiKeyPage,
        IssuedKeyView,
        ApiKeyCreate,
        KeyUsage,
        SendRequest,
        IntegrationTestRequest,
        MessageView,
        MessagePage,
        IntegrationTestView,
        ErasurePage,
        ContactErased,
        ContactView,
        ContactPage,
        ContactUpdate,
        ContactExportFile,
        ExportRecord,
        ExportRecordPage,
        EventType,
        EventPattern,
        CatalogView,
        DeliveryTargetView,
        EndpointView,
        WorkflowView,
        WorkflowPage,
        WorkflowWithSecretView,
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

    /// The whole document: the paths with the schemas generated from the types.
    pub fn document() -> Value {
        let mut document: Value = serde_json::from_str(PATHS).expect("paths.json is JSON");
        document["components"]["schemas"] = Value::Object(typed_schemas());
        document
    }

    /// The document as committed: two-space indented, with a final newline.
    pub fn document_text() -> String {
        let mut text = serde_json::to_string_pretty(&document()).expect("a document serialises");
        text.push('\n');
        text
    }
}
