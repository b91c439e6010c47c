use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use hookhub_shared::ids::{self, IdKind};
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

/// Meta's subscription handshake. Until a WhatsApp or Instagram integration with a verify
/// token is configured for the tenant, there is nothing a token could match: 403.
pub async fn verify_subscription(
    State(ctx): State<AppContext>,
    Path(tenant_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<String, IngressError> {
    require_tenant(&ctx, &tenant_id).await?;
    let subscribing = params.get("hub.mode").map(String::as_str) == Some("subscribe");
    let token_offered = params.contains_key("hub.verify_token");
    tracing::info!(
        subscribing,
        token_offered,
        "verification refused: no verify token configured"
    );
    Err(IngressError::VerificationFailed)
}

/// A signed event batch. Without a configured app secret no signature can verify: 401, and
/// nothing is stored.
pub async fn receive(
    State(ctx): State<AppContext>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<&'static str, IngressError> {
    require_tenant(&ctx, &tenant_id).await?;
    let signature = headers.get(meta::HEADER).and_then(|v| v.to_str().ok());
    tracing::info!(
        bytes = body.len(),
        signed = signature.is_some(),
        "event batch refused: no app secret configured"
    );
    Err(IngressError::BadSignature)
}
