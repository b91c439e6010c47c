//! `/api/v1/messages`: send an SMS or WhatsApp message through the tenant's provider and
//! follow its status; and a platform admin's test send of an integration.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use hookhub_shared::integrations::{ConnectionCheck, IntegrationKind};
use hookhub_shared::messages::{Channel, MessageFilter, MessageView, SendRequest, STATUSES};
use hookhub_shared::page::Page;
use hookhub_shared::validation::is_e164;
use hookhub_shared::AppContext;

use crate::auth::Caller;
use crate::input::{
    bad_query, idempotency_key, page, parse_time, JsonObject, ListQuery, OptionalJsonObject,
};
use crate::ApiError;

type ApiResult<T> = Result<T, ApiError>;

const PERMISSION: &str = "send:messages";

#[cfg_attr(feature = "openapi", utoipa::path(
    post, path = "/api/v1/messages", operation_id = "sendMessage",
    tag = "messages",
    summary = "Send an SMS or WhatsApp message through the tenant's provider",
    params(crate::openapi::generate::TenantHeader, crate::openapi::generate::IdempotencyKey),
    request_body = hookhub_shared::messages::SendRequest,
    responses(
        (status = 202, description = "Queued for sending", body = hookhub_shared::messages::MessageView),
        (status = 404, description = "The tenant (X-Tenant-Id, for platform admins) does not exist", body = crate::error::ErrorBody),
        (status = 409, description = "The tenant's integration for this channel is missing, disabled or incomplete; or the Idempotency-Key was used for another message; nothing queued", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid fields", body = crate::error::ErrorBody),
        crate::openapi::generate::CallErrors,
        crate::openapi::generate::BodyErrors,
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
    params(crate::openapi::generate::TenantHeader, ("messageId" = String, Path)),
    responses(
        (status = 200, description = "The message", body = hookhub_shared::messages::MessageView),
        (status = 404, description = "Unknown message", body = crate::error::ErrorBody),
        crate::openapi::generate::CallErrors,
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

pub async fn list(
    State(ctx): State<AppContext>,
    caller: Caller,
    query: ListQuery,
) -> ApiResult<Json<Page<MessageView>>> {
    let tenant = caller.tenant(&ctx, "read:messages").await?;
    let params = &query.params;
    let status = params.get("status").cloned();
    if let Some(s) = &status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(bad_query(
                "status must be queued, sent, delivered, read or failed",
            ));
        }
    }
    let channel = params.get("channel").cloned();
    if channel
        .as_deref()
        .is_some_and(|c| Channel::parse(c).is_none())
    {
        return Err(bad_query("channel must be sms or whatsapp"));
    }
    let to = params.get("to").cloned();
    if to.as_deref().is_some_and(|t| !is_e164(t)) {
        return Err(bad_query("to must be an E.164 phone number (+15551234567)"));
    }
    let filter = MessageFilter {
        status,
        channel,
        to,
        from: parse_time("from", params.get("from"))?,
        until: parse_time("until", params.get("until"))?,
    };
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
    params(("tenantId" = String, Path), ("kind" = inline(hookhub_shared::integrations::IntegrationKind), Path)),
    request_body(
        content = Option<hookhub_shared::messages::content::openapi::IntegrationTestRequest>,
        description = "sms, and whatsapp to send a test message; instagram and n8n take no body, nor does whatsapp's Graph check",
    ),
    responses(
        (status = 200, description = "The test's result", body = hookhub_shared::integrations::ConnectionCheck),
        (status = 404, description = "Unknown tenant, or not the sms or whatsapp integration", body = crate::error::ErrorBody),
        (status = 409, description = "The integration is missing, disabled or incomplete", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid fields", body = crate::error::ErrorBody),
        crate::openapi::generate::CallErrors,
        crate::openapi::generate::BodyErrors,
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
