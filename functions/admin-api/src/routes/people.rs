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

pub async fn list_platform(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<PersonView>>> {
    caller.require_platform_admin()?;
    list(&ctx, Scope::Platform, &query).await
}

pub async fn invite_platform(
    State(ctx): State<AppContext>,
    caller: Caller,
    JsonObject(input): JsonObject,
) -> ApiResult<(StatusCode, Json<PersonView>)> {
    caller.require_platform_admin()?;
    invite(&ctx, &caller, Scope::Platform, input).await
}

pub async fn disable_platform(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> ApiResult<Json<PersonView>> {
    caller.require_platform_admin()?;
    set_enabled(&ctx, &caller, Scope::Platform, &user_id, false).await
}

pub async fn enable_platform(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> ApiResult<Json<PersonView>> {
    caller.require_platform_admin()?;
    set_enabled(&ctx, &caller, Scope::Platform, &user_id, true).await
}

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

pub async fn list_tenant(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant_id): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<Page<PersonView>>> {
    tenant_scope(&ctx, &caller, &tenant_id).await?;
    list(&ctx, Scope::Tenant(&tenant_id), &query).await
}

pub async fn invite_tenant(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(tenant_id): Path<String>,
    JsonObject(input): JsonObject,
) -> ApiResult<(StatusCode, Json<PersonView>)> {
    tenant_scope(&ctx, &caller, &tenant_id).await?;
    invite(&ctx, &caller, Scope::Tenant(&tenant_id), input).await
}

pub async fn disable_tenant(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant_id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<PersonView>> {
    tenant_scope(&ctx, &caller, &tenant_id).await?;
    set_enabled(&ctx, &caller, Scope::Tenant(&tenant_id), &user_id, false).await
}

pub async fn enable_tenant(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant_id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<PersonView>> {
    tenant_scope(&ctx, &caller, &tenant_id).await?;
    set_enabled(&ctx, &caller, Scope::Tenant(&tenant_id), &user_id, true).await
}

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
