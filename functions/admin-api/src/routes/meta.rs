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
use hookhub_shared::meta::ProcessingStatus;
use hookhub_shared::page::Page;
use hookhub_shared::webhooks::catalog;
use hookhub_shared::AppContext;

use crate::auth::Caller;
use crate::input::{bad_query, page, JsonObject, ListQuery};
use crate::ApiError;

type ApiResult<T> = Result<T, ApiError>;

pub async fn list_events(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<MetaEventView>>> {
    let tenant = caller.tenant(&ctx, "read:events").await?;
    let event_type = query.params.get("eventType").map(String::as_str);
    if let Some(t) = event_type {
        if !catalog::is_known(t) {
            return Err(bad_query(format!(
                "eventType {t:?} is not a known event type; see GET /api/v1/webhooks/events"
            )));
        }
    }
    let status = match query.params.get("status").map(String::as_str) {
        None => None,
        Some(s) => Some(
            ProcessingStatus::parse(s)
                .ok_or_else(|| bad_query("status must be received, processed or failed"))?,
        ),
    };
    let (events, next) = ctx
        .meta_events()
        .list(
            &tenant,
            event_type,
            status,
            query.limit,
            query.cursor.as_deref(),
        )
        .await?;
    Ok(Json(page(events.iter().map(|e| e.view()).collect(), next)))
}

pub async fn get_event(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<MetaEventView>> {
    let tenant = caller.tenant(&ctx, "read:events").await?;
    Ok(Json(ctx.meta_events().get(&tenant, &id).await?.view()))
}

pub async fn health(State(ctx): State<AppContext>, caller: Caller) -> ApiResult<Json<MetaHealth>> {
    let tenant = caller.tenant(&ctx, "read:events").await?;
    Ok(Json(ctx.meta_monitoring().health(&tenant).await?))
}

pub async fn dashboard(
    State(ctx): State<AppContext>,
    caller: Caller,
) -> ApiResult<Json<MetaDashboard>> {
    let tenant = caller.tenant(&ctx, "read:events").await?;
    Ok(Json(ctx.meta_monitoring().dashboard(&tenant).await?))
}

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

pub async fn get_test_suite(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(suite_id): Path<String>,
) -> ApiResult<Json<TestSuite>> {
    let tenant = caller.tenant(&ctx, "read:events").await?;
    Ok(Json(ctx.meta_test_suites().get(&tenant, &suite_id).await?))
}

/// `POST /api/v1/meta/events/{id}/reprocess`: a failed event processed again (202).
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
pub async fn check_graph(
    State(ctx): State<AppContext>,
    caller: Caller,
) -> ApiResult<Json<GraphCheckList>> {
    let tenant = caller.tenant(&ctx, "write:events").await?;
    let data = ctx.graph_health().check_tenant(&tenant).await?;
    Ok(Json(GraphCheckList { data }))
}

/// `GET /api/v1/meta/subscriptions`: each configured channel, as stored and as Meta has it.
pub async fn list_subscriptions(
    State(ctx): State<AppContext>,
    caller: Caller,
) -> ApiResult<Json<SubscriptionList>> {
    let tenant = caller.tenant(&ctx, "read:events").await?;
    Ok(Json(ctx.meta_subscriptions().list(&tenant).await?))
}

/// `POST /api/v1/meta/subscriptions`: subscribes the tenant's app to a channel's account.
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
