//! `/api/v1/meta`: the Meta events hookhub received, their health and monitoring, and test
//! suites that send realistic signed samples through the real ingress path.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hookhub_shared::meta::graph_health::GraphCheckList;
use hookhub_shared::meta::monitoring::{MetaDashboard, MetaHealth};
use hookhub_shared::meta::samples::SampleParams;
use hookhub_shared::meta::store::MetaEventView;
use hookhub_shared::meta::subscriptions::{
    MetaChannel, MetaSubscription, SubscriptionList, SubscriptionRequest,
};
use hookhub_shared::meta::test_suites::{TestRun, TestSuite};
use hookhub_shared::page::Page;
use hookhub_shared::AppContext;

use crate::auth::Caller;
use crate::input::{page, JsonObject, ListQuery};
use crate::queries::MetaEventQuery;
use crate::ApiError;

// The OpenAPI document's types, named by the handlers' annotations.
#[cfg(feature = "openapi")]
use crate::error::ErrorBody;
#[cfg(feature = "openapi")]
use crate::openapi::generate::{
    AdminCallErrors, BodyErrors, CallErrors, MetaEventPage, MetaTestSuitePage, PageParams,
    TenantCallErrors, TenantHeader,
};

type ApiResult<T> = Result<T, ApiError>;

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/meta/events", operation_id = "listMetaEvents",
    tag = "meta",
    summary = "Meta events received for the tenant, newest first",
    params(TenantHeader, MetaEventQuery, PageParams),
    responses(
        (status = 200, description = "A page", body = MetaEventPage),
        TenantCallErrors,
    ),
))]
pub async fn list_events(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<MetaEventView>>> {
    let tenant = caller.tenant(&ctx, "read:events").await?;
    let filters = MetaEventQuery::read(&query)?;
    let (events, next) = ctx
        .meta_events()
        .list(
            &tenant,
            filters.event_type.as_deref(),
            filters.status,
            query.limit,
            query.cursor.as_deref(),
        )
        .await?;
    Ok(Json(page(events.iter().map(|e| e.view()).collect(), next)))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/meta/events/{eventId}", operation_id = "getMetaEvent",
    tag = "meta",
    summary = "One Meta event with its raw item and processing outcome",
    params(TenantHeader, ("eventId" = String, Path)),
    responses(
        (status = 200, description = "The event", body = MetaEventView),
        (status = 404, description = "Unknown event", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn get_event(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<MetaEventView>> {
    let tenant = caller.tenant(&ctx, "read:events").await?;
    Ok(Json(ctx.meta_events().get(&tenant, &id).await?.view()))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/meta/health", operation_id = "metaHealth",
    tag = "meta",
    summary = "Table and queue reachability, integrations, last event, processing success rate",
    params(TenantHeader),
    responses(
        (status = 200, description = "Health", body = MetaHealth),
        TenantCallErrors,
    ),
))]
pub async fn health(State(ctx): State<AppContext>, caller: Caller) -> ApiResult<Json<MetaHealth>> {
    let tenant = caller.tenant(&ctx, "read:events").await?;
    Ok(Json(ctx.meta_monitoring().health(&tenant).await?))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/meta/monitoring/dashboard", operation_id = "metaDashboard",
    tag = "meta",
    summary = "Counts by type and status over 1h/24h/7d, error analysis with recommendations, processing latency",
    params(TenantHeader),
    responses(
        (status = 200, description = "Dashboard", body = MetaDashboard),
        TenantCallErrors,
    ),
))]
pub async fn dashboard(
    State(ctx): State<AppContext>,
    caller: Caller,
) -> ApiResult<Json<MetaDashboard>> {
    let tenant = caller.tenant(&ctx, "read:events").await?;
    Ok(Json(ctx.meta_monitoring().dashboard(&tenant).await?))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/v1/meta/test-suites", operation_id = "createMetaTestSuite",
    tag = "meta",
    summary = "A suite of realistic sample bodies, one per Meta event kind",
    params(TenantHeader),
    request_body = SampleParams,
    responses(
        (status = 201, description = "Created", body = TestSuite),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        TenantCallErrors,
        BodyErrors,
    ),
))]
pub async fn create_test_suite(
    State(ctx): State<AppContext>,
    caller: Caller,
    JsonObject(input): JsonObject,
) -> ApiResult<(StatusCode, Json<TestSuite>)> {
    let tenant = caller.tenant(&ctx, "write:events").await?;
    let params = SampleParams::read(input)?;
    let suite = ctx.meta_test_suites().create(&tenant, params).await?;
    Ok((StatusCode::CREATED, Json(suite)))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/v1/meta/test-suites/{suiteId}/execute", operation_id = "executeMetaTestSuite",
    tag = "meta",
    summary = "Sign each sample with the tenant's app secret and send it through the ingress; per-case results",
    params(TenantHeader, ("suiteId" = String, Path)),
    responses(
        (status = 200, description = "Results", body = TestRun),
        (status = 404, description = "Unknown suite", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn execute_test_suite(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(suite_id): Path<String>,
) -> ApiResult<Json<TestRun>> {
    let tenant = caller.tenant(&ctx, "write:events").await?;
    Ok(Json(
        ctx.meta_test_suites()
            .execute(&tenant, &suite_id, None)
            .await?,
    ))
}

/// One case of a suite, by name (`POST /api/v1/meta/test-suites/{id}/cases/{name}/execute`).
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/v1/meta/test-suites/{suiteId}/cases/{caseName}/execute", operation_id = "executeMetaTestCase",
    tag = "meta",
    summary = "Run one case of a suite, by its name (see the suite's cases)",
    params(TenantHeader, ("suiteId" = String, Path), ("caseName" = String, Path)),
    responses(
        (status = 200, description = "Results", body = TestRun),
        (status = 404, description = "Unknown test suite or case", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn execute_test_case(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((suite_id, name)): Path<(String, String)>,
) -> ApiResult<Json<TestRun>> {
    let tenant = caller.tenant(&ctx, "write:events").await?;
    Ok(Json(
        ctx.meta_test_suites()
            .execute(&tenant, &suite_id, Some(&name))
            .await?,
    ))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/meta/test-suites", operation_id = "listMetaTestSuites",
    tag = "meta",
    summary = "The tenant's Meta test suites, newest first (kept 30 days)",
    params(TenantHeader, PageParams),
    responses(
        (status = 200, description = "A page of test suites", body = MetaTestSuitePage),
        CallErrors,
    ),
))]
pub async fn list_test_suites(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<TestSuite>>> {
    let tenant = caller.tenant(&ctx, "read:events").await?;
    let (suites, next) = ctx
        .meta_test_suites()
        .list(&tenant, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(suites, next)))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/meta/test-suites/{suiteId}", operation_id = "getMetaTestSuite",
    tag = "meta",
    summary = "One test suite: its cases and its last run",
    params(TenantHeader, ("suiteId" = String, Path)),
    responses(
        (status = 200, description = "The suite", body = TestSuite),
        (status = 404, description = "Unknown test suite", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn get_test_suite(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(suite_id): Path<String>,
) -> ApiResult<Json<TestSuite>> {
    let tenant = caller.tenant(&ctx, "read:events").await?;
    Ok(Json(ctx.meta_test_suites().get(&tenant, &suite_id).await?))
}

/// `POST /api/v1/meta/events/{id}/reprocess`: a failed event processed again (202).
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/v1/meta/events/{eventId}/reprocess", operation_id = "reprocessMetaEvent",
    tag = "meta",
    summary = "Process a failed Meta event again (a waiting one is queued again); idempotent like every processing run",
    params(TenantHeader, ("eventId" = String, Path)),
    responses(
        (status = 202, description = "Queued for processing; the event as it now stands", body = MetaEventView),
        (status = 404, description = "Unknown event", body = ErrorBody),
        (status = 409, description = "The event was processed; nothing to reprocess", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn reprocess_event(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<MetaEventView>)> {
    let tenant = caller.tenant(&ctx, "write:events").await?;
    let event = hookhub_shared::meta::ingest::reprocess(
        &ctx.meta_events(),
        ctx.queue.as_ref(),
        &tenant,
        &id,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(event.view())))
}

/// `POST /api/v1/meta/health/check`: the Graph checks the schedule runs, for this tenant now.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/v1/meta/health/check", operation_id = "checkMetaGraph",
    tag = "meta",
    summary = "Run the Graph checks of the tenant's enabled Meta integrations now (the schedule runs them every 5 minutes) and store them",
    params(TenantHeader),
    responses(
        (status = 200, description = "The checks", body = GraphCheckList),
        TenantCallErrors,
    ),
))]
pub async fn check_graph(
    State(ctx): State<AppContext>,
    caller: Caller,
) -> ApiResult<Json<GraphCheckList>> {
    let tenant = caller.tenant(&ctx, "write:events").await?;
    let data = ctx.graph_health().check_tenant(&tenant).await?;
    Ok(Json(GraphCheckList { data }))
}

/// `GET /api/v1/meta/subscriptions`: each configured channel, as stored and as Meta has it.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/meta/subscriptions", operation_id = "listMetaSubscriptions",
    tag = "meta",
    summary = "Each configured Meta channel: the stored subscription and what the Graph API has now",
    params(TenantHeader),
    responses(
        (status = 200, description = "Subscriptions", body = SubscriptionList),
        TenantCallErrors,
    ),
))]
pub async fn list_subscriptions(
    State(ctx): State<AppContext>,
    caller: Caller,
) -> ApiResult<Json<SubscriptionList>> {
    let tenant = caller.tenant(&ctx, "read:events").await?;
    Ok(Json(ctx.meta_subscriptions().list(&tenant).await?))
}

/// `POST /api/v1/meta/subscriptions`: subscribes the tenant's app to a channel's account.
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/v1/meta/subscriptions", operation_id = "createMetaSubscription",
    tag = "meta",
    summary = "Subscribe the tenant's app to its WhatsApp Business Account or Instagram Page webhooks",
    params(TenantHeader),
    request_body = SubscriptionRequest,
    responses(
        (status = 201, description = "Subscribed and stored", body = MetaSubscription),
        (status = 404, description = "The tenant (X-Tenant-Id, for platform admins) does not exist", body = ErrorBody),
        (status = 409, description = "The Meta integration is not configured (or lacks the account id or token)", body = ErrorBody),
        (status = 422, description = "Invalid channel or fields", body = ErrorBody),
        (status = 429, description = "Rate limited by us, or by Meta (details reason rate_limited); see Retry-After", body = ErrorBody),
        (status = 502, description = "The Graph API refused (details: reason token_invalid, permission_denied, account_not_found or error, Meta's code and advice)", body = ErrorBody),
        AdminCallErrors,
        BodyErrors,
    ),
))]
pub async fn subscribe(
    State(ctx): State<AppContext>,
    caller: Caller,
    JsonObject(input): JsonObject,
) -> ApiResult<(StatusCode, Json<MetaSubscription>)> {
    let tenant = caller.tenant(&ctx, "write:events").await?;
    let request = SubscriptionRequest::read(input)?;
    let subscription = ctx
        .meta_subscriptions()
        .subscribe(&tenant, request, &caller.actor().label())
        .await?;
    let mut fields = vec![format!("channel={}", subscription.channel.as_str())];
    fields.push(format!("fields={}", subscription.fields.join(",")));
    super::audit::record(
        &ctx,
        &caller,
        &tenant,
        "meta.subscription.created",
        &subscription.object_id,
        fields,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(subscription)))
}

