//! n8n workflow webhooks, for platform admins: CRUD with a unique, immutable
//! workflow name and a sealed bearer token; calls by id, by name and broadcast, delivered by
//! the same engine as tenant endpoints; and the analytics dashboard's data.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hookhub_shared::page::Page;
use hookhub_shared::webhooks::endpoint::{
    Endpoint, EndpointKind, EndpointService, WorkflowView, WorkflowWithSecretView,
};
use hookhub_shared::webhooks::history::AttemptDetailView;
use hookhub_shared::webhooks::logs::{
    AttemptLog, HourCounters, LogFilter, RecentCalls, WorkflowCallView,
};
use hookhub_shared::webhooks::workflow_analytics::{
    CallTotals, WorkflowAnalytics, WorkflowRow, WorkflowSummary,
};
use hookhub_shared::webhooks::workflow_calls::{CallView, Called};
use hookhub_shared::AppContext;
use serde_json::{json, Value};

use super::audit;
use crate::auth::Caller;
use crate::input::{page, JsonObject, ListQuery, OptionalJsonObject};
use crate::queries::{CallWait, CallsQuery, RangeQuery, WebhookIdQuery};
use crate::ApiError;

// The OpenAPI document's types, named by the handlers' annotations.
#[cfg(feature = "openapi")]
use crate::error::ErrorBody;
#[cfg(feature = "openapi")]
use crate::openapi::generate::{
    BodyErrors, CallErrors, PageParams, WorkflowCallErrors, WorkflowCallPage, WorkflowPage,
};
#[cfg(feature = "openapi")]
use hookhub_shared::webhooks::endpoint::openapi::{WorkflowCreate, WorkflowUpdate};
#[cfg(feature = "openapi")]
use hookhub_shared::webhooks::workflow_calls::{
    BroadcastAnswered, CallAccepted, WorkflowCallAnswered,
};

type ApiResult<T> = Result<T, ApiError>;

