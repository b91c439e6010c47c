//! `/api/v1/contacts` and `/api/v1/export`: the contacts captured from Meta events, with the
//! filters, tenant edits, erasure, and audited CSV/JSON exports.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hookhub_shared::contacts::{
    Contact, ContactFilter, ContactPage, ContactUpdate, ContactView, Selection, SortBy,
};
use hookhub_shared::erasure::{ContactErased, ErasureView};
use hookhub_shared::exports::{ExportFormat, ExportRecord, ExportRequest};
use hookhub_shared::page::Page;
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
struct Parsed {
    selection: Selection,
    echo: Value,
}

fn selection(query: &ListQuery) -> ApiResult<Parsed> {
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
    Ok(Parsed {
        selection: Selection {
            filter,
            sort_by,
            descending,
            offset,
        },
        echo,
    })
}

pub async fn list(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<ContactPage>> {
    let tenant = caller.tenant(&ctx, "read:contacts").await?;
    let sel = selection(&query)?.selection;
    let limit = query.limit.unwrap_or(50) as usize;
    let selected = ctx
        .contacts()
        .select(&tenant, &sel, query.cursor.as_deref(), limit, false)
        .await?;
    Ok(Json(ContactPage {
        data: selected.rows.iter().map(Contact::view).collect(),
        has_more: selected.next.is_some(),
        next_cursor: selected.next,
        total: selected.total,
        limit,
        offset: sel.offset,
    }))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/contacts/{contactId}", operation_id = "getContact",
    tag = "contacts",
    summary = "One contact",
    params(crate::openapi::generate::TenantHeader, ("contactId" = String, Path)),
    responses(
        (status = 200, description = "The contact", body = hookhub_shared::contacts::ContactView),
        (status = 404, description = "Unknown contact", body = crate::error::ErrorBody),
        crate::openapi::generate::CallErrors,
    ),
))]
pub async fn get(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ContactView>> {
    let tenant = caller.tenant(&ctx, "read:contacts").await?;
    Ok(Json(ctx.contacts().get(&tenant, &id).await?.view()))
}

/// Tags, custom fields, email and export consent (its time set when it is given).
#[cfg_attr(feature = "openapi", utoipa::path(
    patch, path = "/api/v1/contacts/{contactId}", operation_id = "updateContact",
    tag = "contacts",
    summary = "Tags, custom fields, email, export consent",
    params(crate::openapi::generate::TenantHeader, ("contactId" = String, Path)),
    request_body = hookhub_shared::contacts::ContactUpdate,
    responses(
        (status = 200, description = "The contact", body = hookhub_shared::contacts::ContactView),
        (status = 404, description = "Unknown contact", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid fields", body = crate::error::ErrorBody),
        crate::openapi::generate::CallErrors,
        crate::openapi::generate::BodyErrors,
    ),
))]
pub async fn update(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(input): JsonObject,
) -> ApiResult<Json<ContactView>> {
    let tenant = caller.tenant(&ctx, "write:contacts").await?;
    let update = ContactUpdate::read(input)?;
    let edit = ctx.contacts().edit(&tenant, &id, update).await?;
    if !edit.changes.is_empty() {
        let fields = edit.changes.iter().map(|c| c.to_string()).collect();
        super::audit::record(
            &ctx,
            &caller,
            &tenant,
            "contact.updated",
            &edit.contact.id,
            fields,
        )
        .await?;
    }
    let events = ctx.events();
    for (event_type, data) in edit.announcements() {
        events
            .publish(&tenant, event_type, data, None, "contacts")
            .await?;
    }
    Ok(Json(edit.contact.view()))
}

