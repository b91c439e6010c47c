//! The admin API: every `/api` route, and the web console under `/console/`. The same router
//! serves Lambda (through `lambda_http::run`) and the local runner.

pub mod auth;
mod console;
mod error;
mod health;
pub mod input;
pub mod openapi;
mod queries;
mod query_rules;
mod routes;

pub use error::ApiError;

use axum::routing::{on, MethodFilter};
use axum::Router;
use hookhub_shared::AppContext;
use tower_http::limit::RequestBodyLimitLayer;

/// Largest JSON body the admin API accepts.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Declares every route once: the router is built from this list, and the OpenAPI test
/// compares the document with it, so neither can gain a route the other lacks.
macro_rules! api_routes {
    ($( $method:ident $path:literal => $handler:path ),* $(,)?) => {
        /// Every (method, path) the admin API serves.
        pub const ROUTES: &[(&str, &str)] = &[ $( (stringify!($method), $path) ),* ];

        fn with_routes(router: Router<AppContext>) -> Router<AppContext> {
            router $( .route($path, on(MethodFilter::$method, $handler)) )*
        }
    };
}

api_routes! {
    GET "/api/health" => health::health,
    GET "/api/openapi.json" => openapi::document,
    POST "/api/auth/login" => routes::sign_in::login,
    POST "/api/auth/challenge" => routes::sign_in::challenge,
    POST "/api/auth/refresh" => routes::sign_in::refresh,
    POST "/api/auth/logout" => routes::sign_in::logout,
    GET "/api/auth/me" => routes::sign_in::me,
    POST "/api/auth/forgot-password" => routes::sign_in::forgot_password,
    POST "/api/auth/confirm-forgot-password" => routes::sign_in::confirm_forgot_password,
    GET "/api/platform/users" => routes::people::list_platform,
    POST "/api/platform/users" => routes::people::invite_platform,
    POST "/api/platform/users/{userId}/disable" => routes::people::disable_platform,
    POST "/api/platform/users/{userId}/enable" => routes::people::enable_platform,
    DELETE "/api/platform/users/{userId}" => routes::people::remove_platform,
    GET "/api/platform/audit" => routes::people::platform_audit,
    POST "/api/platform/tenants" => routes::platform::create_tenant,
    GET "/api/platform/tenants" => routes::platform::list_tenants,
    GET "/api/platform/tenants/{tenantId}" => routes::platform::get_tenant,
    PATCH "/api/platform/tenants/{tenantId}" => routes::platform::update_tenant,
    DELETE "/api/platform/tenants/{tenantId}" => routes::platform::delete_tenant,
    GET "/api/platform/tenants/{tenantId}/integrations" => routes::platform::get_integrations,
    PUT "/api/platform/tenants/{tenantId}/integrations/{kind}" => routes::platform::put_integration,
    POST "/api/platform/tenants/{tenantId}/integrations/{kind}/test" => routes::messages::test_integration,
    GET "/api/platform/tenants/{tenantId}/audit" => routes::platform::list_audit,
    GET "/api/platform/tenants/{tenantId}/users" => routes::people::list_tenant,
    POST "/api/platform/tenants/{tenantId}/users" => routes::people::invite_tenant,
    POST "/api/platform/tenants/{tenantId}/users/{userId}/disable" => routes::people::disable_tenant,
    POST "/api/platform/tenants/{tenantId}/users/{userId}/enable" => routes::people::enable_tenant,
    DELETE "/api/platform/tenants/{tenantId}/users/{userId}" => routes::people::remove_tenant,
    GET "/api/platform/tenants/{tenantId}/webhooks" => routes::workflows::list,
    POST "/api/platform/tenants/{tenantId}/webhooks" => routes::workflows::create,
    PUT "/api/platform/tenants/{tenantId}/webhooks/{webhookId}" => routes::workflows::update,
    DELETE "/api/platform/tenants/{tenantId}/webhooks/{webhookId}" => routes::workflows::delete,
    POST "/api/platform/tenants/{tenantId}/webhooks/{webhookId}/call" => routes::workflows::call,
    POST "/api/platform/tenants/{tenantId}/webhooks/by-name/{workflowName}/call" => routes::workflows::call_by_name,
    POST "/api/platform/tenants/{tenantId}/webhooks/broadcast" => routes::workflows::broadcast,
    GET "/api/platform/tenants/{tenantId}/webhooks/analytics/summary" => routes::workflows::summary,
    GET "/api/platform/tenants/{tenantId}/webhooks/analytics/recent" => routes::workflows::recent,
    GET "/api/platform/tenants/{tenantId}/webhooks/logs" => routes::workflows::logs,
    GET "/api/platform/tenants/{tenantId}/webhooks/logs/{logId}" => routes::workflows::log_detail,
    GET "/api/platform/tenants/{tenantId}/webhooks/{webhookId}/analytics" => routes::workflows::webhook_analytics,
    GET "/api/v1/users" => routes::people::list_own,
    GET "/api/v1/audit" => routes::audit::list,
    POST "/api/v1/api-keys" => routes::api_keys::create,
    GET "/api/v1/api-keys" => routes::api_keys::list,
    GET "/api/v1/api-keys/{keyId}/usage" => routes::api_keys::usage,
    POST "/api/v1/api-keys/{keyId}/regenerate" => routes::api_keys::regenerate,
    DELETE "/api/v1/api-keys/{keyId}" => routes::api_keys::revoke,
    GET "/api/v1/webhooks/events" => routes::webhooks::catalog,
    POST "/api/v1/webhooks" => routes::webhooks::create,
    GET "/api/v1/webhooks" => routes::webhooks::list,
    GET "/api/v1/webhooks/logs" => routes::webhooks::logs,
    GET "/api/v1/webhooks/analytics" => routes::webhooks::analytics,
    GET "/api/v1/webhooks/logs/{logId}" => routes::webhooks::log_detail,
    POST "/api/v1/webhooks/logs/{logId}/retry" => routes::webhooks::retry_log,
    GET "/api/v1/webhooks/{webhookId}" => routes::webhooks::get,
    PATCH "/api/v1/webhooks/{webhookId}" => routes::webhooks::update,
    DELETE "/api/v1/webhooks/{webhookId}" => routes::webhooks::delete,
    POST "/api/v1/webhooks/{webhookId}/test" => routes::webhooks::test,
    POST "/api/v1/webhooks/{webhookId}/rotate-secret" => routes::webhooks::rotate_secret,
    GET "/api/v1/webhooks/{webhookId}/logs" => routes::webhooks::endpoint_logs,
    GET "/api/v1/webhooks/{webhookId}/stats" => routes::webhooks::stats,
    POST "/api/v1/webhooks/{webhookId}/recover" => routes::webhooks::recover,
    POST "/api/v1/events" => routes::webhooks::publish,
    GET "/api/v1/events" => routes::events::list,
    GET "/api/v1/events/{eventId}" => routes::events::get,
    POST "/api/v1/messages" => routes::messages::send,
    GET "/api/v1/messages" => routes::messages::list,
    GET "/api/v1/messages/{messageId}" => routes::messages::get,
    GET "/api/v1/meta/events" => routes::meta::list_events,
    GET "/api/v1/meta/events/{eventId}" => routes::meta::get_event,
    GET "/api/v1/meta/health" => routes::meta::health,
    POST "/api/v1/meta/health/check" => routes::meta::check_graph,
    GET "/api/v1/meta/monitoring/dashboard" => routes::meta::dashboard,
    GET "/api/v1/meta/subscriptions" => routes::meta::list_subscriptions,
    POST "/api/v1/meta/subscriptions" => routes::meta::subscribe,
    DELETE "/api/v1/meta/subscriptions/{channel}" => routes::meta::unsubscribe,
    POST "/api/v1/meta/events/{eventId}/reprocess" => routes::meta::reprocess_event,
    GET "/api/v1/meta/test-suites" => routes::meta::list_test_suites,
    POST "/api/v1/meta/test-suites" => routes::meta::create_test_suite,
    GET "/api/v1/meta/test-suites/{suiteId}" => routes::meta::get_test_suite,
    POST "/api/v1/meta/test-suites/{suiteId}/execute" => routes::meta::execute_test_suite,
    POST "/api/v1/meta/test-suites/{suiteId}/cases/{caseName}/execute" => routes::meta::execute_test_case,
    GET "/api/v1/contacts" => routes::contacts::list,
    GET "/api/v1/contacts/erasures" => routes::contacts::erasures,
    GET "/api/v1/contacts/erasures/{erasureId}" => routes::contacts::erasure_status,
    GET "/api/v1/contacts/{contactId}" => routes::contacts::get,
    PATCH "/api/v1/contacts/{contactId}" => routes::contacts::update,
    DELETE "/api/v1/contacts/{contactId}" => routes::contacts::delete,
    GET "/api/v1/export/contacts.csv" => routes::contacts::export_csv,
    GET "/api/v1/export/contacts.json" => routes::contacts::export_json,
    GET "/api/v1/export/audit" => routes::contacts::export_audit,
}

pub fn router(ctx: AppContext) -> Router {
    let routes = with_routes(Router::new())
        .route("/console", axum::routing::get(console::page))
        .route("/console/", axum::routing::get(console::page))
        .route(
            "/console/assets/{version}/{*path}",
            axum::routing::get(console::asset),
        )
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(ctx);
    // The layers wrap the routes once: `Router::layer` wraps every route on its own, work
    // each cold start pays per route.
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::from_fn(query_rules::refuse_unknown_query))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(
            hookhub_shared::http::json_payload_too_large,
        ))
        .layer(axum::middleware::from_fn(hookhub_shared::http::request_id))
}
