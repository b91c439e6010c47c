//! Graph API health, checked every few minutes and kept: for each tenant's enabled WhatsApp
//! and Instagram integration, whether its token reads its account, when the token expires
//! (`debug_token`), and whether the app is subscribed to the account's webhooks. The last
//! result of each channel is stored with when it turned unhealthy, so the health report and
//! the dashboard show since when a token has been failing without calling Meta themselves.
//!
//! A schedule puts a [`GRAPH_HEALTH_JOB`] on the queue every 5 minutes; the worker checks
//! every tenant. `POST /api/v1/meta/health/check` checks one tenant at once.

use async_trait::async_trait;
use futures::StreamExt;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::graph::{GraphStatus, MetaAccess};
use super::subscriptions::{failure_view, MetaChannel, MetaSubscriptions};
use crate::error::{ServiceError, ServiceResult};
use crate::integrations::IntegrationService;
use crate::jobs::{JobError, JobHandler, Outcome};
use crate::messages::ProviderClients;
use crate::store::{from_item, keys, to_item, Index, Query, Table};
use crate::tenants::TenantService;

pub const GRAPH_HEALTH_JOB: &str = "meta.graph_health";

/// A token expiring sooner than this is reported as expiring.
const EXPIRING_WITHIN_DAYS: i64 = 7;
/// Tenants checked at once by the scheduled job.
const CONCURRENT_TENANTS: usize = 4;

/// What `debug_token` says of the integration's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub valid: bool,
    /// null: does not expire
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// The last check of one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = GraphCheck))]
#[serde(rename_all = "camelCase")]
pub struct ChannelCheck {
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub channel: MetaChannel,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub checked_at: String,
    pub healthy: bool,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub status: GraphStatus,
    pub status_code: Option<u16>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub error: Option<Value>,
    pub advice: Option<String>,
    pub latency_ms: u64,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub token: Option<TokenInfo>,
    /// what Meta has subscribed on the account, or {error}
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub subscription: Option<Value>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub last_healthy_at: Option<String>,
    /// when the checks started failing; null while healthy
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub unhealthy_since: Option<String>,
}

/// The checks just run, one per enabled Meta integration.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GraphCheckList {
    pub data: Vec<ChannelCheck>,
}

#[derive(Clone)]
pub struct GraphHealthChecks {
    table: Table,
    tenants: TenantService,
    integrations: IntegrationService,
    clients: ProviderClients,
    subscriptions: MetaSubscriptions,
}

impl GraphHealthChecks {
    pub fn new(table: Table, integrations: IntegrationService, clients: ProviderClients) -> Self {
        Self {
            tenants: TenantService::new(table.clone()),
            subscriptions: MetaSubscriptions::new(
                table.clone(),
                integrations.clone(),
                clients.clone(),
            ),
            table,
            integrations,
            clients,
        }
    }

    /// The last stored check of each channel.
    pub async fn stored(&self, tenant_id: &str) -> ServiceResult<Vec<ChannelCheck>> {
        let (checks, _) = self
            .table
            .query_records::<ChannelCheck>(
                Query::new(Index::Primary, keys::meta_graph_partition(tenant_id))
                    .prefix(keys::META_GRAPH_HEALTH_PREFIX)
                    .page(Some(10), None),
            )
            .await?;
        Ok(checks)
    }

