//! `/api/v1/messages`: send an SMS or WhatsApp message through the tenant's provider and
//! follow its status; and a platform admin's test send of an integration.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use hookhub_shared::integrations::{ConnectionCheck, IntegrationKind};
use hookhub_shared::messages::{Channel, MessageView, SendRequest};
use hookhub_shared::page::Page;
use hookhub_shared::AppContext;

use crate::auth::Caller;
use crate::input::{idempotency_key, page, JsonObject, ListQuery, OptionalJsonObject};
use crate::queries::MessageQuery;
use crate::ApiError;

// The OpenAPI document's types, named by the handlers' annotations.
#[cfg(feature = "openapi")]
use crate::error::ErrorBody;
#[cfg(feature = "openapi")]
use crate::openapi::generate::{
    BodyErrors, CallErrors, IdempotencyKey, MessagePage, PageParams, TenantCallErrors, TenantHeader,
};
#[cfg(feature = "openapi")]
use hookhub_shared::messages::content::openapi::IntegrationTestRequest;

type ApiResult<T> = Result<T, ApiError>;

const PERMISSION: &str = "send:messages";

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/v1/messages", operation_id = "sendMessage",
    tag = "messages",
    summary = "Send an SMS or WhatsApp message through the tenant's provider",
    params(TenantHeader, IdempotencyKey),
    request_body = SendRequest,
    responses(
        (status = 202, description = "Queued for sending", body = MessageView),
        (status = 409, description = "The tenant's integration for this channel is missing, disabled or incomplete; or the Idempotency-Key was used for another message; nothing queued", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        TenantCallErrors,
        BodyErrors,
    ),
))]
pub async fn send(
    State(ctx): State<AppContext>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(mut input): JsonObject,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    let tenant = caller.tenant(&ctx, PERMISSION).await?;
    let key = idempotency_key(&headers)?;
    let request = SendRequest::read(&mut input, None);
    input.finish()?;
    let request = request.ok_or_else(ApiError::internal)?;
    let submitted = ctx
        .message_service()
        .submit(&tenant, request, key.as_deref())
        .await?;
    let mut body = submitted.message.view();
    body.duplicate = Some(submitted.duplicate);
    Ok((StatusCode::ACCEPTED, Json(body)))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/messages/{messageId}", operation_id = "getMessage",
    tag = "messages",
    summary = "A message's status, provider id, error and attempts",
    params(TenantHeader, ("messageId" = String, Path)),
    responses(
        (status = 200, description = "The message", body = MessageView),
        (status = 404, description = "Unknown message", body = ErrorBody),
        CallErrors,
    ),
))]
pub async fn get(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path(message_id): Path<String>,
) -> ApiResult<Json<MessageView>> {
    let tenant = caller.tenant(&ctx, "read:messages").await?;
    Ok(Json(ctx.messages().get(&tenant, &message_id).await?.view()))
}

#[cfg_attr(feature = "openapi", utoipa::path(
    get, path = "/api/v1/messages", operation_id = "listMessages",
    tag = "messages",
    summary = "Messages sent, newest first",
    params(TenantHeader, MessageQuery, PageParams),
    responses(
        (status = 200, description = "A page of messages", body = MessagePage),
        TenantCallErrors,
    ),
))]
pub async fn list(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<MessageView>>> {
    let tenant = caller.tenant(&ctx, "read:messages").await?;
    let filter = MessageQuery::read(&query)?.filter();
    let (messages, next) = ctx
        .messages()
        .list(&tenant, &filter, query.limit, query.cursor.as_deref())
        .await?;
    Ok(Json(page(
        messages.iter().map(|m| m.view()).collect(),
        next,
    )))
}

/// `POST /api/platform/tenants/{tenantId}/integrations/{sms|whatsapp}/test`: sends a real
/// message now and answers what the provider said (200 whether it took it or not).
#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/platform/tenants/{tenantId}/integrations/{kind}/test", operation_id = "testIntegration",
    tag = "platform",
    summary = "Test an integration: a real test message through sms or whatsapp (the provider's answer); the access token of instagram, or of whatsapp when no body is sent, against the Graph API (nothing sent); or n8n's health endpoint (reachability, TLS, latency)",
    params(("tenantId" = String, Path), ("kind" = inline(IntegrationKind), Path)),
    request_body(
        content = Option<IntegrationTestRequest>,
        description = "sms, and whatsapp to send a test message; instagram and n8n take no body, nor does whatsapp's Graph check",
    ),
    responses(
        (status = 200, description = "The test's result", body = ConnectionCheck),
        (status = 404, description = "Unknown tenant, or not the sms or whatsapp integration", body = ErrorBody),
        (status = 409, description = "The integration is missing, disabled or incomplete", body = ErrorBody),
        (status = 422, description = "Invalid fields", body = ErrorBody),
        CallErrors,
        BodyErrors,
    ),
))]
pub async fn test_integration(
    State(ctx): State<AppContext>,
    caller: Caller,
    Path((tenant_id, kind)): Path<(String, String)>,
    OptionalJsonObject(body): OptionalJsonObject,
) -> ApiResult<Json<ConnectionCheck>> {
    caller.platform_tenant(&ctx, &tenant_id).await?;
    if kind == "n8n" {
        if let Some(input) = body {
            input.finish()?;
        }
        return Ok(Json(ConnectionCheck::N8n(
            ctx.n8n_connection(&tenant_id).await?,
        )));
    }
    // Instagram, and WhatsApp without a number to send to: the token against the Graph API.
    let graph = match kind.as_str() {
        "instagram" => Some(IntegrationKind::Instagram),
        "whatsapp" if body.is_none() => Some(IntegrationKind::Whatsapp),
        _ => None,
    };
    if let Some(graph) = graph {
        if let Some(input) = body {
            input.finish()?;
        }
        return Ok(Json(ConnectionCheck::Graph(
            ctx.graph_connection(&tenant_id, graph).await?,
        )));
    }
    let channel = Channel::parse(&kind).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "the integrations are whatsapp, instagram, sms and n8n",
        )
    })?;
    let mut input =
        body.unwrap_or_else(|| hookhub_shared::validation::Fields::new(Default::default()));
    let request = SendRequest::read(&mut input, Some(channel));
    input.finish()?;
    let request = request.ok_or_else(ApiError::internal)?;
    if request.channel != channel {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("this is the {kind} integration's test; leave channel out"),
        ));
    }
    let result = ctx
        .message_service()
        .test_integration(&tenant_id, request, &caller.actor())
        .await?;
    Ok(Json(ConnectionCheck::Send(result.view())))
}
