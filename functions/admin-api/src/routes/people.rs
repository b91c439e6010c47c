//! People: platform admins manage the platform's admins (`/api/platform/users`) and each
//! tenant's (`/api/platform/tenants/{id}/users`); a tenant admin lists its own tenant's
//! (`/api/v1/users`). Every change is audited in the scope's log.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hookhub_shared::audit::AuditEntry;
use hookhub_shared::page::Page;
use hookhub_shared::people::{Invite, PersonView, Scope};
use hookhub_shared::AppContext;

use crate::auth::Caller;
use crate::input::{page, JsonObject, ListQuery};
use crate::ApiError;

// The OpenAPI document's types, named by the handlers' annotations.
#[cfg(feature = "openapi")]
use crate::error::ErrorBody;
#[cfg(feature = "openapi")]
use crate::openapi::generate::{
    AdminCallErrors, AuditEntryPage, BodyErrors, PageParams, PersonPage,
};

type ApiResult<T> = Result<T, ApiError>;

async fn list(
    ctx: &AppContext,
    scope: Scope<'_>,
    query: &ListQuery,
) -> ApiResult<Json<Page<PersonView>>> {
    let (people, next) = ctx
        .people()
        .list(scope, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(people.iter().map(|p| p.view()).collect(), next)))
}

async fn invite(
    ctx: &AppContext,
    caller: &Caller,
    scope: Scope<'_>,
    input: hookhub_shared::validation::Fields,
) -> ApiResult<(StatusCode, Json<PersonView>)> {
    let invite = Invite::read(input)?;
    let person = ctx.people().invite(scope, invite, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(person.view())))
}

