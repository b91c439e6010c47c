//! The tenant's audit log, as its admins read it, and the one way routes write to it.

use axum::extract::State;
use axum::Json;
use hookhub_shared::audit::AuditEntry;
use hookhub_shared::page::Page;
use hookhub_shared::AppContext;

use crate::auth::Caller;
use crate::input::{page, ListQuery};
use crate::queries::AuditQuery;
use crate::ApiError;

// The OpenAPI document's types, named by the handlers' annotations.
#[cfg(feature = "openapi")]
use crate::openapi::generate::{AuditEntryPage, PageParams, TenantCallErrors, TenantHeader};

/// Records a configuration change in the tenant's audit log: who, what, and which fields
/// (names only, never values, so never a secret).
pub async fn record(
    ctx: &AppContext,
    caller: &Caller,
    tenant: &str,
    action: &str,
    target: &str,
    fields: Vec<String>,
) -> Result<(), ApiError> {
    ctx.audit()
        .record(tenant, &caller.actor(), action, target, fields)
        .await?;
    Ok(())
}

/// `GET /api/v1/audit`: the tenant's changes, newest first, filtered by `action` (a prefix,
/// such as `endpoint.`), `actor`, `from` and `to`.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/audit", operation_id = "listOwnAudit",
    tag = "webhooks",
    summary = "The tenant's audit log, newest first: every configuration change, who made it and which fields (never values). Admins only; filters apply to each page as read, so follow nextCursor",
    params(TenantHeader, AuditQuery, PageParams),
    responses(
        (status = 200, description = "A page of entries", body = AuditEntryPage),
        TenantCallErrors,
    ),
))]
pub async fn list(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    caller.require_admin()?;
    let tenant = caller.tenant(&ctx, "*").await?;
    let filter = AuditQuery::read(&query)?.filter();
    let (entries, next) = ctx
        .audit()
        .list_filtered(&tenant, &filter, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(entries, next)))
}
