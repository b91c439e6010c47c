//! `/api/v1/webhooks` and `/api/v1/events`: endpoints, their secrets, logs, stats and
//! recovery, the event catalog, and publishing.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use hookhub_shared::page::Page;
use hookhub_shared::webhooks::analytics::EndpointAnalytics;
use hookhub_shared::webhooks::catalog::CatalogView;
use hookhub_shared::webhooks::delivery::{DeliveryJob, TestDelivery, TestResult};
use hookhub_shared::webhooks::endpoint::{
    EndpointDetailView, EndpointStatsView, EndpointView, EndpointWithSecretView, Rotation,
};
use hookhub_shared::webhooks::events::{PublishRequest, Published};
use hookhub_shared::webhooks::history::{AttemptDetailView, Recovery, Redelivery};
use hookhub_shared::webhooks::logs::{AttemptView, LogFilter, LogScope};
use hookhub_shared::AppContext;

use super::audit;
use crate::auth::Caller;
use crate::input::{page, JsonObject, ListQuery, OptionalJsonObject};
use crate::queries::{EndpointInclude, LogQuery, RecoverySince, WebhookIdQuery};
use crate::ApiError;

// The OpenAPI document's types, named by the handlers' annotations.
#[cfg(feature = "openapi")]
use crate::error::ErrorBody;
#[cfg(feature = "openapi")]
use crate::openapi::generate::{
    AdminCallErrors, AttemptPage, BodyErrors, CallErrors, EndpointPage, IdempotencyKey, PageParams,
    TenantCallErrors, TenantHeader,
};
#[cfg(feature = "openapi")]
use hookhub_shared::webhooks::endpoint::openapi::{EndpointCreate, EndpointUpdate};

