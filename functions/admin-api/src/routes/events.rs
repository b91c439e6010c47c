//! `GET /api/v1/events`: what a tenant published (and hookhub published for it), read back
//! with where each delivery stands.

use axum::extract::{Path, State};
use axum::Json;
use hookhub_shared::page::Page;
use hookhub_shared::webhooks::history::{EventDetailView, EventView};
use hookhub_shared::AppContext;

use crate::auth::Caller;
use crate::input::{page, ListQuery};
use crate::queries::EventQuery;
use crate::ApiError;

// The OpenAPI document's types, named by the handlers' annotations.
#[cfg(feature = "openapi")]
use crate::error::ErrorBody;
#[cfg(feature = "openapi")]
use crate::openapi::generate::{CallErrors, EventPage, PageParams, TenantCallErrors, TenantHeader};

type ApiResult<T> = Result<T, ApiError>;

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/events", operation_id = "listEvents",
    tag = "webhooks",
    summary = "Events published to the tenant, newest first",
    params(TenantHeader, EventQuery, PageParams),
    responses(
        (status = 200, description = "A page", body = EventPage),
        TenantCallErrors,
    ),
))]
pub async fn list(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<EventView>>> {
    let tenant = caller.tenant(&ctx, "read:events").await?;
    let filter = EventQuery::read(&query)?.filter();
    let (events, next) = ctx
        .events()
        .list(&tenant, &filter, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(events.iter().map(EventView::of).collect(), next)))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/events/{eventId}", operation_id = "getEvent",
    tag = "webhooks",
    summary = "An event as delivered, with where each of its deliveries stands",
    params(TenantHeader, ("eventId" = String, Path)),
    responses(
        (status = 200, description = "The event", body = EventDetailView),
        (status = 404, description = "Unknown event", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn get(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<EventDetailView>> {
    let tenant = caller.tenant(&ctx, "read:events").await?;
    Ok(Json(ctx.history().event(&tenant, &id).await?.view()))
}
