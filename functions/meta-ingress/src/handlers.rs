use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use hookhub_shared::ids::{self, IdKind};
use hookhub_shared::integrations::IntegrationKind;
use hookhub_shared::signing::constant_time_eq;
use hookhub_shared::signing::meta;
use hookhub_shared::store::keys;
use hookhub_shared::AppContext;
use serde_json::{json, Value};

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
            // A subscription whose events would all be refused (nothing to check their
            // signature with) fails now, in Meta's dashboard, instead of silently later.
            if !record.has_secret("appSecret") {
                tracing::warn!(%tenant_id, integration = kind.as_str(), "Meta subscription refused: no app secret");
                return Err(IngressError::NoAppSecret);
            }
            tracing::info!(%tenant_id, integration = kind.as_str(), "Meta subscription verified");
            return Ok(([(header::CONTENT_TYPE, "text/plain")], challenge.clone()));
        }
    }
    Err(IngressError::VerificationFailed)
}

/// A signed event batch: verified over the raw bytes, split, each item stored once by its
/// natural id and enqueued for processing; 200 only when all of that is durable, 503 (Meta
/// retries) when it is not, 401 with nothing stored when the signature does not verify.
pub async fn receive(
    State(ctx): State<AppContext>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, IngressError> {
    let signature = headers.get(meta::HEADER).and_then(|v| v.to_str().ok());
    let report = ctx
        .meta_ingest()
        .receive(&tenant_id, signature, &body)
        .await
        .inspect_err(|e| {
            tracing::info!(%tenant_id, bytes = body.len(), signed = signature.is_some(), error = %e, "Meta batch refused");
        })?;
    tracing::info!(
        %tenant_id,
        items = report.items,
        stored = report.stored,
        duplicates = report.duplicates,
        requeued = report.requeued,
        foreign = report.foreign,
        "Meta batch received"
    );
    Ok(Json(json!({
        "received": report.items,
        "stored": report.stored,
        "duplicates": report.duplicates,
        "requeued": report.requeued,
        "foreignAccount": report.foreign,
    })))
}
