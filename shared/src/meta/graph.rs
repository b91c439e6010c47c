//! Whether a tenant's Meta integration can reach the Graph API with its access token: one
//! read of the account the integration names (the WhatsApp phone number, the Instagram
//! account), classified the way Meta's error codes mean it: an expired or revoked token
//! (190), a missing permission (10, 200–299), a rate limit (4, 17, 32, 613, 80001–80014),
//! an unknown account (100), or something else.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::error::{ServiceError, ServiceResult};
use crate::integrations::{IntegrationKind, IntegrationService};
use crate::messages::providers::whatsapp::DEFAULT_GRAPH_VERSION;
use crate::messages::ProviderClients;

const TIMEOUT: Duration = Duration::from_secs(10);

/// What a Graph error code means for the integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GraphStatus {
    Ok,
    TokenInvalid,
    PermissionDenied,
    RateLimited,
    AccountNotFound,
    Error,
    Unreachable,
}

impl GraphStatus {
    fn of_code(code: Option<i64>) -> Self {
        match code {
            Some(190) => GraphStatus::TokenInvalid,
            Some(10 | 200..=299) => GraphStatus::PermissionDenied,
            Some(4 | 17 | 32 | 613 | 80001..=80014) => GraphStatus::RateLimited,
            Some(100 | 803) => GraphStatus::AccountNotFound,
            _ => GraphStatus::Error,
        }
    }

    fn advice(self) -> Option<&'static str> {
        match self {
            GraphStatus::Ok => None,
            GraphStatus::TokenInvalid => Some(
                "The access token has expired or was revoked: generate a new one (a System User token does not expire) and save it in the integration.",
            ),
            GraphStatus::PermissionDenied => Some(
                "The token lacks a permission: grant whatsapp_business_messaging / whatsapp_business_management (WhatsApp) or instagram_basic / instagram_manage_messages (Instagram) to the app and the token.",
            ),
            GraphStatus::RateLimited => Some(
                "Meta is throttling this app or account: wait a few minutes before testing again.",
            ),
            GraphStatus::AccountNotFound => Some(
                "The account id is not one this token can read: check the phone number id or Instagram account id.",
            ),
            GraphStatus::Error => Some("The Graph API refused the request; see the error."),
            GraphStatus::Unreachable => {
                Some("The Graph API could not be reached; check the network and retry.")
            }
        }
    }
}

/// The error Graph returned, as it said it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphError {
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    pub message: String,
}

/// What "test connection" reports for a Meta integration.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphHealth {
    pub integration: &'static str,
    pub healthy: bool,
    pub status: GraphStatus,
    pub status_code: Option<u16>,
    /// What Graph says of the account when the token works (name, number, username).
    pub account: Option<Value>,
    pub error: Option<GraphError>,
    pub advice: Option<&'static str>,
    pub latency_ms: u64,
}

/// The account to read and the fields that show the token works for it.
fn target(kind: IntegrationKind) -> Option<(&'static str, &'static str)> {
    match kind {
        IntegrationKind::Whatsapp => Some((
            "phoneNumberId",
            "id,display_phone_number,verified_name,quality_rating",
        )),
        IntegrationKind::Instagram => Some(("accountId", "id,username,name")),
        _ => None,
    }
}

/// Checks the tenant's WhatsApp or Instagram integration against the Graph API.
pub async fn check_integration(
    integrations: &IntegrationService,
    clients: &ProviderClients,
    tenant_id: &str,
    kind: IntegrationKind,
) -> ServiceResult<GraphHealth> {
    let Some((id_field, fields)) = target(kind) else {
        return Err(ServiceError::FailedPrecondition(format!(
            "the {} integration is not a Meta integration",
            kind.as_str()
        )));
    };
    let record = integrations.get(tenant_id, kind).await?.ok_or_else(|| {
        ServiceError::FailedPrecondition(format!(
            "the {} integration is not configured yet",
            kind.as_str()
        ))
    })?;
    let account = record
        .field(id_field)
        .ok_or_else(|| ServiceError::invalid(id_field, "is not set: save it first"))?
        .to_string();
    let token = integrations
        .open_secret(tenant_id, kind, &record, "accessToken")
        .await?
        .ok_or_else(|| ServiceError::invalid("accessToken", "is not set: save it first"))?;
    let version = record
        .field("apiVersion")
        .unwrap_or(DEFAULT_GRAPH_VERSION)
        .to_string();
    let url = format!(
        "{}/{version}/{account}",
        clients.graph_base_url().trim_end_matches('/')
    );
    Ok(check(clients.http(), kind, &url, fields, &token).await)
}

async fn check(
    http: &reqwest::Client,
    kind: IntegrationKind,
    url: &str,
    fields: &str,
    token: &str,
) -> GraphHealth {
    let started = Instant::now();
    let mut url = match url::Url::parse(url) {
        Ok(u) => u,
        Err(e) => {
            return GraphHealth {
                integration: kind.as_str(),
                healthy: false,
                status: GraphStatus::Error,
                status_code: None,
                account: None,
                error: Some(GraphError {
                    code: None,
                    subcode: None,
                    message: format!("not a URL: {e}"),
                }),
                advice: GraphStatus::Error.advice(),
                latency_ms: 0,
            }
        }
    };
    url.query_pairs_mut().append_pair("fields", fields);
    let sent = http
        .get(url)
        .bearer_auth(token)
        .timeout(TIMEOUT)
        .send()
        .await;
    let health = |status: GraphStatus, code, account, error| GraphHealth {
        integration: kind.as_str(),
        healthy: status == GraphStatus::Ok,
        status,
        status_code: code,
        account,
        error,
        advice: status.advice(),
        latency_ms: started.elapsed().as_millis() as u64,
    };
    let response = match sent {
        Ok(r) => r,
        Err(e) => {
            let error = GraphError {
                code: None,
                subcode: None,
                message: crate::webhooks::sender::describe(&e),
            };
            return health(GraphStatus::Unreachable, None, None, Some(error));
        }
    };
    let code = response.status().as_u16();
    let body: Value = match response.bytes().await {
        Ok(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    if (200..300).contains(&code) {
        return health(GraphStatus::Ok, Some(code), Some(body), None);
    }
    let error = &body["error"];
    let graph_code = error["code"].as_i64();
    let status = GraphStatus::of_code(graph_code);
    let error = GraphError {
        code: graph_code,
        subcode: error["error_subcode"].as_i64(),
        message: error["message"]
            .as_str()
            .map(|m| m.chars().take(500).collect())
            .unwrap_or_else(|| format!("HTTP {code}")),
    };
    health(status, Some(code), None, Some(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_error_codes_mean_what_meta_documents() {
        for (code, status) in [
            (190, GraphStatus::TokenInvalid),
            (200, GraphStatus::PermissionDenied),
            (10, GraphStatus::PermissionDenied),
            (4, GraphStatus::RateLimited),
            (17, GraphStatus::RateLimited),
            (613, GraphStatus::RateLimited),
            (80007, GraphStatus::RateLimited),
            (100, GraphStatus::AccountNotFound),
            (1, GraphStatus::Error),
        ] {
            assert_eq!(GraphStatus::of_code(Some(code)), status, "{code}");
        }
        assert_eq!(GraphStatus::of_code(None), GraphStatus::Error);
    }
}
