//! `GET /api/v1/events`: what a tenant published (and hookhub published for it), read back
//! with where each delivery stands.

use axum::extract::{Path, State};
use axum::Json;
use hookhub_shared::page::Page;
use hookhub_shared::webhooks::catalog;
use hookhub_shared::webhooks::events::EventFilter;
use hookhub_shared::webhooks::history::{EventDetailView, EventView};
use hookhub_shared::AppContext;

use crate::auth::Caller;
use crate::input::{bad_query, page, parse_time, ListQuery};
use crate::ApiError;

type ApiResult<T> = Result<T, ApiError>;

pub async fn list(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<EventView>>> {
    let tenant = caller.tenant(&ctx, "read:events").await?;
    let event_type = query.params.get("type").cloned();
    if let Some(pattern) = &event_type {
        if !catalog::is_valid_pattern(pattern) {
            return Err(bad_query(
                "type must be an event type, <prefix>.* or *; see GET /api/v1/webhooks/events",
            ));
        }
    }
    let source = query.params.get("source").cloned();
    if source
        .as_deref()
        .is_some_and(|s| catalog::sources_of(s).is_empty())
    {
        return Err(bad_query("source must be api, meta or hookhub"));
    }
    let filter = EventFilter {
        event_type,
        source,
        from: parse_time("from", query.params.get("from"))?,
        to: parse_time("to", query.params.get("to"))?,
    };
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
    params(crate::openapi::generate::TenantHeader, ("eventId" = String, Path)),
    responses(
        (status = 200, description = "The event", body = hookhub_shared::webhooks::history::EventDetailView),
        (status = 404, description = "Unknown event", body = crate::error::ErrorBody),
        crate::openapi::generate::CallErrors,
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
