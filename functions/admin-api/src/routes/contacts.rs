//! `/api/v1/contacts` and `/api/v1/export`: the contacts captured from Meta events, with the
//! filters, tenant edits, erasure, and audited CSV/JSON exports.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hookhub_shared::contacts::{Contact, ContactFilter, SortBy};
use hookhub_shared::error::ServiceError;
use hookhub_shared::exports::contacts_csv;
use hookhub_shared::meta::Channel;
use hookhub_shared::AppContext;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::input::{bad_query, page, parse_time, JsonObject, ListQuery};
use crate::ApiError;

type ApiResult<T> = Result<T, ApiError>;

/// Rows one export request returns at most; `X-Next-Cursor` continues it.
const MAX_EXPORT_ROWS: usize = 10_000;

fn parse_bool(name: &str, value: Option<&String>) -> ApiResult<bool> {
    match value.map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(bad_query(format!("{name} must be true or false"))),
    }
}

fn time_param(query: &ListQuery, name: &str) -> ApiResult<Option<String>> {
    Ok(parse_time(name, query.params.get(name))?.map(hookhub_shared::time::rfc3339))
}

/// The filters, sort and window of a listing or export, and the filters as given (for the
/// export audit).
struct Selection {
    filter: ContactFilter,
    sort_by: SortBy,
    descending: bool,
    offset: usize,
    echo: Value,
}

fn selection(query: &ListQuery) -> ApiResult<Selection> {
    let mut filter = ContactFilter {
        created_after: time_param(query, "createdAfter")?,
        created_before: time_param(query, "createdBefore")?,
        updated_after: time_param(query, "updatedAfter")?,
        has_tag: query.params.get("hasTag").cloned(),
        opted_in: query.params.get("optedIn").cloned(),
        search: query
            .params
            .get("search")
            .cloned()
            .filter(|s| !s.is_empty()),
        export_consent_only: parse_bool(
            "exportConsentOnly",
            query.params.get("exportConsentOnly"),
        )?,
        ..Default::default()
    };
    if let Some(channel) = &filter.opted_in {
        if !["whatsapp", "instagram", "messenger"].contains(&channel.as_str()) {
            return Err(bad_query(
                "optedIn must be whatsapp, instagram or messenger",
            ));
        }
    }
    for (name, value) in &query.params {
        if let Some(field) = name
            .strip_prefix("customField[")
            .and_then(|r| r.strip_suffix(']'))
        {
            filter
                .custom_fields
                .insert(field.to_string(), value.clone());
        }
    }
    let sort_by = match query.params.get("sortBy") {
        None => SortBy::CreatedAt,
        Some(s) => SortBy::parse(s)
            .ok_or_else(|| bad_query("sortBy must be createdAt, updatedAt, lastSeenAt or name"))?,
    };
    let descending = match query.params.get("sortOrder").map(String::as_str) {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => return Err(bad_query("sortOrder must be asc or desc")),
    };
    let offset = match query.params.get("offset") {
        None => 0,
        Some(o) => o
            .parse()
            .map_err(|_| bad_query("offset must be a whole number"))?,
    };
    let echo = json!(query
        .params
        .iter()
        .filter(|(k, _)| !["offset", "includeEvents"].contains(&k.as_str()))
        .collect::<std::collections::BTreeMap<_, _>>());
    Ok(Selection {
        filter,
        sort_by,
        descending,
        offset,
        echo,
    })
}

/// One window of the sorted contacts: from `offset`, or from just after the contact the
/// cursor names (a cursor stays right when earlier contacts are added or removed).
fn window<'a>(
    all: &'a [Contact],
    offset: usize,
    cursor: Option<&str>,
    limit: usize,
) -> ApiResult<(&'a [Contact], Option<String>)> {
    let start = match cursor {
        Some(id) => {
            all.iter()
                .position(|c| c.id == id)
                .ok_or_else(|| bad_query("cursor does not name a contact in this list"))?
                + 1
        }
        None => offset.min(all.len()),
    };
    let end = (start + limit).min(all.len());
    let slice = &all[start..end];
    let next = (end < all.len())
        .then(|| slice.last().map(|c| c.id.clone()))
        .flatten();
    Ok((slice, next))
}

