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

/// What a Graph error code means for the integration: 190 token_invalid, 10 and 200–299
/// permission_denied, 4/17/32/613 rate_limited; token_expiring within 7 days (debug_token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GraphStatus {
    Ok,
    TokenInvalid,
    /// The token works but expires within a week.
    TokenExpiring,
    PermissionDenied,
    RateLimited,
    AccountNotFound,
    Error,
    Unreachable,
}

impl GraphStatus {
    pub fn of_code(code: Option<i64>) -> Self {
        match code {
            Some(190) => GraphStatus::TokenInvalid,
            Some(10 | 200..=299) => GraphStatus::PermissionDenied,
            Some(4 | 17 | 32 | 613 | 80001..=80014) => GraphStatus::RateLimited,
            Some(100 | 803) => GraphStatus::AccountNotFound,
            _ => GraphStatus::Error,
        }
    }

    pub fn advice(self) -> Option<&'static str> {
        match self {
            GraphStatus::Ok => None,
            GraphStatus::TokenExpiring => Some(
                "The access token expires within a week: generate a new one (a System User token does not expire) and save it in the integration before it does.",
            ),
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GraphError {
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    pub message: String,
}

/// A Meta integration's access token against the Graph API: one read of the account it
/// names (the WhatsApp phone number, the Instagram account).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GraphHealth {
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::meta_kinds))]
    pub integration: &'static str,
    pub healthy: bool,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub status: GraphStatus,
    pub status_code: Option<u16>,
    /// What Graph says of the account when the token works (name, number, username).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub account: Option<Value>,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub error: Option<GraphError>,
    pub advice: Option<&'static str>,
    pub latency_ms: u64,
}

#[cfg(feature = "openapi")]
mod openapi {
    use utoipa::openapi::schema::{ObjectBuilder, Type};

    use crate::integrations::IntegrationKind;

    pub fn meta_kinds() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(
                [IntegrationKind::Whatsapp, IntegrationKind::Instagram]
                    .map(IntegrationKind::as_str),
            ))
    }
}

/// A Graph call that did not succeed: what it means, and what Graph said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphFailure {
    pub status: GraphStatus,
    pub status_code: Option<u16>,
    pub error: GraphError,
}

impl GraphFailure {
    fn new(status: GraphStatus, status_code: Option<u16>, message: String) -> Self {
        Self {
            status,
            status_code,
            error: GraphError {
                code: None,
                subcode: None,
                message,
            },
        }
    }

    /// As the API reports it to the caller: 429 for Meta's rate limits, 502 otherwise.
    pub fn into_service_error(self) -> ServiceError {
        ServiceError::Upstream {
            service: "graph",
            reason: self.status.as_str(),
            message: self.error.message,
            code: self.error.code,
            advice: self.status.advice(),
            retry_after_secs: (self.status == GraphStatus::RateLimited).then_some(60),
        }
    }
}

impl GraphStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GraphStatus::Ok => "ok",
            GraphStatus::TokenInvalid => "token_invalid",
            GraphStatus::TokenExpiring => "token_expiring",
            GraphStatus::PermissionDenied => "permission_denied",
            GraphStatus::RateLimited => "rate_limited",
            GraphStatus::AccountNotFound => "account_not_found",
            GraphStatus::Error => "error",
            GraphStatus::Unreachable => "unreachable",
        }
    }
}

/// Calls to the Graph API with one integration's token, at its API version. The token goes
/// in the `Authorization` header, never in a URL.
pub struct GraphApi<'a> {
    http: &'a reqwest::Client,
    base: String,
    token: &'a str,
}

impl<'a> GraphApi<'a> {
    pub fn new(clients: &'a ProviderClients, version: &str, token: &'a str) -> Self {
        Self {
            http: clients.http(),
            base: format!(
                "{}/{version}",
                clients.graph_base_url().trim_end_matches('/')
            ),
            token,
        }
    }

