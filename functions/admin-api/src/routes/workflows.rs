//! n8n workflow webhooks, for platform admins: CRUD with a unique, immutable
//! workflow name and a sealed bearer token; calls by id, by name and broadcast, delivered by
//! the same engine as tenant endpoints; and the analytics dashboard's data.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hookhub_shared::webhooks::delivery::DeliveryJob;
use hookhub_shared::webhooks::endpoint::{Endpoint, EndpointKind, EndpointService};
use hookhub_shared::webhooks::logs::{HourCounters, LogFilter, LogScope};
use hookhub_shared::AppContext;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::input::{page, JsonObject, ListQuery, OptionalJsonObject};
use crate::ApiError;

type ApiResult<T> = Result<T, ApiError>;

async fn workflows(
    ctx: &AppContext,
    caller: &Caller,
    tenant_id: &str,
) -> ApiResult<EndpointService> {
    caller.require_platform_admin()?;
    ctx.tenants().get(tenant_id).await?;
    Ok(ctx.endpoints().with_kind(EndpointKind::Workflow))
}

pub async fn create(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant): Path<String>,
    JsonObject(input): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let service = workflows(&ctx, &caller, &tenant).await?;
    let created = service.create(&tenant, input).await?;
    let mut view = created.endpoint.workflow_view();
    view["secret"] = Value::String(created.secret);
    Ok((StatusCode::CREATED, Json(view)))
}

pub async fn list(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<Value>> {
    let service = workflows(&ctx, &caller, &tenant).await?;
    let (items, next) = service
        .list(&tenant, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(
        items.iter().map(|w| w.workflow_view()).collect(),
        next,
    )))
}

pub async fn update(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
    JsonObject(input): JsonObject,
) -> ApiResult<Json<Value>> {
    let service = workflows(&ctx, &caller, &tenant).await?;
    let (workflow, reenabled) = service.update(&tenant, &id, input).await?;
    if reenabled {
        ctx.delivery_log().reset_failures(&tenant, &id).await?;
    }
    Ok(Json(workflow.workflow_view()))
}

pub async fn delete(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let service = workflows(&ctx, &caller, &tenant).await?;
    service.delete(&tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stores the call as a `workflow.call` event and queues one delivery per workflow.
async fn call_each(
    ctx: &AppContext,
    tenant: &str,
    targets: &[Endpoint],
    payload: Option<hookhub_shared::validation::Fields>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let data = match payload {
        Some(f) => Value::Object(f.into_map()),
        None => json!({}),
    };
    let events = ctx.events();
    let event = events
        .store_only(tenant, "workflow.call", data, "api")
        .await?;
    let jobs: Vec<(String, DeliveryJob)> = targets
        .iter()
        .map(|w| (w.id.clone(), DeliveryJob::for_event(&event, &w.id)))
        .collect();
    let deliveries: Vec<Value> = jobs
        .iter()
        .map(|(id, job)| json!({"webhookId": id, "deliveryId": job.delivery_id}))
        .collect();
    events
        .enqueue_all(
            &jobs
                .into_iter()
                .map(|(_, j)| j.into_job(tenant))
                .collect::<Vec<_>>(),
        )
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"eventId": event.id, "deliveries": deliveries})),
    ))
}

pub async fn call(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
    OptionalJsonObject(body): OptionalJsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let service = workflows(&ctx, &caller, &tenant).await?;
    call_one(&ctx, &tenant, service.get(&tenant, &id).await?, body).await
}

pub async fn call_by_name(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
    OptionalJsonObject(body): OptionalJsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let service = workflows(&ctx, &caller, &tenant).await?;
    call_one(&ctx, &tenant, service.by_name(&tenant, &name).await?, body).await
}

/// An explicit call of a disabled workflow is refused rather than silently dropped.
async fn call_one(
    ctx: &AppContext,
    tenant: &str,
    workflow: Endpoint,
    body: Option<hookhub_shared::validation::Fields>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if !workflow.is_active {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "failed_precondition",
            format!("workflow webhook {} is disabled", workflow.name),
        ));
    }
    call_each(ctx, tenant, &[workflow], body).await
}

pub async fn broadcast(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant): Path<String>,
    OptionalJsonObject(body): OptionalJsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let service = workflows(&ctx, &caller, &tenant).await?;
    let active: Vec<Endpoint> = service
        .all(&tenant)
        .await?
        .into_iter()
        .filter(|w| w.is_active)
        .collect();
    call_each(&ctx, &tenant, &active, body).await
}

