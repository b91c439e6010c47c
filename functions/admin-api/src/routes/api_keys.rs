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

// The OpenAPI document's types, named by the handlers' annotations.
#[cfg(feature = "openapi")]
use crate::error::ErrorBody;
#[cfg(feature = "openapi")]
use crate::openapi::generate::{ApiKeyPage, BodyErrors, CallErrors, PageParams, TenantHeader};

type ApiResult<T> = Result<T, ApiError>;

async fn admin_tenant(ctx: &AppContext, caller: &Caller) -> ApiResult<String> {
    caller.require_admin()?;
    caller.tenant(ctx, "*").await
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/v1/api-keys", operation_id = "createApiKey", tag = "api-keys",
    summary = "Create an API key; the key is returned once",
    params(TenantHeader),
    request_body = ApiKeyCreate,
    responses(
        (status = 201, description = "Created", body = IssuedKeyView),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        CallErrors,
        BodyErrors,
    ),
))]
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

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/api-keys", operation_id = "listApiKeys", tag = "api-keys",
    summary = "List API keys (never the key itself)",
    params(TenantHeader, PageParams),
    responses(
        (status = 200, description = "A page of keys", body = ApiKeyPage),
        (status = 404, description = "Unknown tenant", body = ErrorBody),
        CallErrors,
    ),
))]
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
#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/api-keys/{keyId}/usage", operation_id = "getApiKeyUsage",
    tag = "api-keys",
    summary = "A key's last 30 days: requests per day, refusals (401, 403, 429), last use and address",
    params(TenantHeader, ("keyId" = String, Path)),
    responses(
        (status = 200, description = "The key's usage", body = KeyUsage),
        (status = 404, description = "Unknown API key", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn usage(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(key_id): Path<String>,
) -> ApiResult<Json<KeyUsage>> {
    let tenant_id = admin_tenant(&ctx, &caller).await?;
    let key = ctx.api_keys().get(&tenant_id, &key_id).await?;
    Ok(Json(ctx.rate_limiter().usage(&key).await?))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/v1/api-keys/{keyId}/regenerate", operation_id = "regenerateApiKey",
    tag = "api-keys",
    summary = "Replace the key's secret; the old one stops working",
    params(TenantHeader, ("keyId" = String, Path)),
    responses(
        (status = 200, description = "New key, shown once", body = IssuedKeyView),
        (status = 404, description = "Unknown key", body = ErrorBody),
        (status = 409, description = "Revoked key", body = ErrorBody),
        CallErrors,
    ),
))]
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

#[cfg_attr(feature = "openapi", utoipa::path(
    delete, path = "/api/v1/api-keys/{keyId}", operation_id = "revokeApiKey", tag = "api-keys",
    summary = "Revoke an API key",
    params(TenantHeader, ("keyId" = String, Path)),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "Unknown key", body = ErrorBody),
        CallErrors,
    ),
))]
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