    /// `method /{path}?{query}`; the JSON Graph answered, or what its error means.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Value, GraphFailure> {
        let mut url = url::Url::parse(&format!("{}/{path}", self.base))
            .map_err(|e| GraphFailure::new(GraphStatus::Error, None, format!("not a URL: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let response = self
            .http
            .request(method, url)
            .bearer_auth(self.token)
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(|e| {
                GraphFailure::new(
                    GraphStatus::Unreachable,
                    None,
                    crate::webhooks::sender::describe(&e),
                )
            })?;
        let code = response.status().as_u16();
        let body: Value = match response.bytes().await {
            Ok(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        if (200..300).contains(&code) {
            return Ok(body);
        }
        let error = &body["error"];
        let graph_code = error["code"].as_i64();
        Err(GraphFailure {
            status: GraphStatus::of_code(graph_code),
            status_code: Some(code),
            error: GraphError {
                code: graph_code,
                subcode: error["error_subcode"].as_i64(),
                message: error["message"]
                    .as_str()
                    .map(|m| m.chars().take(500).collect())
                    .unwrap_or_else(|| format!("HTTP {code}")),
            },
        })
    }
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

/// A tenant's Meta integration opened for Graph calls: its stored fields and its token.
pub struct MetaAccess {
    pub kind: IntegrationKind,
    pub record: crate::integrations::IntegrationRecord,
    pub token: zeroize::Zeroizing<String>,
    pub version: String,
}

impl MetaAccess {
    /// The WhatsApp or Instagram integration with its token, or a precondition naming what
    /// to save first.
    pub async fn open(
        integrations: &IntegrationService,
        tenant_id: &str,
        kind: IntegrationKind,
    ) -> ServiceResult<Self> {
        if target(kind).is_none() {
            return Err(ServiceError::FailedPrecondition(format!(
                "the {} integration is not a Meta integration",
                kind.as_str()
            )));
        }
        let record = integrations.get(tenant_id, kind).await?.ok_or_else(|| {
            ServiceError::FailedPrecondition(format!(
                "the {} integration is not configured yet",
                kind.as_str()
            ))
        })?;
        let token = integrations
            .open_secret(tenant_id, kind, &record, "accessToken")
            .await?
            .ok_or_else(|| {
                ServiceError::FailedPrecondition(format!(
                    "the {} integration has no access token: save it first",
                    kind.as_str()
                ))
            })?;
        let version = record
            .field("apiVersion")
            .unwrap_or(DEFAULT_GRAPH_VERSION)
            .to_string();
        Ok(Self {
            kind,
            record,
            token,
            version,
        })
    }

    pub fn api<'a>(&'a self, clients: &'a ProviderClients) -> GraphApi<'a> {
        GraphApi::new(clients, &self.version, &self.token)
    }

    /// Reads the account the integration names with its token: the "test connection".
    pub async fn check(&self, clients: &ProviderClients) -> ServiceResult<GraphHealth> {
        let (id_field, fields) = target(self.kind).expect("a Meta integration, checked at open");
        let account = self.record.field(id_field).ok_or_else(|| {
            ServiceError::FailedPrecondition(format!(
                "the {} integration has no {id_field}: save it first",
                self.kind.as_str()
            ))
        })?;
        let started = Instant::now();
        let read = self
            .api(clients)
            .call(reqwest::Method::GET, account, &[("fields", fields)])
            .await;
        let latency_ms = started.elapsed().as_millis() as u64;
        Ok(match read {
            Ok(body) => GraphHealth {
                integration: self.kind.as_str(),
                healthy: true,
                status: GraphStatus::Ok,
                status_code: Some(200),
                account: Some(body),
                error: None,
                advice: None,
                latency_ms,
            },
            Err(failure) => GraphHealth {
                integration: self.kind.as_str(),
                healthy: false,
                status: failure.status,
                status_code: failure.status_code,
                account: None,
                advice: failure.status.advice(),
                error: Some(failure.error),
                latency_ms,
            },
        })
    }
}

/// Checks the tenant's WhatsApp or Instagram integration against the Graph API.
pub async fn check_integration(
    integrations: &IntegrationService,
    clients: &ProviderClients,
    tenant_id: &str,
    kind: IntegrationKind,
) -> ServiceResult<GraphHealth> {
    MetaAccess::open(integrations, tenant_id, kind)
        .await?
        .check(clients)
        .await
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