async fn set_enabled(
    ctx: &AppContext,
    caller: &Caller,
    scope: Scope<'_>,
    user_id: &str,
    enabled: bool,
) -> ApiResult<Json<PersonView>> {
    let person = ctx
        .people()
        .set_enabled(scope, user_id, enabled, &caller.actor())
        .await?;
    Ok(Json(person.view()))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/platform/users", operation_id = "listPlatformAdmins",
    tag = "people",
    summary = "Platform administrators",
    params(PageParams),
    responses(
        (status = 200, description = "A page of people", body = PersonPage),
        AdminCallErrors,
    ),
))]
pub async fn list_platform(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<PersonView>>> {
    caller.require_platform_admin()?;
    list(&ctx, Scope::Platform, &query).await
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/platform/users", operation_id = "invitePlatformAdmin",
    tag = "people",
    summary = "Invite a platform administrator (temporary password by email, or as given)",
    request_body = Invite,
    responses(
        (status = 201, description = "Invited", body = PersonView),
        (status = 409, description = "A user with this email exists, or sign-in is not configured", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        AdminCallErrors,
        BodyErrors,
    ),
))]
pub async fn invite_platform(
    State(ctx): State<AppContext>,
    caller: Caller,
    JsonObject(input): JsonObject,
) -> ApiResult<(StatusCode, Json<PersonView>)> {
    caller.require_platform_admin()?;
    invite(&ctx, &caller, Scope::Platform, input).await
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/platform/users/{userId}/disable", operation_id = "disablePlatformAdmin",
    tag = "people",
    summary = "Disable a platform administrator and end their sessions",
    params(("userId" = String, Path)),
    responses(
        (status = 200, description = "Disabled", body = PersonView),
        (status = 404, description = "Unknown user", body = ErrorBody),
        (status = 409, description = "Sign-in is not configured, or a change to yourself", body = ErrorBody),
        AdminCallErrors,
    ),
))]
pub async fn disable_platform(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> ApiResult<Json<PersonView>> {
    caller.require_platform_admin()?;
    set_enabled(&ctx, &caller, Scope::Platform, &user_id, false).await
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/platform/users/{userId}/enable", operation_id = "enablePlatformAdmin",
    tag = "people",
    summary = "Enable a platform administrator again",
    params(("userId" = String, Path)),
    responses(
        (status = 200, description = "Enabled", body = PersonView),
        (status = 404, description = "Unknown user", body = ErrorBody),
        (status = 409, description = "Sign-in is not configured, or a change to yourself", body = ErrorBody),
        AdminCallErrors,
    ),
))]
pub async fn enable_platform(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> ApiResult<Json<PersonView>> {
    caller.require_platform_admin()?;
    set_enabled(&ctx, &caller, Scope::Platform, &user_id, true).await
}

#[cfg_attr(feature = "openapi", utoipa::path(
    delete, path = "/api/platform/users/{userId}", operation_id = "removePlatformAdmin",
    tag = "people",
    summary = "Remove a platform administrator",
    params(("userId" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "Unknown user", body = ErrorBody),
        (status = 409, description = "Sign-in is not configured, or a change to yourself", body = ErrorBody),
        AdminCallErrors,
    ),
))]
pub async fn remove_platform(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require_platform_admin()?;
    ctx.people()
        .remove(Scope::Platform, &user_id, &caller.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A tenant's scope, after checking that the tenant exists.
async fn tenant_scope(ctx: &AppContext, caller: &Caller, tenant_id: &str) -> ApiResult<()> {
    caller.platform_tenant(ctx, tenant_id).await?;
    Ok(())
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/platform/tenants/{tenantId}/users", operation_id = "listTenantUsers",
    tag = "people",
    summary = "A tenant's administrators",
    params(("tenantId" = String, Path), PageParams),
    responses(
        (status = 200, description = "A page of people", body = PersonPage),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        AdminCallErrors,
    ),
))]
pub async fn list_tenant(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant_id): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<Page<PersonView>>> {
    tenant_scope(&ctx, &caller, &tenant_id).await?;
    list(&ctx, Scope::Tenant(&tenant_id), &query).await
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/platform/tenants/{tenantId}/users", operation_id = "inviteTenantAdmin",
    tag = "people",
    summary = "Invite a tenant administrator (temporary password by email, or as given)",
    params(("tenantId" = String, Path)),
    request_body = Invite,
    responses(
        (status = 201, description = "Invited", body = PersonView),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        (status = 409, description = "A user with this email exists, or sign-in is not configured", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        AdminCallErrors,
        BodyErrors,
    ),
))]
pub async fn invite_tenant(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant_id): Path<String>,
    JsonObject(input): JsonObject,
) -> ApiResult<(StatusCode, Json<PersonView>)> {
    tenant_scope(&ctx, &caller, &tenant_id).await?;
    invite(&ctx, &caller, Scope::Tenant(&tenant_id), input).await
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/platform/tenants/{tenantId}/users/{userId}/disable", operation_id = "disableTenantAdmin",
    tag = "people",
    summary = "Disable a tenant administrator and end their sessions",
    params(("tenantId" = String, Path), ("userId" = String, Path)),
    responses(
        (status = 200, description = "Disabled", body = PersonView),
        (status = 404, description = "Unknown tenant or user", body = ErrorBody),
        (status = 409, description = "Sign-in is not configured, or a change to yourself", body = ErrorBody),
        AdminCallErrors,
    ),
))]
pub async fn disable_tenant(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant_id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<PersonView>> {
    tenant_scope(&ctx, &caller, &tenant_id).await?;
    set_enabled(&ctx, &caller, Scope::Tenant(&tenant_id), &user_id, false).await
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/platform/tenants/{tenantId}/users/{userId}/enable", operation_id = "enableTenantAdmin",
    tag = "people",
    summary = "Enable a tenant administrator again",
    params(("tenantId" = String, Path), ("userId" = String, Path)),
    responses(
        (status = 200, description = "Enabled", body = PersonView),
        (status = 404, description = "Unknown tenant or user", body = ErrorBody),
        (status = 409, description = "Sign-in is not configured, or a change to yourself", body = ErrorBody),
        AdminCallErrors,
    ),
))]
pub async fn enable_tenant(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant_id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<PersonView>> {
    tenant_scope(&ctx, &caller, &tenant_id).await?;
    set_enabled(&ctx, &caller, Scope::Tenant(&tenant_id), &user_id, true).await
}

#[cfg_attr(feature = "openapi", utoipa::path(
    delete, path = "/api/platform/tenants/{tenantId}/users/{userId}", operation_id = "removeTenantAdmin",
    tag = "people",
    summary = "Remove a tenant administrator",
    params(("tenantId" = String, Path), ("userId" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "Unknown tenant or user", body = ErrorBody),
        (status = 409, description = "Sign-in is not configured, or a change to yourself", body = ErrorBody),
        AdminCallErrors,
    ),
))]
pub async fn remove_tenant(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant_id, user_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    tenant_scope(&ctx, &caller, &tenant_id).await?;
    ctx.people()
        .remove(Scope::Tenant(&tenant_id), &user_id, &caller.actor())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own tenant's people (tenant admins; platform admins name the tenant).
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/users", operation_id = "listOwnTenantUsers",
    tag = "people",
    summary = "The administrators of the caller's tenant",
    params(PageParams),
    responses(
        (status = 200, description = "A page of people", body = PersonPage),
        AdminCallErrors,
    ),
))]
pub async fn list_own(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<PersonView>>> {
    caller.require_admin()?;
    let tenant_id = caller.tenant(&ctx, "*").await?;
    list(&ctx, Scope::Tenant(&tenant_id), &query).await
}

/// Changes to platform admins.
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/platform/audit", operation_id = "listPlatformAudit",
    tag = "people",
    summary = "Audit log of changes to platform administrators",
    params(PageParams),
    responses(
        (status = 200, description = "A page of entries", body = AuditEntryPage),
        AdminCallErrors,
    ),
))]
pub async fn platform_audit(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<AuditEntry>>> {
    caller.require_platform_admin()?;
    let (entries, next) = ctx
        .audit()
        .list(Scope::Platform.id(), query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(entries, next)))
}
