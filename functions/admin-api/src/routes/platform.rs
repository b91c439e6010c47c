//! Platform administration: tenants, their integrations, and the audit log.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hookhub_shared::audit::AuditEntry;
use hookhub_shared::integrations::{IntegrationKind, IntegrationView, Integrations};
use hookhub_shared::page::Page;
use hookhub_shared::tenants::{Tenant, TenantCreate, TenantUpdate, TenantView};
use hookhub_shared::AppContext;

use crate::auth::Caller;
use crate::input::{page, JsonObject, ListQuery};
use crate::ApiError;

type ApiResult<T> = Result<T, ApiError>;

fn tenant_view(ctx: &AppContext, tenant: &Tenant) -> TenantView {
    TenantView::new(tenant, ctx.config.quotas)
}

pub async fn create_tenant(
    State(ctx): State<AppContext>,
    caller: Caller,
    JsonObject(input): JsonObject,
) -> ApiResult<(StatusCode, Json<TenantView>)> {
    caller.require_platform_admin()?;
    let request = TenantCreate::read(input)?;
    let tenant = ctx.tenants().create(request).await?;
    let quotas = tenant.quota_overrides.changes_from_default();
    ctx.audit()
        .record(
            &tenant.id,
            &caller.actor(),
            "tenant.created",
            "tenant",
            quotas,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(tenant_view(&ctx, &tenant))))
}

pub async fn list_tenants(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<TenantView>>> {
    caller.require_platform_admin()?;
    let (tenants, next) = ctx
        .tenants()
        .list(query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(
        tenants.iter().map(|t| tenant_view(&ctx, t)).collect(),
        next,
    )))
}

pub async fn get_tenant(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant_id): Path<String>,
) -> ApiResult<Json<TenantView>> {
    caller.require_platform_admin()?;
    Ok(Json(tenant_view(
        &ctx,
        &ctx.tenants().get(&tenant_id).await?,
    )))
}

pub async fn update_tenant(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant_id): Path<String>,
    JsonObject(input): JsonObject,
) -> ApiResult<Json<TenantView>> {
    caller.require_platform_admin()?;
    let mut fields = input.names();
    let update = TenantUpdate::read(input)?;
    let (tenant, quota_changes) = ctx.tenants().update(&tenant_id, update).await?;
    // Quotas are recorded with their new values, which are not secret.
    fields.retain(|f| f != "quotas");
    fields.extend(quota_changes);
    super::audit::record(
        &ctx,
        &caller,
        &tenant.id,
        "tenant.updated",
        "tenant",
        fields,
    )
    .await?;
    Ok(Json(tenant_view(&ctx, &tenant)))
}

pub async fn delete_tenant(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant_id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require_platform_admin()?;
    // People first: a tenant half-deleted still lists whoever could not be removed.
    let people = ctx.people().remove_everyone(&tenant_id).await?;
    let removed = ctx.tenants().delete(&tenant_id).await?;
    tracing::info!(%tenant_id, removed, people, actor = %caller.actor().label(), "tenant deleted");
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_integrations(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant_id): Path<String>,
) -> ApiResult<Json<Integrations>> {
    caller.platform_tenant(&ctx, &tenant_id).await?;
    Ok(Json(ctx.integrations().masked_all(&tenant_id).await?))
}

pub async fn put_integration(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant_id, kind)): Path<(String, String)>,
    JsonObject(input): JsonObject,
) -> ApiResult<Json<IntegrationView>> {
    let kind = IntegrationKind::parse(&kind).ok_or_else(|| ApiError::not_found("integration"))?;
    caller.platform_tenant(&ctx, &tenant_id).await?;
    let record = ctx
        .integrations()
        .put(&tenant_id, kind, input, &caller.actor())
        .await?;
    Ok(Json(record.masked_view()))
}

pub async fn list_audit(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant_id): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<Page<AuditEntry>>> {
    caller.platform_tenant(&ctx, &tenant_id).await?;
    let (entries, next) = ctx
        .audit()
        .list(&tenant_id, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(entries, next)))
}