async fn workflows(
    ctx: &AppContext,
    caller: &Caller,
    tenant_id: &str,
) -> ApiResult<EndpointService> {
    caller.platform_tenant(ctx, tenant_id).await?;
    Ok(ctx.endpoints().with_kind(EndpointKind::Workflow))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/platform/tenants/{tenantId}/webhooks", operation_id = "createWorkflow",
    tag = "workflows",
    summary = "Add an n8n workflow webhook (workflowName unique per tenant)",
    params(("tenantId" = String, Path)),
    request_body = WorkflowCreate,
    responses(
        (status = 201, description = "Created", body = WorkflowWithSecretView),
        (status = 404, description = "Unknown tenant or workflow webhook", body = ErrorBody),
        (status = 409, description = "Name taken", body = ErrorBody),
        (status = 422, description = "Invalid fields; or the tenant has maxWorkflows workflow webhooks, or retryAttempts is above maxRetryAttempts (quota_exceeded, details [{quota, limit}])", body = ErrorBody),
        CallErrors,
        BodyErrors,
    ),
))]
pub async fn create(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant): Path<String>,
    JsonObject(input): JsonObject,
) -> ApiResult<(StatusCode, Json<WorkflowWithSecretView>)> {
    let service = workflows(&ctx, &caller, &tenant).await?;
    let fields = input.names();
    let created = service.create(&tenant, input).await?;
    audit::record(
        &ctx,
        &caller,
        &tenant,
        "workflow.created",
        &created.endpoint.id,
        fields,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created.workflow_view())))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/platform/tenants/{tenantId}/webhooks", operation_id = "listWorkflows",
    tag = "workflows",
    summary = "List the tenant's n8n workflow webhooks",
    params(("tenantId" = String, Path), PageParams),
    responses(
        (status = 200, description = "A page", body = WorkflowPage),
        (status = 404, description = "Unknown tenant or workflow webhook", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn list(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<Page<WorkflowView>>> {
    let service = workflows(&ctx, &caller, &tenant).await?;
    let (items, next) = service
        .list(&tenant, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(
        items.iter().map(|w| w.workflow_view()).collect(),
        next,
    )))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    put, path = "/api/platform/tenants/{tenantId}/webhooks/{webhookId}", operation_id = "updateWorkflow",
    tag = "workflows",
    summary = "Change a workflow webhook (not its name)",
    params(("tenantId" = String, Path), ("webhookId" = String, Path)),
    request_body = WorkflowUpdate,
    responses(
        (status = 200, description = "Updated", body = WorkflowView),
        (status = 404, description = "Unknown tenant or workflow webhook", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
        (status = 422, description = "Invalid fields; or retryAttempts is above the tenant's maxRetryAttempts (quota_exceeded)", body = ErrorBody),
        CallErrors,
        BodyErrors,
    ),
))]
pub async fn update(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
    JsonObject(input): JsonObject,
) -> ApiResult<Json<WorkflowView>> {
    let service = workflows(&ctx, &caller, &tenant).await?;
    let fields = input.names();
    let (workflow, reenabled) = service.update(&tenant, &id, input).await?;
    audit::record(&ctx, &caller, &tenant, "workflow.updated", &id, fields).await?;
    if reenabled {
        ctx.delivery_log().reset_failures(&tenant, &id).await?;
    }
    Ok(Json(workflow.workflow_view()))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    delete, path = "/api/platform/tenants/{tenantId}/webhooks/{webhookId}", operation_id = "deleteWorkflow",
    tag = "workflows",
    summary = "Delete a workflow webhook with its analytics",
    params(("tenantId" = String, Path), ("webhookId" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "Unknown tenant or workflow webhook", body = ErrorBody),
        (status = 409, description = "The tenant's subscription index is full, or a concurrent change to the same endpoints won; retry", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn delete(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let service = workflows(&ctx, &caller, &tenant).await?;
    service.delete(&tenant, &id).await?;
    audit::record(&ctx, &caller, &tenant, "workflow.deleted", &id, vec![]).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn call_data(body: Option<hookhub_shared::validation::Fields>) -> Value {
    match body {
        Some(f) => Value::Object(f.into_map()),
        None => json!({}),
    }
}

/// Queued: 202 with the deliveries; waited for: 200 with the answers.
fn called(called: Called, single: bool) -> (StatusCode, Json<CallView>) {
    let status = match called {
        Called::Queued { .. } => StatusCode::ACCEPTED,
        Called::Answered { .. } => StatusCode::OK,
    };
    (status, Json(called.view(single)))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/platform/tenants/{tenantId}/webhooks/{webhookId}/call", operation_id = "callWorkflow",
    tag = "workflows",
    summary = "Call a workflow webhook with a JSON payload",
    params(("tenantId" = String, Path), ("webhookId" = String, Path), CallWait),
    request_body(content = Option<Object>),
    responses(
        (status = 202, description = "Queued", body = CallAccepted),
        (status = 200, description = "Called at once (wait=true): the answer", body = WorkflowCallAnswered),
        (status = 409, description = "Disabled", body = ErrorBody),
        WorkflowCallErrors,
    ),
))]
pub async fn call(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
    query: ListQuery,
    OptionalJsonObject(body): OptionalJsonObject,
) -> ApiResult<(StatusCode, Json<CallView>)> {
    let wait = CallWait::read(&query)?.wait;
    let service = workflows(&ctx, &caller, &tenant).await?;
    call_one(&ctx, &tenant, service.get(&tenant, &id).await?, body, wait).await
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/platform/tenants/{tenantId}/webhooks/by-name/{workflowName}/call", operation_id = "callWorkflowByName",
    tag = "workflows",
    summary = "Call a workflow webhook by its name",
    params(("tenantId" = String, Path), ("workflowName" = String, Path), CallWait),
    request_body(content = Option<Object>),
    responses(
        (status = 202, description = "Queued", body = CallAccepted),
        (status = 200, description = "Called at once (wait=true): the answer", body = WorkflowCallAnswered),
        (status = 409, description = "Disabled", body = ErrorBody),
        WorkflowCallErrors,
    ),
))]
pub async fn call_by_name(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
    query: ListQuery,
    OptionalJsonObject(body): OptionalJsonObject,
) -> ApiResult<(StatusCode, Json<CallView>)> {
    let wait = CallWait::read(&query)?.wait;
    let service = workflows(&ctx, &caller, &tenant).await?;
    let workflow = service.by_name(&tenant, &name).await?;
    call_one(&ctx, &tenant, workflow, body, wait).await
}

/// An explicit call of a disabled workflow is refused rather than silently dropped.
async fn call_one(
    ctx: &AppContext,
    tenant: &str,
    workflow: Endpoint,
    body: Option<hookhub_shared::validation::Fields>,
    wait: bool,
) -> ApiResult<(StatusCode, Json<CallView>)> {
    if !workflow.is_active {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "failed_precondition",
            format!("workflow webhook {} is disabled", workflow.name),
        ));
    }
    let done = ctx
        .workflow_calls()
        .call(tenant, &[workflow], call_data(body), wait)
        .await?;
    Ok(called(done, true))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/platform/tenants/{tenantId}/webhooks/broadcast", operation_id = "broadcastWorkflows",
    tag = "workflows",
    summary = "Call every active workflow webhook of the tenant",
    params(("tenantId" = String, Path), CallWait),
    request_body(content = Option<Object>),
    responses(
        (status = 202, description = "Queued", body = CallAccepted),
        (status = 200, description = "Called at once (wait=true): the answer", body = BroadcastAnswered),
        WorkflowCallErrors,
    ),
))]
pub async fn broadcast(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant): Path<String>,
    query: ListQuery,
    OptionalJsonObject(body): OptionalJsonObject,
) -> ApiResult<(StatusCode, Json<CallView>)> {
    let wait = CallWait::read(&query)?.wait;
    let service = workflows(&ctx, &caller, &tenant).await?;
    let active: Vec<Endpoint> = service
        .all(&tenant)
        .await?
        .into_iter()
        .filter(|w| w.is_active)
        .collect();
    let done = ctx
        .workflow_calls()
        .call(&tenant, &active, call_data(body), wait)
        .await?;
    Ok(called(done, false))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/platform/tenants/{tenantId}/webhooks/analytics/summary", operation_id = "workflowAnalyticsSummary",
    tag = "workflows",
    summary = "Totals and per-webhook success rates over a range",
    params(("tenantId" = String, Path), RangeQuery, WebhookIdQuery),
    responses(
        (status = 200, description = "Summary", body = WorkflowSummary),
        (status = 404, description = "Unknown tenant or workflow webhook", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn summary(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<WorkflowSummary>> {
    let service = workflows(&ctx, &caller, &tenant).await?;
    let RangeQuery { range, since } = RangeQuery::read(&query)?;
    let mut targets = service.all(&tenant).await?;
    if let Some(id) = WebhookIdQuery::read(&query).webhook_id {
        targets.retain(|w| w.id == id);
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
    Ok(Json(WorkflowSummary {
        totals: CallTotals::of(&all),
        range,
        webhooks: targets
            .iter()
            .zip(per.iter().zip(&stats))
            .map(|(w, (hours, s))| WorkflowRow {
                totals: CallTotals::of(hours),
                webhook_id: w.id.clone(),
                workflow_name: w.name.clone(),
                is_active: w.is_active,
                last_called_at: s.last_called_at.clone(),
            })
            .collect(),
    }))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/platform/tenants/{tenantId}/webhooks/{webhookId}/analytics", operation_id = "workflowAnalytics",
    tag = "workflows",
    summary = "One workflow webhook's calls over a range, by hour",
    params(("tenantId" = String, Path), ("webhookId" = String, Path), RangeQuery),
    responses(
        (status = 200, description = "Analytics", body = WorkflowAnalytics),
        (status = 404, description = "Unknown tenant or workflow webhook", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn webhook_analytics(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
    query: ListQuery,
) -> ApiResult<Json<WorkflowAnalytics>> {
    let service = workflows(&ctx, &caller, &tenant).await?;
    let workflow = service.get(&tenant, &id).await?;
    let RangeQuery { range, since } = RangeQuery::read(&query)?;
    let hours = ctx.delivery_log().hours(&tenant, &id, since).await?;
    Ok(Json(WorkflowAnalytics {
        totals: CallTotals::of(&hours),
        range,
        webhook_id: workflow.id,
        workflow_name: workflow.name,
        hourly: hours,
    }))
}

/// The calls listings' filters: `webhookId` (one workflow), `status`, and a time window
/// (`range`, as the dashboard's, or `from`/`to`). Returns the workflows' names too.
async fn calls_filter(
    service: &EndpointService,
    tenant: &str,
    query: &ListQuery,
) -> ApiResult<(LogFilter, HashMap<String, String>)> {
    let mut names: HashMap<String, String> = service
        .all(tenant)
        .await?
        .into_iter()
        .map(|w| (w.id, w.name))
        .collect();
    let ids = match WebhookIdQuery::read(query).webhook_id {
        Some(id) if names.contains_key(&id) => vec![id],
        Some(_) => return Err(ApiError::not_found("workflow webhook")),
        None => names.keys().cloned().collect(),
    };
    names.retain(|id, _| ids.contains(id));
    let filter = CallsQuery::read(query)?.filter(ids);
    Ok((filter, names))
}

fn call_view(log: &AttemptLog, names: &HashMap<String, String>) -> WorkflowCallView {
    WorkflowCallView {
        attempt: log.view(),
        workflow_name: names.get(&log.endpoint_id).cloned(),
    }
}

/// One page of calls, newest first, with the listings' filters.
async fn calls(
    ctx: &AppContext,
    caller: &Caller,
    tenant: &str,
    query: &ListQuery,
    limit: Option<u32>,
) -> ApiResult<(Vec<WorkflowCallView>, Option<String>)> {
    let service = workflows(ctx, caller, tenant).await?;
    let (filter, names) = calls_filter(&service, tenant, query).await?;
    let (logs, next) = ctx
        .delivery_log()
        .list(tenant, &filter, limit, query.cursor.as_deref())
        .await?;
    Ok((logs.iter().map(|l| call_view(l, &names)).collect(), next))
}

/// The dashboard's last 50 calls across the tenant's workflows (or one).
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/platform/tenants/{tenantId}/webhooks/analytics/recent", operation_id = "workflowRecentCalls",
    tag = "workflows",
    summary = "The last 50 calls",
    params(("tenantId" = String, Path), WebhookIdQuery, CallsQuery),
    responses(
        (status = 200, description = "Calls", body = RecentCalls),
        (status = 404, description = "Unknown tenant or workflow webhook", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn recent(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<RecentCalls>> {
    let (data, _) = calls(&ctx, &caller, &tenant, &query, Some(50)).await?;
    Ok(Json(RecentCalls { data }))
}

/// Every call, filtered and paginated.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/platform/tenants/{tenantId}/webhooks/logs", operation_id = "listWorkflowCalls",
    tag = "workflows",
    summary = "Calls of the tenant's workflows, newest first",
    params(("tenantId" = String, Path), WebhookIdQuery, CallsQuery, PageParams),
    responses(
        (status = 200, description = "A page", body = WorkflowCallPage),
        (status = 404, description = "Unknown tenant or workflow webhook", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn logs(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<Page<WorkflowCallView>>> {
    let (data, next) = calls(&ctx, &caller, &tenant, &query, query.limit).await?;
    Ok(Json(page(data, next)))
}

/// One call: the request as sent and the workflow's answer.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/platform/tenants/{tenantId}/webhooks/logs/{logId}", operation_id = "getWorkflowCall",
    tag = "workflows",
    summary = "One workflow call: the request as sent and the workflow's answer",
    params(("tenantId" = String, Path), ("logId" = String, Path)),
    responses(
        (status = 200, description = "The call", body = AttemptDetailView),
        (status = 404, description = "Unknown tenant or log entry", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn log_detail(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant, log_id)): Path<(String, String)>,
) -> ApiResult<Json<AttemptDetailView>> {
    let service = workflows(&ctx, &caller, &tenant).await?;
    let ids: Vec<String> = service
        .all(&tenant)
        .await?
        .into_iter()
        .map(|w| w.id)
        .collect();
    let detail = ctx.history().attempt(&tenant, &ids, &log_id).await?;
    Ok(Json(detail.view()))
}
