//! Delivery figures over all of a tenant's endpoints (`GET /api/v1/webhooks/analytics`).

use serde::Serialize;

use super::endpoint::Endpoint;
use super::logs::EndpointStats;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Analytics))]
#[serde(rename_all = "camelCase")]
pub struct EndpointAnalytics {
    pub total_webhooks: usize,
    pub active_webhooks: usize,
    pub total_deliveries: u64,
    pub successful_deliveries: u64,
    pub failed_deliveries: u64,
    /// percent of attempts that succeeded, to one decimal; null before the first
    pub success_rate: Option<f64>,
    pub average_response_time_ms: Option<u64>,
    /// active, and the last attempt (if any) succeeded
    pub healthy_webhooks: u64,
    /// disabled, or failing since the last success
    pub failed_webhooks: u64,
}

impl EndpointAnalytics {
    /// The figures of `endpoints`, each with its counters.
    pub fn of<'a>(endpoints: impl IntoIterator<Item = (&'a Endpoint, &'a EndpointStats)>) -> Self {
        let mut out = Self {
            total_webhooks: 0,
            active_webhooks: 0,
            total_deliveries: 0,
            successful_deliveries: 0,
            failed_deliveries: 0,
            success_rate: None,
            average_response_time_ms: None,
            healthy_webhooks: 0,
            failed_webhooks: 0,
        };
        let mut response_ms = 0u64;
        for (endpoint, stats) in endpoints {
            out.total_webhooks += 1;
            out.active_webhooks += usize::from(endpoint.is_active);
            out.total_deliveries += stats.total_deliveries;
            out.successful_deliveries += stats.successful_deliveries;
            response_ms += stats.total_response_ms;
            if endpoint.is_active && stats.consecutive_failures == 0 {
                out.healthy_webhooks += 1;
            } else {
                out.failed_webhooks += 1;
            }
        }
        let total = out.total_deliveries;
        out.failed_deliveries = total - out.successful_deliveries;
        out.success_rate = (total > 0)
            .then(|| (out.successful_deliveries as f64 * 1000.0 / total as f64).round() / 10.0);
        out.average_response_time_ms = (total > 0).then(|| response_ms / total);
        out
    }
}
