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
use crate::input::{
    bad_query, page, parse_status, parse_time, JsonObject, ListQuery, OptionalJsonObject,
};
use crate::ApiError;

type ApiResult<T> = Result<T, ApiError>;

pub async fn catalog(
    State(ctx): State<AppContext>,
    caller: Caller,
) -> ApiResult<Json<CatalogView>> {
    caller.tenant(&ctx, "read:webhooks").await?;
    Ok(Json(CatalogView::new()))
}

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

/// How many recent attempts `?include=recentDeliveries` shows.
const RECENT_DELIVERIES: u32 = 50;

pub async fn get(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<EndpointDetailView>> {
    let tenant = caller.tenant(&ctx, "read:webhooks").await?;
    let include_recent = match query.params.get("include").map(String::as_str) {
        None => false,
        Some("recentDeliveries") => true,
        Some(_) => return Err(bad_query("include must be recentDeliveries")),
    };
    let endpoint = ctx.endpoints().get(&tenant, &id).await?;
    let log = ctx.delivery_log();
    let stats = log.stats(&tenant, &id).await?;
    let recent_deliveries = if include_recent {
        let filter = LogFilter {
            scope: LogScope::Endpoint(id),
            ..Default::default()
        };
        let (recent, _) = log
            .list(&tenant, &filter, Some(RECENT_DELIVERIES), None)
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
/// tenant's), with the query's status, eventType, from and to filters.
async fn list_logs(
    ctx: &AppContext,
    tenant: &str,
    endpoint_id: Option<String>,
    query: &ListQuery,
) -> ApiResult<Json<Page<AttemptView>>> {
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
    let filter = LogFilter {
        scope,
        status: parse_status(query.params.get("status"))?,
        event_type: query.params.get("eventType").cloned(),
        from: parse_time("from", query.params.get("from"))?,
        to: parse_time("to", query.params.get("to"))?,
    };
    let (logs, next) = ctx
        .delivery_log()
        .list(tenant, &filter, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(logs.iter().map(|l| l.view()).collect(), next)))
}

pub async fn endpoint_logs(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<Page<AttemptView>>> {
    let tenant = caller.tenant(&ctx, "read:logs").await?;
    list_logs(&ctx, &tenant, Some(id), &query).await
}

pub async fn logs(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<AttemptView>>> {
    let tenant = caller.tenant(&ctx, "read:logs").await?;
    let endpoint_id = query.params.get("webhookId").cloned();
    list_logs(&ctx, &tenant, endpoint_id, &query).await
}

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
pub async fn recover(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    query: ListQuery,
) -> ApiResult<(StatusCode, Json<Recovery>)> {
    let tenant = caller.tenant(&ctx, "write:webhooks").await?;
    let endpoint = ctx.endpoints().get(&tenant, &id).await?;
    let since = parse_time("since", query.params.get("since"))?
        .ok_or_else(|| bad_query("since is required (RFC 3339)"))?;
    let recovery = ctx.history().recover(&tenant, &endpoint.id, since).await?;
    Ok((StatusCode::ACCEPTED, Json(recovery)))
}

/// Analytics over the tenant's endpoints.
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