/// Erasure: the contact record is deleted at once, and a job redacts everything else held
/// about the person (Meta events, hookhub events and their deliveries, messages); the
/// answer is 202 with the erasure, whose status `erasure_status` reads.
#[cfg_attr(feature = "openapi", utoipa::path(
    delete, path = "/api/v1/contacts/{contactId}", operation_id = "eraseContact",
    tag = "contacts",
    summary = "Erase the contact: delete it and start the erasure of everything held about the person",
    params(crate::openapi::generate::TenantHeader, ("contactId" = String, Path)),
    responses(
        (status = 202, description = "The contact is deleted; the erasure runs as a job (its status at erasure.statusUrl)", body = hookhub_shared::erasure::ContactErased),
        (status = 404, description = "Unknown contact", body = crate::error::ErrorBody),
        crate::openapi::generate::CallErrors,
    ),
))]
pub async fn delete(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<ContactErased>)> {
    let tenant = caller.tenant(&ctx, "delete:contacts").await?;
    let (contact, erasure) = ctx
        .erasures()
        .erase_contact(&tenant, &id, &caller.actor().label())
        .await?;
    super::audit::record(
        &ctx,
        &caller,
        &tenant,
        "contact.erased",
        &contact.id,
        vec![format!("erasure={}", erasure.id)],
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
    Ok((
        StatusCode::ACCEPTED,
        Json(ContactErased {
            id: contact.id,
            deleted: true,
            erasure: erasure.view(),
        }),
    ))
}

/// `GET /api/v1/contacts/erasures/{id}`: how far an erasure has got.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/contacts/erasures/{erasureId}", operation_id = "getErasure",
    tag = "contacts",
    summary = "How far one erasure has got",
    params(crate::openapi::generate::TenantHeader, ("erasureId" = String, Path)),
    responses(
        (status = 200, description = "The erasure", body = hookhub_shared::erasure::ErasureView),
        (status = 404, description = "Unknown erasure", body = crate::error::ErrorBody),
        crate::openapi::generate::CallErrors,
    ),
))]
pub async fn erasure_status(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ErasureView>> {
    let tenant = caller.tenant(&ctx, "read:contacts").await?;
    Ok(Json(ctx.erasures().get(&tenant, &id).await?.view()))
}

/// `GET /api/v1/contacts/erasures`: the tenant's erasures, newest first.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/contacts/erasures", operation_id = "listErasures",
    tag = "contacts",
    summary = "The tenant's erasures, newest first",
    params(crate::openapi::generate::TenantHeader, crate::openapi::generate::PageParams),
    responses(
        (status = 200, description = "A page of erasures", body = crate::openapi::generate::ErasurePage),
        crate::openapi::generate::CallErrors,
    ),
))]
pub async fn erasures(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<ErasureView>>> {
    let tenant = caller.tenant(&ctx, "read:contacts").await?;
    let (found, next) = ctx
        .erasures()
        .list(&tenant, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(found.iter().map(|e| e.view()).collect(), next)))
}

async fn export(
    ctx: &AppContext,
    caller: &Caller,
    query: &ListQuery,
    format: ExportFormat,
) -> ApiResult<Response> {
    let tenant = caller.tenant(ctx, "export:contacts").await?;
    let parsed = selection(query)?;
    let request = ExportRequest {
        selection: parsed.selection,
        filters: parsed.echo,
        cursor: query.cursor.as_deref(),
        limit: query
            .limit
            .map_or(MAX_EXPORT_ROWS, |l| (l as usize).min(MAX_EXPORT_ROWS)),
        include_events: parse_bool("includeEvents", query.params.get("includeEvents"))?,
        fields: query
            .params
            .get("fields")
            .map(|f| hookhub_shared::exports::parse_fields(f))
            .transpose()
            .map_err(bad_query)?,
        format,
    };
    let export = ctx
        .contact_exporter()
        .export(&tenant, &caller.actor(), request)
        .await?;
    let mut response = (StatusCode::OK, export.file).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    let disposition = format!(
        "attachment; filename=\"contacts-{}.{}\"",
        export.record.id,
        format.as_str()
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    for (name, value) in [
        ("x-export-id", Some(export.record.id.clone())),
        ("x-export-sha256", Some(export.record.sha256.clone())),
        ("x-total-count", export.total.map(|t| t.to_string())),
        ("x-next-cursor", export.next),
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
    export(&ctx, &caller, &query, ExportFormat::Csv).await
}

pub async fn export_json(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Response> {
    export(&ctx, &caller, &query, ExportFormat::Json).await
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/export/audit", operation_id = "listExports",
    tag = "contacts",
    summary = "Every export: who, when, filters, rows, SHA-256",
    params(crate::openapi::generate::TenantHeader, crate::openapi::generate::PageParams),
    responses(
        (status = 200, description = "A page", body = crate::openapi::generate::ExportRecordPage),
        (status = 404, description = "The tenant (X-Tenant-Id, for platform admins) does not exist", body = crate::error::ErrorBody),
        crate::openapi::generate::CallErrors,
    ),
))]
pub async fn export_audit(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<ExportRecord>>> {
    let tenant = caller.tenant(&ctx, "export:contacts").await?;
    let (records, next) = ctx
        .export_audit()
        .list(&tenant, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(records, next)))
}