fn range_start(query: &ListQuery) -> ApiResult<(String, chrono::DateTime<chrono::Utc>)> {
    let range = query
        .params
        .get("range")
        .map(String::as_str)
        .unwrap_or("24h");
    let hours = match range {
        "1h" => 1,
        "24h" => 24,
        "7d" => 24 * 7,
        "30d" => 24 * 30,
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "range must be 1h, 24h, 7d or 30d",
            ))
        }
    };
    Ok((
        range.to_string(),
        chrono::Utc::now() - chrono::Duration::hours(hours),
    ))
}

/// The dashboard's colour bands (good from 95 %, warning from 80 %).
fn band(rate: Option<f64>) -> Value {
    match rate {
        None => Value::Null,
        Some(r) if r >= 95.0 => "good".into(),
        Some(r) if r >= 80.0 => "warning".into(),
        Some(_) => "critical".into(),
    }
}

fn totals(hours: &[HourCounters]) -> Value {
    let total: u64 = hours.iter().map(|h| h.total).sum();
    let ok: u64 = hours.iter().map(|h| h.successful).sum();
    let ms: u64 = hours.iter().map(|h| h.response_ms).sum();
    let rate = (total > 0).then(|| (ok as f64 * 1000.0 / total as f64).round() / 10.0);
    json!({
        "totalCalls": total,
        "successfulCalls": ok,
        "failedCalls": total - ok,
        "averageResponseTimeMs": (total > 0).then(|| ms / total),
        "successRate": rate,
        "band": band(rate),
    })
}

pub async fn summary(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<Value>> {
    let service = workflows(&ctx, &caller, &tenant).await?;
    let (range, since) = range_start(&query)?;
    let mut targets = service.all(&tenant).await?;
    if let Some(id) = query.params.get("webhookId") {
        targets.retain(|w| &w.id == id);
        if targets.is_empty() {
            return Err(ApiError::not_found("workflow webhook"));
        }
    }
    let log = ctx.delivery_log();
    let (stats, per): (Vec<_>, Vec<Vec<HourCounters>>) = futures::future::try_join_all(
        targets
            .iter()
            .map(|w| log.stats_and_hours(&tenant, &w.id, since)),
    )
    .await?
    .into_iter()
    .unzip();
    let all: Vec<HourCounters> = per.iter().flatten().cloned().collect();
    let mut out = totals(&all);
    out["range"] = range.into();
    out["webhooks"] = targets
        .iter()
        .zip(per.iter().zip(&stats))
        .map(|(w, (hours, s))| {
            let mut row = totals(hours);
            row["webhookId"] = w.id.clone().into();
            row["workflowName"] = w.name.clone().into();
            row["isActive"] = w.is_active.into();
            row["lastCalledAt"] = s.last_called_at.clone().into();
            row
        })
        .collect::<Vec<_>>()
        .into();
    Ok(Json(out))
}

pub async fn webhook_analytics(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
    query: ListQuery,
) -> ApiResult<Json<Value>> {
    let service = workflows(&ctx, &caller, &tenant).await?;
    let workflow = service.get(&tenant, &id).await?;
    let (range, since) = range_start(&query)?;
    let hours = ctx.delivery_log().hours(&tenant, &id, since).await?;
    let mut out = totals(&hours);
    out["range"] = range.into();
    out["webhookId"] = workflow.id.into();
    out["workflowName"] = workflow.name.into();
    out["hourly"] = json!(hours);
    Ok(Json(out))
}

/// The last 50 calls across the tenant's workflows.
pub async fn recent(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> ApiResult<Json<Value>> {
    let service = workflows(&ctx, &caller, &tenant).await?;
    let names: HashMap<String, String> = service
        .all(&tenant)
        .await?
        .into_iter()
        .map(|w| (w.id, w.name))
        .collect();
    let filter = LogFilter {
        scope: LogScope::Merged {
            workflows: true,
            ids: names.keys().cloned().collect(),
        },
        ..Default::default()
    };
    let (logs, _) = ctx
        .delivery_log()
        .list(&tenant, &filter, Some(50), None)
        .await?;
    let data: Vec<Value> = logs
        .iter()
        .map(|l| {
            let mut v = l.view();
            v["workflowName"] = names.get(&l.endpoint_id).cloned().into();
            v
        })
        .collect();
    Ok(Json(json!({ "data": data })))
}
