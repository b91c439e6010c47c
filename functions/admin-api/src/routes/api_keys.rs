//! `/api/v1/api-keys`: tenant API keys, managed by admins (JWT) only.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hookhub_shared::api_keys::{ApiKeyCreate, ApiKeyView, IssuedKeyView, KeyUsage};
use hookhub_shared::page::Page;
use hookhub_shared::AppContext;

use crate::auth::Caller;
use crate::input::{page, JsonObject, ListQuery};
use crate::ApiError;

type ApiResult<T> = Result<T, ApiError>;

async fn admin_tenant(ctx: &AppContext, caller: &Caller) -> ApiResult<String> {
    caller.require_admin()?;
    caller.tenant(ctx, "*").await
}

pub async fn create(
    State(ctx): State<AppContext>,
    caller: Caller,
    JsonObject(input): JsonObject,
) -> ApiResult<(StatusCode, Json<IssuedKeyView>)> {
    let tenant_id = admin_tenant(&ctx, &caller).await?;
    let request = ApiKeyCreate::read(input)?;
    let key = ctx.api_keys().create(&tenant_id, request).await?;
    ctx.audit()
        .record(
            &tenant_id,
            &caller.actor(),
            "api_key.created",
            &key.key.id,
            vec![],
        )
        .await?;
    Ok((StatusCode::CREATED, Json(key.view())))
}

pub async fn list(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<ApiKeyView>>> {
    let tenant_id = admin_tenant(&ctx, &caller).await?;
    let (keys, next) = ctx
        .api_keys()
        .list(&tenant_id, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(keys.iter().map(|k| k.view()).collect(), next)))
}

/// `GET /api/v1/api-keys/{id}/usage`: the key's last 30 days, day by day, with its last
/// use and the requests refused.
pub async fn usage(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(key_id): Path<String>,
) -> ApiResult<Json<KeyUsage>> {
    let tenant_id = admin_tenant(&ctx, &caller).await?;
    let key = ctx.api_keys().get(&tenant_id, &key_id).await?;
    Ok(Json(ctx.rate_limiter().usage(&key).await?))
}

pub async fn regenerate(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(key_id): Path<String>,
) -> ApiResult<Json<IssuedKeyView>> {
    let tenant_id = admin_tenant(&ctx, &caller).await?;
    let key = ctx.api_keys().regenerate(&tenant_id, &key_id).await?;
    ctx.audit()
        .record(
            &tenant_id,
            &caller.actor(),
            "api_key.regenerated",
            &key_id,
            vec![],
        )
        .await?;
    Ok(Json(key.view()))
}

pub async fn revoke(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(key_id): Path<String>,
) -> ApiResult<StatusCode> {
    let tenant_id = admin_tenant(&ctx, &caller).await?;
    ctx.api_keys().revoke(&tenant_id, &key_id).await?;
    ctx.audit()
        .record(
            &tenant_id,
            &caller.actor(),
            "api_key.revoked",
            &key_id,
            vec![],
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