pub async fn list(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Value>> {
    let tenant = caller.tenant(&ctx, "read:contacts").await?;
    let sel = selection(&query)?;
    let limit = query.limit.unwrap_or(50) as usize;
    let contacts = ctx.contacts();
    let listed = contacts
        .list(&tenant, &sel.filter, sel.sort_by, sel.descending)
        .await;
    // A tenant too large to sort in one request still lists in creation order, page by
    // page, without a total.
    let (rows, total, next) = match listed {
        Err(ServiceError::FailedPrecondition(_))
            if sel.sort_by == SortBy::CreatedAt && sel.offset == 0 =>
        {
            let (rows, more) = contacts
                .created_order_page(
                    &tenant,
                    &sel.filter,
                    sel.descending,
                    query.cursor.as_deref(),
                    limit,
                )
                .await?;
            let next = more.then(|| rows.last().map(|c| c.id.clone())).flatten();
            (rows, None, next)
        }
        other => {
            let all = other?;
            let (rows, next) = window(&all, sel.offset, query.cursor.as_deref(), limit)?;
            (rows.to_vec(), Some(all.len()), next)
        }
    };
    let mut body = page(rows.iter().map(Contact::view).collect(), next);
    body["total"] = json!(total);
    body["limit"] = json!(limit);
    body["offset"] = json!(sel.offset);
    Ok(Json(body))
}

pub async fn get(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let tenant = caller.tenant(&ctx, "read:contacts").await?;
    Ok(Json(ctx.contacts().get(&tenant, &id).await?.view()))
}

/// Tags, custom fields, email and export consent (its time set when it is given).
pub async fn update(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(input): JsonObject,
) -> ApiResult<Json<Value>> {
    let tenant = caller.tenant(&ctx, "write:contacts").await?;
    let (contact, changes) = ctx.contacts().edit(&tenant, &id, input).await?;
    if !changes.is_empty() {
        let fields = changes.iter().map(|c| c.to_string()).collect();
        super::audit::record(
            &ctx,
            &caller,
            &tenant,
            "contact.updated",
            &contact.id,
            fields,
        )
        .await?;
        ctx.events()
            .publish(
                &tenant,
                "contact.updated",
                json!({"contact": contact.view(), "changes": changes}),
                None,
                "contacts",
            )
            .await?;
    }
    Ok(Json(contact.view()))
}

/// Erasure: the contact record is deleted, and every stored Meta event from or to the
/// person is redacted (raw item and data emptied; ids, type and status kept so counts and
/// deduplication still hold). Delivery attempt logs hold no request payloads, so there is
/// nothing of the person's to remove there.
pub async fn delete(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let tenant = caller.tenant(&ctx, "write:contacts").await?;
    let contacts = ctx.contacts();
    let contact = contacts.get(&tenant, &id).await?;
    let channel = match contact.channel.as_str() {
        "whatsapp" => Channel::Whatsapp,
        "instagram" => Channel::Instagram,
        "messenger" => Channel::Messenger,
        _ => Channel::Unknown,
    };
    let redacted = ctx
        .meta_events()
        .redact_person(&tenant, channel, &contact.external_id)
        .await?;
    contacts.delete(&tenant, &contact).await?;
    ctx.audit()
        .record(
            &tenant,
            &caller.actor(),
            "contact.erased",
            &contact.id,
            vec![],
        )
        .await?;
    ctx.events()
        .publish(
            &tenant,
            "contact.deleted",
            json!({"contact": {"id": contact.id, "channel": contact.channel}}),
            None,
            "contacts",
        )
        .await?;
    Ok(Json(
        json!({"id": contact.id, "deleted": true, "redactedEvents": redacted}),
    ))
}

async fn export(
    ctx: &AppContext,
    caller: &Caller,
    query: &ListQuery,
    format: &str,
) -> ApiResult<Response> {
    let tenant = caller.tenant(ctx, "export:contacts").await?;
    let sel = selection(query)?;
    let include_events = parse_bool("includeEvents", query.params.get("includeEvents"))?;
    let limit = query
        .limit
        .map_or(MAX_EXPORT_ROWS, |l| (l as usize).min(MAX_EXPORT_ROWS));
    // In creation order (the default) the export reads the id index page by page, so a large
    // tenant is never held in memory; other orders must read every contact to sort them.
    let (owned, total, next) = if sel.sort_by == SortBy::CreatedAt && sel.offset == 0 {
        let (rows, more) = ctx
            .contacts()
            .created_order_page(
                &tenant,
                &sel.filter,
                sel.descending,
                query.cursor.as_deref(),
                limit,
            )
            .await?;
        let next = more.then(|| rows.last().map(|c| c.id.clone())).flatten();
        (rows, None, next)
    } else {
        let all = ctx
            .contacts()
            .list(&tenant, &sel.filter, sel.sort_by, sel.descending)
            .await?;
        let (rows, next) = window(&all, sel.offset, query.cursor.as_deref(), limit)?;
        (rows.to_vec(), Some(all.len()), next)
    };
    let rows = owned.as_slice();
    let (file, content_type) = if format == "csv" {
        (contacts_csv(rows).into_bytes(), "text/csv; charset=utf-8")
    } else {
        let recent = if include_events {
            let (events, _) = ctx
                .meta_events()
                .list(&tenant, None, None, Some(1000), None)
                .await?;
            events
        } else {
            Vec::new()
        };
        let contacts: Vec<Value> = rows
            .iter()
            .map(|c| {
                let mut view = c.view();
                if include_events {
                    let channel = serde_json::from_value::<Channel>(json!(c.channel))
                        .unwrap_or(Channel::Unknown);
                    view["recentEvents"] = json!(recent
                        .iter()
                        .filter(|e| e.concerns(channel, &c.external_id))
                        .take(20)
                        .map(|e| json!({"id": e.id, "eventType": e.event_type, "occurredAt": e.occurred_at, "data": e.data}))
                        .collect::<Vec<_>>());
                }
                view
            })
            .collect();
        let doc = json!({
            "exportedAt": hookhub_shared::time::now_rfc3339(),
            "count": contacts.len(),
            "total": total,
            "nextCursor": next,
            "contacts": contacts,
        });
        (
            serde_json::to_vec_pretty(&doc).unwrap_or_default(),
            "application/json",
        )
    };
    let record = ctx
        .export_audit()
        .record(
            &tenant,
            &caller.actor(),
            format,
            sel.echo,
            rows.len(),
            &file,
        )
        .await?;
    let mut response = (StatusCode::OK, file).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = format!("attachment; filename=\"contacts-{}.{format}\"", record.id);
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    for (name, value) in [
        ("x-export-id", Some(record.id.clone())),
        ("x-export-sha256", Some(record.sha256.clone())),
        ("x-total-count", total.map(|t| t.to_string())),
        ("x-next-cursor", next),
    ] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(name, v);
        }
    }
    Ok(response)
}

pub async fn export_csv(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Response> {
    export(&ctx, &caller, &query, "csv").await
}

pub async fn export_json(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Response> {
    export(&ctx, &caller, &query, "json").await
}

pub async fn export_audit(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Value>> {
    let tenant = caller.tenant(&ctx, "export:contacts").await?;
    let (records, next) = ctx
        .export_audit()
        .list(&tenant, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(records.iter().map(|r| json!(r)).collect(), next)))
}