type ApiResult<T> = Result<T, ApiError>;

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/webhooks/events", operation_id = "listEventTypes",
    tag = "webhooks",
    summary = "The event-type catalog with a sample payload each",
    params(TenantHeader),
    responses(
        (status = 200, description = "Catalog", body = CatalogView),
        TenantCallErrors,
    ),
))]
pub async fn catalog(
    State(ctx): State<AppContext>,
    caller: Caller,
) -> ApiResult<Json<CatalogView>> {
    caller.tenant(&ctx, "read:webhooks").await?;
    Ok(Json(CatalogView::new()))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/v1/webhooks", operation_id = "createWebhook",
    tag = "webhooks",
    summary = "Register an endpoint; its signing secret is returned once",
    params(TenantHeader),
    request_body = EndpointCreate,
    responses(
        (status = 201, description = "Created", body = EndpointWithSecretView),
        (status = 409, description = "The tenant's subscription index is full, or a concurrent change to the same endpoints won; retry", body = ErrorBody),
        (status = 422, description = "Invalid fields; or the tenant has maxEndpoints endpoints, or retryAttempts is above maxRetryAttempts (quota_exceeded, details [{quota, limit}])", body = ErrorBody),
        TenantCallErrors,
        BodyErrors,
    ),
))]
pub async fn create(
    State(ctx): State<AppContext>,
    caller: Caller,
    JsonObject(input): JsonObject,
) -> ApiResult<(StatusCode, Json<EndpointWithSecretView>)> {
    let tenant = caller.tenant(&ctx, "write:webhooks").await?;
    let fields = input.names();
    let created = ctx.endpoints().create(&tenant, input).await?;
    audit::record(
        &ctx,
        &caller,
        &tenant,
        "endpoint.created",
        &created.endpoint.id,
        fields,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created.view())))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/webhooks", operation_id = "listWebhooks",
    tag = "webhooks",
    summary = "List endpoints, newest first",
    params(TenantHeader, PageParams),
    responses(
        (status = 200, description = "A page", body = EndpointPage),
        TenantCallErrors,
    ),
))]
pub async fn list(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<EndpointView>>> {
    let tenant = caller.tenant(&ctx, "read:webhooks").await?;
    let (endpoints, next) = ctx
        .endpoints()
        .list(&tenant, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(
        endpoints.iter().map(|e| e.view()).collect(),
        next,
    )))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/webhooks/{webhookId}", operation_id = "getWebhook",
    tag = "webhooks",
    summary = "An endpoint with its counters",
    params(TenantHeader, ("webhookId" = String, Path), EndpointInclude),
    responses(
        (status = 200, description = "The endpoint", body = EndpointDetailView),
        (status = 404, description = "Unknown webhook", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn get(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<EndpointDetailView>> {
    let tenant = caller.tenant(&ctx, "read:webhooks").await?;
    let include_recent = EndpointInclude::read(&query)?.include;
    let endpoint = ctx.endpoints().get(&tenant, &id).await?;
    let log = ctx.delivery_log();
    let stats = log.stats(&tenant, &id).await?;
    let recent_deliveries = if include_recent {
        let filter = LogFilter {
            scope: LogScope::Endpoint(id),
            ..Default::default()
        };
        let (recent, _) = log
            .list(&tenant, &filter, Some(EndpointInclude::RECENT_COUNT), None)
            .await?;
        Some(recent.iter().map(|l| l.view()).collect())
    } else {
        None
    };
    Ok(Json(EndpointDetailView {
        endpoint: endpoint.view(),
        stats: stats.view(),
        recent_deliveries,
    }))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    patch, path = "/api/v1/webhooks/{webhookId}", operation_id = "updateWebhook",
    tag = "webhooks",
    summary = "Change an endpoint; re-enabling resets its failure count",
    params(TenantHeader, ("webhookId" = String, Path)),
    request_body = EndpointUpdate,
    responses(
        (status = 200, description = "Updated", body = EndpointView),
        (status = 404, description = "Unknown webhook", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
        (status = 422, description = "Invalid fields; or retryAttempts is above the tenant's maxRetryAttempts (quota_exceeded)", body = ErrorBody),
        CallErrors,
        BodyErrors,
    ),
))]
pub async fn update(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(input): JsonObject,
) -> ApiResult<Json<EndpointView>> {
    let tenant = caller.tenant(&ctx, "write:webhooks").await?;
    let fields = input.names();
    let (endpoint, reenabled) = ctx.endpoints().update(&tenant, &id, input).await?;
    audit::record(&ctx, &caller, &tenant, "endpoint.updated", &id, fields).await?;
    if reenabled {
        ctx.delivery_log().reset_failures(&tenant, &id).await?;
    }
    Ok(Json(endpoint.view()))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    delete, path = "/api/v1/webhooks/{webhookId}", operation_id = "deleteWebhook",
    tag = "webhooks",
    summary = "Delete an endpoint with its logs and counters",
    params(TenantHeader, ("webhookId" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "Unknown webhook", body = ErrorBody),
        (status = 409, description = "The tenant's subscription index is full, or a concurrent change to the same endpoints won; retry", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn delete(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let tenant = caller.tenant(&ctx, "delete:webhooks").await?;
    ctx.endpoints().delete(&tenant, &id).await?;
    audit::record(&ctx, &caller, &tenant, "endpoint.deleted", &id, vec![]).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/v1/webhooks/{webhookId}/rotate-secret", operation_id = "rotateWebhookSecret",
    tag = "webhooks",
    summary = "New signing secret; the old ones keep signing for the grace period",
    params(TenantHeader, ("webhookId" = String, Path)),
    request_body(content = Option<Rotation>),
    responses(
        (status = 200, description = "Rotated; the new secret shown once", body = EndpointWithSecretView),
        (status = 404, description = "Unknown webhook", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        CallErrors,
        BodyErrors,
    ),
))]
pub async fn rotate_secret(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJsonObject(body): OptionalJsonObject,
) -> ApiResult<Json<EndpointWithSecretView>> {
    let tenant = caller.tenant(&ctx, "write:webhooks").await?;
    let rotation = Rotation::read(body)?;
    let rotated = ctx.endpoints().rotate(&tenant, &id, rotation).await?;
    audit::record(
        &ctx,
        &caller,
        &tenant,
        "endpoint.secret_rotated",
        &id,
        vec!["secrets".into()],
    )
    .await?;
    Ok(Json(rotated.view()))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/v1/webhooks/{webhookId}/test", operation_id = "testWebhook",
    tag = "webhooks",
    summary = "Deliver a sample payload now and return the result",
    description = "Sent whatever the endpoint's state, logged and counted, never retried. The send waits at most 20 seconds, or the endpoint's timeoutMs when shorter, so the answer arrives within API Gateway's 30-second limit.",
    params(TenantHeader, ("webhookId" = String, Path)),
    request_body(content = Option<TestDelivery>),
    responses(
        (status = 200, description = "Result", body = TestResult),
        (status = 404, description = "Unknown webhook", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        CallErrors,
        BodyErrors,
    ),
))]
pub async fn test(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    OptionalJsonObject(body): OptionalJsonObject,
) -> ApiResult<Json<TestResult>> {
    let tenant = caller.tenant(&ctx, "write:webhooks").await?;
    let endpoint = ctx.endpoints().get(&tenant, &id).await?;
    let request = TestDelivery::read(body)?;
    Ok(Json(
        ctx.delivery()
            .test(&ctx.events(), &endpoint, request)
            .await?,
    ))
}

async fn endpoint_ids(ctx: &AppContext, tenant: &str) -> ApiResult<Vec<String>> {
    Ok(ctx
        .endpoints()
        .all(tenant)
        .await?
        .into_iter()
        .map(|e| e.id)
        .collect())
}

/// One page of attempts, of one endpoint when `endpoint_id` names one (checked to be the
/// tenant's), filtered.
async fn list_logs(
    ctx: &AppContext,
    tenant: &str,
    endpoint_id: Option<String>,
    query: &ListQuery,
) -> ApiResult<Json<Page<AttemptView>>> {
    let filters = LogQuery::read(query)?;
    let scope = match endpoint_id {
        Some(id) => {
            ctx.endpoints().get(tenant, &id).await?;
            LogScope::Endpoint(id)
        }
        None => LogScope::Merged {
            workflows: false,
            ids: endpoint_ids(ctx, tenant).await?,
        },
    };
    let filter = filters.filter(scope);
    let (logs, next) = ctx
        .delivery_log()
        .list(tenant, &filter, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(logs.iter().map(|l| l.view()).collect(), next)))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/webhooks/{webhookId}/logs", operation_id = "listWebhookLogs",
    tag = "webhooks",
    summary = "Delivery attempts of one endpoint, newest first",
    params(TenantHeader, ("webhookId" = String, Path), LogQuery, PageParams),
    responses(
        (status = 200, description = "A page", body = AttemptPage),
        (status = 404, description = "Unknown webhook", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn endpoint_logs(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<Page<AttemptView>>> {
    let tenant = caller.tenant(&ctx, "read:logs").await?;
    list_logs(&ctx, &tenant, Some(id), &query).await
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/webhooks/logs", operation_id = "listDeliveryLogs",
    tag = "webhooks",
    summary = "Delivery attempts of the tenant, newest first",
    params(TenantHeader, WebhookIdQuery, LogQuery, PageParams),
    responses(
        (status = 200, description = "A page", body = AttemptPage),
        (status = 404, description = "Unknown webhook", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn logs(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<AttemptView>>> {
    let tenant = caller.tenant(&ctx, "read:logs").await?;
    let endpoint_id = WebhookIdQuery::read(&query).webhook_id;
    list_logs(&ctx, &tenant, endpoint_id, &query).await
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/webhooks/{webhookId}/stats", operation_id = "getWebhookStats",
    tag = "webhooks",
    summary = "Counters and the last 24 hours by hour",
    params(TenantHeader, ("webhookId" = String, Path)),
    responses(
        (status = 200, description = "Stats", body = EndpointStatsView),
        (status = 404, description = "Unknown webhook", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn stats(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<EndpointStatsView>> {
    let tenant = caller.tenant(&ctx, "read:webhooks").await?;
    let endpoint = ctx.endpoints().get(&tenant, &id).await?;
    let log = ctx.delivery_log();
    let since = chrono::Utc::now() - chrono::Duration::hours(24);
    let (stats, hours) = log.stats_and_hours(&tenant, &id, since).await?;
    Ok(Json(EndpointStatsView {
        stats: stats.view(),
        webhook_id: endpoint.id,
        is_active: endpoint.is_active,
        disabled_reason: endpoint.disabled_reason,
        last_24_hours: hours,
    }))
}

/// One attempt: the request as sent (headers with their signatures, the body) and the
/// response.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/webhooks/logs/{logId}", operation_id = "getDeliveryLog",
    tag = "webhooks",
    summary = "One delivery attempt: the request as sent (headers, signatures, body) and the response",
    params(TenantHeader, ("logId" = String, Path)),
    responses(
        (status = 200, description = "The attempt", body = AttemptDetailView),
        (status = 404, description = "Unknown log entry", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn log_detail(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(log_id): Path<String>,
) -> ApiResult<Json<AttemptDetailView>> {
    let tenant = caller.tenant(&ctx, "read:logs").await?;
    let ids = endpoint_ids(&ctx, &tenant).await?;
    let detail = ctx.history().attempt(&tenant, &ids, &log_id).await?;
    Ok(Json(detail.view()))
}

/// Re-delivers the event of one logged attempt, as a new delivery.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/v1/webhooks/logs/{logId}/retry", operation_id = "retryDelivery",
    tag = "webhooks",
    summary = "Deliver the logged attempt's event again",
    params(TenantHeader, ("logId" = String, Path)),
    responses(
        (status = 202, description = "Queued", body = Redelivery),
        (status = 404, description = "Unknown log entry, endpoint or expired event", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn retry_log(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(log_id): Path<String>,
) -> ApiResult<(StatusCode, Json<Redelivery>)> {
    let tenant = caller.tenant(&ctx, "write:webhooks").await?;
    let ids = endpoint_ids(&ctx, &tenant).await?;
    let log = ctx.delivery_log().get(&tenant, &ids, &log_id).await?;
    let endpoint = ctx.endpoints().get(&tenant, &log.endpoint_id).await?;
    let event = ctx.events().get(&tenant, &log.event_id).await?;
    let job = DeliveryJob::for_event(&event, &endpoint.id);
    let delivery_id = job.delivery_id.clone();
    ctx.events().enqueue_all(&[job.into_job(&tenant)]).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Redelivery {
            delivery_id,
            event_id: event.id,
            webhook_id: endpoint.id,
        }),
    ))
}

/// Re-delivers every event whose delivery to this endpoint failed for good since `since`.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/v1/webhooks/{webhookId}/recover", operation_id = "recoverWebhook",
    tag = "webhooks",
    summary = "Re-deliver every event whose delivery failed for good since a time",
    params(TenantHeader, ("webhookId" = String, Path), RecoverySince),
    responses(
        (status = 202, description = "Queued", body = Recovery),
        (status = 404, description = "Unknown webhook", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn recover(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    query: ListQuery,
) -> ApiResult<(StatusCode, Json<Recovery>)> {
    let tenant = caller.tenant(&ctx, "write:webhooks").await?;
    let endpoint = ctx.endpoints().get(&tenant, &id).await?;
    let since = RecoverySince::read(&query)?.since;
    let recovery = ctx.history().recover(&tenant, &endpoint.id, since).await?;
    Ok((StatusCode::ACCEPTED, Json(recovery)))
}

/// Analytics over the tenant's endpoints.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/webhooks/analytics", operation_id = "getWebhookAnalytics",
    tag = "webhooks",
    summary = "Delivery analytics over every endpoint",
    params(TenantHeader),
    responses(
        (status = 200, description = "Analytics", body = EndpointAnalytics),
        TenantCallErrors,
    ),
))]
pub async fn analytics(
    State(ctx): State<AppContext>,
    caller: Caller,
) -> ApiResult<Json<EndpointAnalytics>> {
    let tenant = caller.tenant(&ctx, "read:webhooks").await?;
    let endpoints = ctx.endpoints().all(&tenant).await?;
    let log = ctx.delivery_log();
    let stats =
        futures::future::try_join_all(endpoints.iter().map(|e| log.stats(&tenant, &e.id))).await?;
    Ok(Json(EndpointAnalytics::of(endpoints.iter().zip(&stats))))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/v1/events", operation_id = "publishEvent",
    tag = "events",
    summary = "Publish an event to every subscribed active endpoint",
    params(TenantHeader, IdempotencyKey),
    request_body = PublishRequest,
    responses(
        (status = 202, description = "Accepted", body = Published),
        (status = 404, description = "The tenant (X-Tenant-Id, for platform admins) does not exist", body = ErrorBody),
        (status = 409, description = "The Idempotency-Key was used for a different event, or a request with it is still in progress", body = ErrorBody),
        (status = 422, description = "Invalid fields: an unknown type, one hookhub emits itself, or data too large; or the data is above the tenant's maxEventBytes (quota_exceeded, details [{quota, limit}])", body = ErrorBody),
        (status = 429, description = "Rate limited (an API key's rate, or quota_exceeded for the tenant's publishPerMinute); see Retry-After", body = ErrorBody),
        AdminCallErrors,
        BodyErrors,
    ),
))]
pub async fn publish(
    State(ctx): State<AppContext>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(input): JsonObject,
) -> ApiResult<(StatusCode, Json<Published>)> {
    // The tenant is checked in the same read as its subscriptions.
    let (tenant, check) = caller.tenant_checked(&ctx, "write:events").await?;
    let request = PublishRequest::read(input)?;
    let key = crate::input::idempotency_key(&headers)?;
    let published = ctx
        .events()
        .publish_checked(
            &tenant,
            &request.event_type,
            request.data,
            key.as_deref(),
            "api",
            check,
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(published)))
}