/// `DELETE /api/v1/meta/subscriptions/{channel}`: unsubscribes the app from that account.
#[cfg_attr(feature = "openapi", utoipa::path(
    delete, path = "/api/v1/meta/subscriptions/{channel}", operation_id = "deleteMetaSubscription",
    tag = "meta",
    summary = "Unsubscribe the app from the channel's account and forget the stored subscription",
    params(TenantHeader, ("channel" = String, Path)),
    responses(
        (status = 204, description = "Unsubscribed"),
        (status = 404, description = "Not a Meta channel (whatsapp or instagram)", body = ErrorBody),
        (status = 409, description = "The Meta integration is not configured (or lacks the account id or token)", body = ErrorBody),
        (status = 429, description = "Rate limited by us, or by Meta (details reason rate_limited); see Retry-After", body = ErrorBody),
        (status = 502, description = "The Graph API refused (details: reason token_invalid, permission_denied, account_not_found or error, Meta's code and advice)", body = ErrorBody),
        AdminCallErrors,
    ),
))]
pub async fn unsubscribe(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(channel): Path<String>,
) -> ApiResult<StatusCode> {
    let tenant = caller.tenant(&ctx, "write:events").await?;
    let kind = MetaChannel::parse(&channel)
        .ok_or_else(|| ApiError::not_found("subscription"))?
        .kind();
    ctx.meta_subscriptions().unsubscribe(&tenant, kind).await?;
    super::audit::record(
        &ctx,
        &caller,
        &tenant,
        "meta.subscription.deleted",
        kind.as_str(),
        vec![format!("channel={}", kind.as_str())],
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
