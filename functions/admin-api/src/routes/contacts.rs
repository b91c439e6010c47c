//! `/api/v1/contacts` and `/api/v1/export`: the contacts captured from Meta events, with the
//! filters, tenant edits, erasure, and audited CSV/JSON exports.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hookhub_shared::contacts::{Contact, ContactPage, ContactUpdate, ContactView};
use hookhub_shared::erasure::{ContactErased, ErasureView};
use hookhub_shared::exports::{ExportFormat, ExportRecord, ExportRequest};
use hookhub_shared::page::Page;
use hookhub_shared::store::DEFAULT_PAGE_SIZE;
use hookhub_shared::AppContext;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::input::{page, JsonObject, ListQuery};
use crate::queries::{ContactQuery, ExportEvents, ExportFields, MAX_EXPORT_ROWS};
use crate::ApiError;

// The OpenAPI document's types, named by the handlers' annotations.
#[cfg(feature = "openapi")]
use crate::error::ErrorBody;
#[cfg(feature = "openapi")]
use crate::openapi::generate::{
    BodyErrors, CallErrors, ErasurePage, ExportPageParams, ExportRecordPage, PageParams,
    TenantCallErrors, TenantHeader,
};
#[cfg(feature = "openapi")]
use hookhub_shared::exports::ContactExportFile;

type ApiResult<T> = Result<T, ApiError>;

/// The filters as given (every parameter but `offset` and `includeEvents`), for the export
/// audit.
fn filters_given(query: &ListQuery) -> Value {
    json!(query
        .params
        .iter()
        .filter(|(k, _)| !["offset", "includeEvents"].contains(&k.as_str()))
        .collect::<std::collections::BTreeMap<_, _>>())
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/contacts", operation_id = "listContacts",
    tag = "contacts",
    summary = "Contacts captured from Meta events, filtered and sorted",
    params(TenantHeader, ContactQuery, PageParams),
    responses(
        (status = 200, description = "A page with total", body = ContactPage),
        TenantCallErrors,
    ),
))]
pub async fn list(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<ContactPage>> {
    let tenant = caller.tenant(&ctx, "read:contacts").await?;
    let sel = ContactQuery::read(&query)?.selection();
    let limit = query.limit.unwrap_or(DEFAULT_PAGE_SIZE) as usize;
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
    params(TenantHeader, ("contactId" = String, Path)),
    responses(
        (status = 200, description = "The contact", body = ContactView),
        (status = 404, description = "Unknown contact", body = ErrorBody),
        CallErrors,
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
    params(TenantHeader, ("contactId" = String, Path)),
    request_body = ContactUpdate,
    responses(
        (status = 200, description = "The contact", body = ContactView),
        (status = 404, description = "Unknown contact", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        CallErrors,
        BodyErrors,
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
    params(TenantHeader, ("contactId" = String, Path)),
    responses(
        (status = 202, description = "The contact is deleted; the erasure runs as a job (its status at erasure.statusUrl)", body = ContactErased),
        (status = 404, description = "Unknown contact", body = ErrorBody),
        CallErrors,
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
    params(TenantHeader, ("erasureId" = String, Path)),
    responses(
        (status = 200, description = "The erasure", body = ErasureView),
        (status = 404, description = "Unknown erasure", body = ErrorBody),
        CallErrors,
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
    params(TenantHeader, PageParams),
    responses(
        (status = 200, description = "A page of erasures", body = ErasurePage),
        CallErrors,
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
    let request = ExportRequest {
        selection: ContactQuery::read(query)?.selection(),
        filters: filters_given(query),
        cursor: query.cursor.as_deref(),
        limit: query
            .limit
            .map_or(MAX_EXPORT_ROWS, |l| (l as usize).min(MAX_EXPORT_ROWS)),
        include_events: ExportEvents::read(query)?.include_events,
        fields: ExportFields::read(query)?.fields,
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

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/export/contacts.csv", operation_id = "exportContactsCsv",
    tag = "contacts",
    summary = "Contacts as CSV (up to 10,000 rows per request), recorded in the export audit; in creation order (the default) read page by page, X-Total-Count only for other orders",
    params(TenantHeader, ContactQuery, ExportPageParams, ExportFields),
    responses(
        (status = 200, description = "CSV with a header row", content_type = "text/csv", body = String, headers(
            ("X-Export-Id" = String),
            ("X-Export-Sha256" = String),
            ("X-Total-Count" = i64),
            ("X-Next-Cursor" = String, description = "present when more rows remain"),
        )),
        TenantCallErrors,
    ),
))]
pub async fn export_csv(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Response> {
    export(&ctx, &caller, &query, ExportFormat::Csv).await
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/export/contacts.json", operation_id = "exportContactsJson",
    tag = "contacts",
    summary = "Contacts as JSON, optionally with their recent events, recorded in the export audit; in creation order (the default) read page by page, X-Total-Count only for other orders",
    params(TenantHeader, ContactQuery, ExportPageParams, ExportEvents, ExportFields),
    responses(
        (status = 200, description = "Contacts as JSON", content_type = "application/json", body = ContactExportFile, headers(
            ("X-Export-Id" = String),
            ("X-Export-Sha256" = String),
            ("X-Total-Count" = i64),
            ("X-Next-Cursor" = String, description = "present when more rows remain"),
        )),
        TenantCallErrors,
    ),
))]
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
    params(TenantHeader, PageParams),
    responses(
        (status = 200, description = "A page", body = ExportRecordPage),
        TenantCallErrors,
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
