//! A tenant's n8n instance, from its n8n integration: a workflow URL may be a path on it
//! (`/webhook/orders`), resolved against its `baseUrl`; its `apiKey` goes, as
//! `X-N8N-API-KEY`, to that instance only, never to a workflow URL elsewhere; and its health
//! endpoint answers "test connection".

use std::time::{Duration, Instant};

use http::{HeaderMap, HeaderValue};
use serde::Serialize;
use zeroize::Zeroizing;

use super::sender::Sender;
use crate::error::{ServiceError, ServiceResult};
use crate::integrations::{IntegrationKind, IntegrationRecord, IntegrationService};

pub const API_KEY_HEADER: &str = "x-n8n-api-key";
/// n8n's own liveness route.
const HEALTH_PATH: &str = "/healthz";
const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether a workflow URL is a path on the tenant's n8n instance rather than a whole URL.
pub fn is_path(url: &str) -> bool {
    url.starts_with('/')
}

/// A workflow path must stay a path once joined to the base URL: no second leading slash
/// (`//host` names another host), no backslash, no spaces or control characters.
pub fn check_path(path: &str) -> Result<(), &'static str> {
    if !is_path(path) || path.starts_with("//") {
        return Err("must be an absolute http(s) URL, or a path starting with a single /");
    }
    if path
        .chars()
        .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
    {
        return Err("must be a path without spaces, backslashes or control characters");
    }
    Ok(())
}

/// The tenant's n8n instance, as its integration configures it.
pub struct N8nInstance {
    /// Without a trailing slash, so that a path joins as `{base}{path}`.
    base_url: String,
    api_key: Option<Zeroizing<String>>,
}

impl N8nInstance {
    pub fn new(base_url: &str, api_key: Option<Zeroizing<String>>) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
        }
    }

    /// The instance of an enabled n8n integration with a base URL, if the tenant has one.
    pub async fn of_tenant(
        integrations: &IntegrationService,
        tenant_id: &str,
    ) -> ServiceResult<Option<Self>> {
        let Some(record) = integrations.get(tenant_id, IntegrationKind::N8n).await? else {
            return Ok(None);
        };
        let Some(base_url) = base_url_of(&record) else {
            return Ok(None);
        };
        let api_key = integrations
            .open_secret(tenant_id, IntegrationKind::N8n, &record, "apiKey")
            .await?;
        Ok(Some(Self::new(base_url, api_key)))
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Where a workflow URL points: a path is put under the base URL.
    pub fn url_for(&self, workflow_url: &str) -> String {
        if is_path(workflow_url) {
            format!("{}{workflow_url}", self.base_url)
        } else {
            workflow_url.to_string()
        }
    }

    /// The API key, for a URL on this instance (same scheme, host and port) only.
    pub fn api_key_for(&self, url: &str) -> Option<&str> {
        let key = self.api_key.as_deref()?;
        let (Ok(target), Ok(base)) = (url::Url::parse(url), url::Url::parse(&self.base_url)) else {
            return None;
        };
        (target.origin() == base.origin()).then_some(key.as_str())
    }

    /// Calls the health endpoint (with the API key, which n8n ignores there) and reports.
    pub async fn health(&self, sender: &Sender) -> N8nHealth {
        let url = format!("{}{HEALTH_PATH}", self.base_url);
        let mut headers = HeaderMap::new();
        if let Some(key) = self
            .api_key_for(&url)
            .and_then(|k| HeaderValue::from_str(k).ok())
        {
            headers.insert(API_KEY_HEADER, key);
        }
        let started = Instant::now();
        let result = sender.get(&url, headers, HEALTH_TIMEOUT).await;
        let latency_ms = started.elapsed().as_millis() as u64;
        let https = url.starts_with("https://");
        let tls = match (&result.status, &result.error) {
            _ if !https => "not used",
            (Some(_), _) => "verified",
            (None, Some(e)) if mentions_tls(e) => "failed",
            (None, _) => "not reached",
        };
        let healthy = result.success();
        let error = match (result.error, result.status) {
            (Some(e), _) => Some(e),
            (None, Some(status)) if !healthy => Some(format!("the instance answered {status}")),
            _ => None,
        };
        N8nHealth {
            url,
            reachable: result.status.is_some(),
            healthy,
            status_code: result.status,
            tls,
            latency_ms,
            error,
        }
    }
}

/// "Test connection" for the tenant's n8n integration.
pub async fn check_connection(
    integrations: &IntegrationService,
    sender: &Sender,
    tenant_id: &str,
) -> ServiceResult<N8nHealth> {
    match N8nInstance::of_tenant(integrations, tenant_id).await? {
        Some(n8n) => Ok(n8n.health(sender).await),
        None => Err(ServiceError::invalid(
            "baseUrl",
            "the n8n integration has no baseUrl, or is disabled: save one first",
        )),
    }
}

/// The base URL of an n8n integration that is enabled and has one.
pub fn base_url_of(record: &IntegrationRecord) -> Option<&str> {
    record.field("baseUrl").filter(|_| record.enabled)
}

/// Whether the tenant's n8n integration gives workflow paths somewhere to go.
pub async fn has_base_url(
    integrations: &IntegrationService,
    tenant_id: &str,
) -> ServiceResult<bool> {
    Ok(integrations
        .get(tenant_id, IntegrationKind::N8n)
        .await?
        .is_some_and(|r| base_url_of(&r).is_some()))
}

fn mentions_tls(error: &str) -> bool {
    let e = error.to_ascii_lowercase();
    ["certificate", "tls", "handshake", "ssl"]
        .iter()
        .any(|w| e.contains(w))
}

/// What "test connection" reports for an n8n instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct N8nHealth {
    pub url: String,
    /// an HTTP answer came back
    pub reachable: bool,
    /// it was a 2xx
    pub healthy: bool,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub status_code: Option<u16>,
    /// not used: plain http
    #[cfg_attr(feature = "openapi", schema(schema_with = tls_outcomes))]
    pub tls: &'static str,
    pub latency_ms: u64,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub error: Option<String>,
}

#[cfg(feature = "openapi")]
fn tls_outcomes() -> utoipa::openapi::schema::ObjectBuilder {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["verified", "failed", "not used", "not reached"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_under_the_base_and_stay_on_it() {
        let n8n = N8nInstance::new(
            "https://n8n.example.com/team/",
            Some(Zeroizing::new("key".into())),
        );
        assert_eq!(
            n8n.url_for("/webhook/orders"),
            "https://n8n.example.com/team/webhook/orders"
        );
        assert_eq!(
            n8n.url_for("https://other.example.com/hook"),
            "https://other.example.com/hook"
        );
        assert_eq!(
            n8n.api_key_for("https://n8n.example.com/team/webhook/orders"),
            Some("key")
        );
        for elsewhere in [
            "https://other.example.com/hook",
            "http://n8n.example.com/team/webhook/orders",
            "https://n8n.example.com:8443/webhook",
        ] {
            assert_eq!(n8n.api_key_for(elsewhere), None, "{elsewhere}");
        }
    }

    #[test]
    fn only_plain_single_slash_paths_are_paths() {
        assert!(check_path("/webhook/orders").is_ok());
        for bad in [
            "//evil.example.com/x",
            "/a\\b",
            "/a b",
            "webhook/x",
            "/a\nb",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
    }
}