    /// Checks each of the tenant's enabled Meta integrations now and stores the results; a
    /// channel no longer configured loses its stored check.
    pub async fn check_tenant(&self, tenant_id: &str) -> ServiceResult<Vec<ChannelCheck>> {
        let mut checks = Vec::new();
        for channel in MetaChannel::ALL {
            let key = keys::meta_graph_health(tenant_id, channel.as_str());
            let access = match MetaAccess::open(&self.integrations, tenant_id, channel.kind()).await
            {
                Ok(access) if access.record.enabled => access,
                Ok(_) | Err(ServiceError::FailedPrecondition(_)) => {
                    self.table.delete(&key).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let previous = match self.table.get(&key).await? {
                Some(item) => from_item::<ChannelCheck>(item).ok(),
                None => None,
            };
            let check = match self.check(channel, &access, previous.as_ref()).await {
                Ok(check) => check,
                // Saved without the account to read: nothing to check until it is.
                Err(ServiceError::FailedPrecondition(_)) => {
                    self.table.delete(&key).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            self.table.put(to_item(&key, &check)?).await?;
            checks.push(check);
        }
        Ok(checks)
    }

    async fn check(
        &self,
        channel: MetaChannel,
        access: &MetaAccess,
        previous: Option<&ChannelCheck>,
    ) -> ServiceResult<ChannelCheck> {
        let health = access.check(&self.clients).await?;
        let mut status = health.status;
        let mut token = None;
        let mut subscription = None;
        if health.healthy {
            token = self.token_info(access).await;
            if let Some(info) = &token {
                if !info.valid {
                    status = GraphStatus::TokenInvalid;
                } else if info.expires_at.as_deref().is_some_and(expires_soon) {
                    status = GraphStatus::TokenExpiring;
                }
            }
            subscription = Some(match self.subscriptions.live(access).await {
                Ok(Ok(live)) => json!(live),
                Ok(Err(failure)) => json!({"error": failure_view(&failure)}),
                Err(e) => json!({"error": {"reason": "not_configured", "message": e.to_string()}}),
            });
        }
        let now = crate::time::now_rfc3339();
        let healthy = status == GraphStatus::Ok;
        let was = previous.filter(|p| p.channel == channel);
        Ok(ChannelCheck {
            channel,
            checked_at: now.clone(),
            healthy,
            status,
            status_code: health.status_code,
            error: health.error.as_ref().map(|e| json!(e)),
            advice: status.advice().map(str::to_string),
            latency_ms: health.latency_ms,
            token,
            subscription,
            last_healthy_at: if healthy {
                Some(now.clone())
            } else {
                was.and_then(|p| p.last_healthy_at.clone())
            },
            unhealthy_since: if healthy {
                None
            } else {
                Some(was.and_then(|p| p.unhealthy_since.clone()).unwrap_or(now))
            },
        })
    }

    /// `GET /debug_token?input_token=…` with the token itself: validity, expiry, scopes.
    /// Graph takes the token to inspect only as a query parameter of this HTTPS call; hookhub
    /// never logs the URL. `None` when Graph would not say (the account read decides then).
    async fn token_info(&self, access: &MetaAccess) -> Option<TokenInfo> {
        let body = access
            .api(&self.clients)
            .call(
                Method::GET,
                "debug_token",
                &[("input_token", access.token.as_str())],
            )
            .await
            .ok()?;
        let data = &body["data"];
        let expires_at = match data["expires_at"].as_i64() {
            None | Some(0) => None,
            Some(secs) => chrono::DateTime::from_timestamp(secs, 0).map(crate::time::rfc3339),
        };
        Some(TokenInfo {
            valid: data["is_valid"].as_bool()?,
            expires_at,
            scopes: data["scopes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect(),
        })
    }

    /// Every tenant's checks, a few tenants at a time; how many channels were checked.
    pub async fn run(&self) -> Result<usize, JobError> {
        let active: Vec<String> = self
            .tenants
            .all_ids()
            .await
            .map_err(|e| JobError::new(e.to_string()))?
            .into_iter()
            .filter(|(_, suspended)| !suspended)
            .map(|(id, _)| id)
            .collect();
        let results: Vec<ServiceResult<Vec<ChannelCheck>>> = futures::stream::iter(active)
            .map(|id| async move { self.check_tenant(&id).await })
            .buffer_unordered(CONCURRENT_TENANTS)
            .collect()
            .await;
        let mut checked = 0;
        for result in results {
            checked += result.map_err(|e| JobError::new(e.to_string()))?.len();
        }
        Ok(checked)
    }
}

fn expires_soon(at: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(at).is_ok_and(|at| {
        at.with_timezone(&chrono::Utc) - crate::time::now()
            < chrono::Duration::days(EXPIRING_WITHIN_DAYS)
    })
}

#[async_trait]
impl JobHandler for GraphHealthChecks {
    async fn handle(&self, _job: &crate::jobs::Job) -> Result<Outcome, JobError> {
        let checked = self.run().await?;
        tracing::info!(checked, "Graph health checked");
        Ok(Outcome::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_expiring_within_a_week() {
        let at =
            |days: i64| crate::time::rfc3339(crate::time::now() + chrono::Duration::days(days));
        assert!(expires_soon(&at(2)));
        assert!(expires_soon(&at(-1)));
        assert!(!expires_soon(&at(30)));
        assert!(!expires_soon("not a time"));
    }
}
