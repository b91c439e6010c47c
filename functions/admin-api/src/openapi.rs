//! `GET /api/openapi.json`: the OpenAPI 3.1 document, generated from the code and committed
//! as `openapi.json`, which the function serves as it is (no generator code in the Lambda
//! binary, nothing built at a cold start), embedded gzipped and sent so when the client
//! takes gzip.
//!
//! With the `openapi` feature, [`generate`] makes the document with utoipa: every operation
//! from its handler's `utoipa::path` attribute, whose parameters are the typed queries the
//! handler reads (`crate::queries`), and every schema from the type the handlers parse into
//! or render. `hookhub-local openapi` prints it; a test holds the committed file to it.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

/// `openapi.json`, gzipped by `build.rs`.
const DOCUMENT_GZIP: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/openapi.json.gz"));

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/openapi.json", operation_id = "getOpenApi",
    tag = "meta",
    summary = "This document",
    security(()),
    responses(
        (status = 200, description = "The OpenAPI 3.1 document", body = Object),
    ),
))]
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
    use std::collections::BTreeMap;

    use serde_json::Value;
    use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
    use utoipa::openapi::response::{Response, ResponseBuilder};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
    use utoipa::openapi::{Content, Ref, RefOr, Required};
    use utoipa::{IntoParams, IntoResponses, Modify, OpenApi};

    // The listings, each named for what it lists (the component macro takes paths, not
    // generic types).
    pub type EndpointPage = Page<EndpointView>;
    pub type AttemptPage = Page<AttemptView>;
    pub type EventPage = Page<EventView>;
    pub type WorkflowCallPage = Page<WorkflowCallView>;
    pub type ErasurePage = Page<ErasureView>;
    pub type WorkflowPage = Page<WorkflowView>;
    pub type MetaEventPage = Page<MetaEventView>;
    pub type MetaTestSuitePage = Page<TestSuite>;
    pub type TenantPage = Page<TenantView>;
    pub type PersonPage = Page<PersonView>;
    pub type AuditEntryPage = Page<AuditEntry>;
    pub type ApiKeyPage = Page<ApiKeyView>;
    pub type MessagePage = Page<MessageView>;
    pub type ExportRecordPage = Page<ExportRecord>;

    use crate::error::ErrorBody;
    use crate::health::HealthView;

    /// The whole API: its description, every operation (annotated on its handler) and every
    /// schema (derived on its type).
    #[derive(OpenApi)]
    #[openapi(
        info(
            title = "hookhub admin API",
            description = r#"Multi-tenant webhook and messaging integration hub. Errors are {"error": {"code", "message", "details"}}."#,
        ),
        servers((url = "http://127.0.0.1:3000")),
        security(("bearer" = [])),
        modifiers(&BearerScheme),
        paths(
            crate::routes::api_keys::create,
            crate::routes::api_keys::list,
            crate::routes::api_keys::usage,
            crate::routes::api_keys::regenerate,
            crate::routes::api_keys::revoke,
            crate::routes::people::list_platform,
            crate::routes::people::invite_platform,
            crate::routes::people::disable_platform,
            crate::routes::people::enable_platform,
            crate::routes::people::remove_platform,
            crate::routes::people::platform_audit,
            crate::routes::people::list_tenant,
            crate::routes::people::invite_tenant,
            crate::routes::people::disable_tenant,
            crate::routes::people::enable_tenant,
            crate::routes::people::remove_tenant,
            crate::routes::people::list_own,
            crate::health::health,
            crate::routes::platform::create_tenant,
            crate::routes::platform::list_tenants,
            crate::routes::platform::get_tenant,
            crate::routes::platform::update_tenant,
            crate::routes::platform::delete_tenant,
            crate::routes::platform::get_integrations,
            crate::routes::platform::put_integration,
            crate::routes::platform::list_audit,
            crate::routes::webhooks::catalog,
            crate::routes::webhooks::create,
            crate::routes::webhooks::list,
            crate::routes::webhooks::analytics,
            crate::routes::webhooks::retry_log,
            crate::routes::webhooks::update,
            crate::routes::webhooks::delete,
            crate::routes::webhooks::stats,
            crate::routes::workflows::list,
            crate::routes::workflows::create,
            crate::routes::workflows::update,
            crate::routes::workflows::delete,
            crate::routes::meta::get_event,
            crate::routes::meta::health,
            crate::routes::meta::dashboard,
            crate::routes::meta::create_test_suite,
            crate::routes::meta::execute_test_suite,
            crate::routes::contacts::get,
            crate::routes::contacts::update,
            crate::routes::contacts::delete,
            crate::routes::messages::get,
            crate::routes::sign_in::login,
            crate::routes::sign_in::challenge,
            crate::routes::sign_in::refresh,
            crate::routes::sign_in::logout,
            crate::routes::sign_in::me,
            crate::routes::sign_in::forgot_password,
            crate::routes::sign_in::confirm_forgot_password,
            crate::routes::events::get,
            crate::routes::webhooks::log_detail,
            crate::routes::workflows::log_detail,
            crate::routes::contacts::erasure_status,
            crate::routes::meta::get_test_suite,
            crate::routes::meta::execute_test_case,
            crate::routes::meta::reprocess_event,
            crate::routes::meta::list_subscriptions,
            crate::routes::meta::subscribe,
            crate::routes::meta::unsubscribe,
            crate::routes::meta::check_graph,
            crate::routes::webhooks::publish,
            crate::routes::meta::list_test_suites,
            crate::routes::contacts::export_audit,
            crate::routes::messages::send,
            crate::routes::contacts::erasures,
            crate::routes::webhooks::test,
            crate::routes::webhooks::rotate_secret,
            crate::routes::messages::test_integration,
            crate::routes::messages::list,
            crate::routes::webhooks::get,
            crate::routes::webhooks::logs,
            crate::routes::webhooks::endpoint_logs,
            crate::routes::webhooks::recover,
            crate::routes::events::list,
            crate::routes::audit::list,
            crate::routes::meta::list_events,
            crate::routes::workflows::call,
            crate::routes::workflows::call_by_name,
            crate::routes::workflows::broadcast,
            crate::routes::workflows::summary,
            crate::routes::workflows::recent,
            crate::routes::workflows::webhook_analytics,
            crate::routes::workflows::logs,
            crate::routes::contacts::list,
            crate::routes::contacts::export_csv,
            crate::routes::contacts::export_json,
            crate::openapi::document,
        ),
        components(schemas(
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
        ))
    )]
    struct Typed;

    /// The one way in: a bearer token of one of three kinds.
    struct BearerScheme;

    impl Modify for BearerScheme {
        fn modify(&self, document: &mut utoipa::openapi::OpenApi) {
            let mut scheme = Http::new(HttpAuthScheme::Bearer);
            scheme.description = Some(
                "A person's ID token (from /api/auth/login), an HS256 token minted by an embedding platform, or a tenant API key (hk_...)".into(),
            );
            document
                .components
                .get_or_insert_with(Default::default)
                .add_security_scheme("bearer", SecurityScheme::Http(scheme));
        }
    }

    /// The whole document, with the touches utoipa's output needs (optional bodies,
    /// parameters).
    pub fn document() -> Value {
        let mut document = serde_json::to_value(Typed::openapi()).expect("a document serialises");
        optional_bodies(&mut document["paths"]);
        parameters(&mut document["paths"]);
        document
    }

    /// Every operation of the document's paths.
    fn operations(paths: &mut Value) -> impl Iterator<Item = &mut Value> {
        paths
            .as_object_mut()
            .into_iter()
            .flat_map(|p| p.values_mut())
            .filter_map(Value::as_object_mut)
            .flat_map(|item| item.values_mut())
    }

    /// A handler's optional body is annotated `Option<T>`, which utoipa renders as a body
    /// that may be JSON `null`; the API means a body that may be left out (`required:
    /// false`) and is `T` when sent, so say that.
    fn optional_bodies(paths: &mut Value) {
        for operation in operations(paths) {
            let body = &mut operation["requestBody"];
            if !body.is_object() || body.get("required").is_some() {
                continue;
            }
            let schema = &mut body["content"]["application/json"]["schema"];
            if let Some(alternatives) = schema["oneOf"].as_array() {
                let sent: Vec<Value> = alternatives
                    .iter()
                    .filter(|a| a["type"] != "null")
                    .cloned()
                    .collect();
                if let [only] = sent.as_slice() {
                    *schema = only.clone();
                    body["required"] = Value::Bool(false);
                }
            } else if let Some([sent, null]) = schema["type"].as_array().map(Vec::as_slice) {
                if null == "null" {
                    schema["type"] = sent.clone();
                    body["required"] = Value::Bool(false);
                }
            }
        }
    }

    /// Two touches on the query parameters: a parameter whose schema comes from a function
    /// (a closed list of values) carries its description in the schema, which belongs on the
    /// parameter; and each other spelling `ListQuery` reads (`QUERY_ALIASES`) is listed
    /// after the parameter it stands for, deprecated.
    fn parameters(paths: &mut Value) {
        for operation in operations(paths) {
            let Some(parameters) = operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
            else {
                continue;
            };
            for parameter in parameters
                .iter_mut()
                .filter(|p| p.get("description").is_none())
            {
                let moved = parameter["schema"]
                    .as_object_mut()
                    .and_then(|schema| schema.remove("description"));
                if let Some(description) = moved {
                    parameter["description"] = description;
                }
            }
            for (alias, name) in crate::input::QUERY_ALIASES {
                let Some(at) = parameters
                    .iter()
                    .position(|p| p["in"] == "query" && p["name"] == *name)
                else {
                    continue;
                };
                let mut spelling = parameters[at].clone();
                spelling["name"] = Value::from(*alias);
                spelling["deprecated"] = Value::Bool(true);
                spelling["description"] = Value::from(format!("another spelling of {name}"));
                parameters.insert(at + 1, spelling);
            }
        }
    }

    /// What every call only people make may answer (no API key: no key's rate limit).
    pub struct AdminCallErrors;

    /// What every call an API key can make may answer.
    pub struct CallErrors;

    /// What every call an API key can make on a tenant may answer: a platform admin names the
    /// tenant in `X-Tenant-Id`, which may not exist.
    pub struct TenantCallErrors;

    impl IntoResponses for TenantCallErrors {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            let mut responses = CallErrors::responses();
            responses.insert(
                "404".into(),
                error("The tenant (X-Tenant-Id, for platform admins) does not exist"),
            );
            responses
        }
    }

    /// What a call with a JSON body may answer besides.
    pub struct BodyErrors;

    fn error(description: &str) -> RefOr<Response> {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("Error"))),
            )
            .into()
    }

    impl IntoResponses for AdminCallErrors {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            [
                ("400", "Malformed request"),
                ("401", "Missing or invalid credentials"),
                ("403", "Not allowed"),
                ("503", "A dependency is unavailable; retry"),
            ]
            .into_iter()
            .map(|(status, description)| (status.to_string(), error(description)))
            .collect()
        }
    }

    impl IntoResponses for CallErrors {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            let mut responses = AdminCallErrors::responses();
            responses.insert("429".into(), error("Rate limited; see Retry-After"));
            responses
        }
    }

    impl IntoResponses for BodyErrors {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            [
                ("413", "Body too large"),
                ("415", "Body is not application/json"),
            ]
            .into_iter()
            .map(|(status, description)| (status.to_string(), error(description)))
            .collect()
        }
    }

    /// What a call of workflow webhooks may answer besides its outcome.
    pub struct WorkflowCallErrors;

    impl IntoResponses for WorkflowCallErrors {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            let mut responses = AdminCallErrors::responses();
            responses.extend(BodyErrors::responses());
            responses.extend(
                [
                    ("404", "Unknown tenant or workflow webhook"),
                    ("422", "Invalid fields; or the data is above the tenant's maxEventBytes (quota_exceeded)"),
                    ("429", "Rate limited (an API key's rate, or quota_exceeded for the tenant's publishPerMinute); see Retry-After"),
                ]
                .into_iter()
                .map(|(status, description)| (status.to_string(), error(description))),
            );
            responses
        }
    }

    /// `X-Tenant-Id`, by which a platform admin names the tenant to act on.
    pub struct TenantHeader;

    impl IntoParams for TenantHeader {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            vec![ParameterBuilder::new()
                .name("X-Tenant-Id")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .description(Some("platform admins: the tenant to act on"))
                .build()]
        }
    }

    /// `Idempotency-Key`, as `crate::input::idempotency_key` reads it.
    pub struct IdempotencyKey;

    impl IntoParams for IdempotencyKey {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            vec![ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(200)),
                ))
                .description(Some(
                    "Within 24 hours a repeat answers what the first request did (duplicate: true) and does it no second time; a repeat after a failed first attempt finishes its work",
                ))
                .build()]
        }
    }

    /// A listing's `limit` and `cursor`, as `ListQuery` reads them.
    pub struct PageParams;

    impl IntoParams for PageParams {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            let default = hookhub_shared::store::DEFAULT_PAGE_SIZE;
            vec![page_limit(Some(default), None), page_cursor()]
        }
    }

    /// An export's `limit` and `cursor`: as a listing's, but every row up to
    /// `MAX_EXPORT_ROWS` when no limit is given.
    pub struct ExportPageParams;

    impl IntoParams for ExportPageParams {
        fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
            let without = format!(
                "rows in this response; without it, every matching row up to {}",
                crate::queries::MAX_EXPORT_ROWS
            );
            vec![page_limit(None, Some(without)), page_cursor()]
        }
    }

    fn page_limit(default: Option<u32>, description: Option<String>) -> Parameter {
        ParameterBuilder::new()
            .name("limit")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(hookhub_shared::store::MAX_PAGE_SIZE))
                    .default(default.map(Into::into)),
            ))
            .description(description)
            .build()
    }

    fn page_cursor() -> Parameter {
        ParameterBuilder::new()
            .name("cursor")
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .description(Some("opaque cursor from nextCursor"))
            .build()
    }

    /// The document as committed: two-space indented, with a final newline.
    pub fn document_text() -> String {
        let mut text = serde_json::to_string_pretty(&document()).expect("a document serialises");
        text.push('\n');
        text
    }
}
