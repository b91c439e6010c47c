//! The tenant's audit log, as its admins read it, and the one way routes write to it.

use axum::extract::State;
use axum::Json;
use hookhub_shared::audit::{AuditEntry, AuditFilter};
use hookhub_shared::page::Page;
use hookhub_shared::AppContext;

use crate::auth::Caller;
use crate::input::{page, parse_time, ListQuery};
use crate::ApiError;

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
pub async fn list(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    caller.require_admin()?;
    let tenant = caller.tenant(&ctx, "*").await?;
    let filter = AuditFilter {
        action: query.params.get("action").cloned(),
        actor: query.params.get("actor").cloned(),
        from: parse_time("from", query.params.get("from"))?,
        to: parse_time("to", query.params.get("to"))?,
    };
    let (entries, next) = ctx
        .audit()
        .list_filtered(&tenant, &filter, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(entries, next)))
}
