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

// The OpenAPI document's types, named by the handlers' annotations.
#[cfg(feature = "openapi")]
use crate::error::ErrorBody;
#[cfg(feature = "openapi")]
use crate::openapi::generate::{AuditEntryPage, BodyErrors, CallErrors, PageParams, TenantPage};
#[cfg(feature = "openapi")]
use hookhub_shared::integrations::openapi::IntegrationSettings;

type ApiResult<T> = Result<T, ApiError>;

fn tenant_view(ctx: &AppContext, tenant: &Tenant) -> TenantView {
    TenantView::new(tenant, ctx.config.quotas)
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/platform/tenants", operation_id = "createTenant",
    tag = "platform",
    summary = "Create a tenant",
    request_body = TenantCreate,
    responses(
        (status = 201, description = "Created", body = TenantView),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        CallErrors,
        BodyErrors,
    ),
))]
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

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/platform/tenants", operation_id = "listTenants",
    tag = "platform",
    summary = "List tenants, newest first",
    params(PageParams),
    responses(
        (status = 200, description = "A page of tenants", body = TenantPage),
        CallErrors,
    ),
))]
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

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/platform/tenants/{tenantId}", operation_id = "getTenant",
    tag = "platform",
    summary = "Get a tenant",
    params(("tenantId" = String, Path)),
    responses(
        (status = 200, description = "The tenant", body = TenantView),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        CallErrors,
    ),
))]
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

#[cfg_attr(feature = "openapi", utoipa::path(
    patch, path = "/api/platform/tenants/{tenantId}", operation_id = "updateTenant",
    tag = "platform",
    summary = "Update a tenant",
    params(("tenantId" = String, Path)),
    request_body = TenantUpdate,
    responses(
        (status = 200, description = "Updated", body = TenantView),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        CallErrors,
        BodyErrors,
    ),
))]
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

#[cfg_attr(feature = "openapi", utoipa::path(
    delete, path = "/api/platform/tenants/{tenantId}", operation_id = "deleteTenant",
    tag = "platform",
    summary = "Delete a tenant and every item it owns",
    params(("tenantId" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        CallErrors,
    ),
))]
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

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/platform/tenants/{tenantId}/integrations", operation_id = "getIntegrations",
    tag = "platform",
    summary = "Every integration of the tenant, secrets masked",
    params(("tenantId" = String, Path)),
    responses(
        (status = 200, description = "Integrations", body = Integrations),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn get_integrations(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant_id): Path<String>,
) -> ApiResult<Json<Integrations>> {
    caller.platform_tenant(&ctx, &tenant_id).await?;
    Ok(Json(ctx.integrations().masked_all(&tenant_id).await?))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    put, path = "/api/platform/tenants/{tenantId}/integrations/{kind}", operation_id = "putIntegration",
    tag = "platform",
    summary = "Configure WhatsApp, Instagram, SMS or n8n; secrets sealed with KMS",
    params(("tenantId" = String, Path), ("kind" = inline(IntegrationKind), Path)),
    request_body = IntegrationSettings,
    responses(
        (status = 200, description = "Stored, secrets masked", body = IntegrationView),
        (status = 404, description = "Unknown tenant or integration", body = ErrorBody),
        (status = 409, description = "Changed concurrently", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        CallErrors,
        BodyErrors,
    ),
))]
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

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/platform/tenants/{tenantId}/audit", operation_id = "listAudit",
    tag = "platform",
    summary = "Audit log of the tenant's configuration changes (field names, never values)",
    params(("tenantId" = String, Path), PageParams),
    responses(
        (status = 200, description = "A page of entries", body = AuditEntryPage),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        CallErrors,
    ),
))]
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
