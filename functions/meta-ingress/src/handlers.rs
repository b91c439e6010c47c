use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use hookhub_shared::ids::{self, IdKind};
use hookhub_shared::integrations::IntegrationKind;
use hookhub_shared::signing::constant_time_eq;
use hookhub_shared::signing::meta;
use hookhub_shared::store::keys;
use hookhub_shared::AppContext;

use crate::IngressError;

/// The tenant must exist; an id that is not even well-formed is answered the same way, so
/// the response never tells which tenants exist beyond "not this one".
async fn require_tenant(ctx: &AppContext, tenant_id: &str) -> Result<(), IngressError> {
    if !ids::is_valid(IdKind::Tenant, tenant_id) {
        return Err(IngressError::UnknownTenant);
    }
    match ctx.table.get(&keys::tenant(tenant_id)).await? {
        Some(_) => Ok(()),
        None => Err(IngressError::UnknownTenant),
    }
}

/// Meta's subscription handshake: `hub.mode=subscribe` and a `hub.verify_token` equal to
/// the tenant's enabled WhatsApp or Instagram verify token (compared in constant time) get
/// `hub.challenge` back as text/plain; anything else is 403.
pub async fn verify_subscription(
    State(ctx): State<AppContext>,
    Path(tenant_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<([(header::HeaderName, &'static str); 1], String), IngressError> {
    require_tenant(&ctx, &tenant_id).await?;
    let (Some("subscribe"), Some(offered), Some(challenge)) = (
        params.get("hub.mode").map(String::as_str),
        params.get("hub.verify_token"),
        params.get("hub.challenge"),
    ) else {
        return Err(IngressError::VerificationFailed);
    };
    let integrations = ctx.integrations();
    for kind in [IntegrationKind::Whatsapp, IntegrationKind::Instagram] {
        let Some(record) = integrations.get(&tenant_id, kind).await? else {
            continue;
        };
        if !record.enabled {
            continue;
        }
        let token = integrations
            .open_secret(&tenant_id, kind, &record, "webhookVerifyToken")
            .await?;
        if token.is_some_and(|t| constant_time_eq(t.as_bytes(), offered.as_bytes())) {
            tracing::info!(%tenant_id, integration = kind.as_str(), "Meta subscription verified");
            return Ok(([(header::CONTENT_TYPE, "text/plain")], challenge.clone()));
        }
    }
    Err(IngressError::VerificationFailed)
}

/// A signed event batch: `X-Hub-Signature-256` checked over the raw bytes with the app
/// secret of the tenant's enabled WhatsApp or Instagram integration, in constant time;
/// missing, malformed or wrong → 401 and nothing stored. A verified batch is answered 503
/// until event storage and processing land, so that Meta retries rather than drops it.
pub async fn receive(
    State(ctx): State<AppContext>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<&'static str, IngressError> {
    require_tenant(&ctx, &tenant_id).await?;
    let signature = headers.get(meta::HEADER).and_then(|v| v.to_str().ok());
    let integrations = ctx.integrations();
    for kind in [IntegrationKind::Whatsapp, IntegrationKind::Instagram] {
        let Some(record) = integrations.get(&tenant_id, kind).await? else {
            continue;
        };
        if !record.enabled {
            continue;
        }
        let Some(secret) = integrations
            .open_secret(&tenant_id, kind, &record, "appSecret")
            .await?
        else {
            continue;
        };
        if meta::verify(&secret, &body, signature).is_ok() {
            tracing::warn!(%tenant_id, bytes = body.len(), "verified Meta batch deferred: processing not available");
            return Err(IngressError::NotProcessing);
        }
    }
    tracing::info!(%tenant_id, bytes = body.len(), signed = signature.is_some(), "Meta batch refused: signature");
    Err(IngressError::BadSignature)
}
