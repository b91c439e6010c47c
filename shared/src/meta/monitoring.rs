//! The read side's health report and monitoring dashboard for a tenant's Meta webhooks.

use std::time::Instant;

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use serde::Serialize;

use super::graph_health::{ChannelCheck, GraphHealthChecks};
use super::stats::{self, MetaStats, Totals};
use super::store::{MetaEventStore, ProcessingStatus};
use super::subscriptions::{MetaSubscription, MetaSubscriptions};
use crate::error::ServiceResult;
use crate::integrations::{IntegrationKind, IntegrationRecord, IntegrationService};
use crate::jobs::JobQueue;
use crate::store::Table;

/// What to do about the WhatsApp Cloud API error codes seen most in failed statuses.
pub fn meta_error_advice(code: &str) -> (&'static str, &'static str) {
    match code {
        "131047" => (
            "Re-engagement message",
            "More than 24 hours passed since the customer last wrote: send an approved template instead of free-form text.",
        ),
        "131026" => (
            "Message undeliverable",
            "The recipient may not be on WhatsApp or uses an old app version: check the number and reach them on another channel.",
        ),
        "131051" => (
            "Unsupported message type",
            "Send only the message types the Cloud API supports.",
        ),
        "131053" => (
            "Media upload error",
            "Check the media URL is public over HTTPS and its type and size are within WhatsApp's limits.",
        ),
        "130429" | "131048" | "131056" => (
            "Rate limit hit",
            "Slow down sends to this number (or pair of numbers) and retry with backoff.",
        ),
        "132000" | "132001" | "132012" => (
            "Template problem",
            "Check the template name, language and parameter count match an approved template.",
        ),
        "190" => (
            "Access token expired",
            "Generate a new access token and update the WhatsApp integration.",
        ),
        "131031" => (
            "Business account locked",
            "Resolve the account restriction in WhatsApp Manager before sending again.",
        ),
        _ => (
            "Other Meta error",
            "See Meta's WhatsApp Cloud API error codes reference for this code.",
        ),
    }
}

/// What to do when hookhub itself could not process events.
pub fn processing_error_advice(code: &str) -> &'static str {
    match code {
        "fan_out_failed" => "Events could not be published to subscribers: check DynamoDB and SQS health; failed events can be replayed from the endpoint logs once fixed.",
        "contact_capture_failed" => "Contacts could not be saved: check DynamoDB capacity and errors.",
        "status_update_failed" => "Message statuses could not be applied: check DynamoDB capacity and errors.",
        _ => "Inspect the failed events' error messages with GET /api/v1/meta/events?status=failed.",
    }
}

pub fn success_band(rate: f64) -> &'static str {
    if rate >= 95.0 {
        "good"
    } else if rate >= 80.0 {
        "warning"
    } else {
        "critical"
    }
}

/// Meta's webhooks over a window: received, processed, failed, by type and channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MetaWindow))]
#[serde(rename_all = "camelCase")]
pub struct WindowView {
    pub received: i64,
    /// items for an account the tenant's integrations do not name: stored, not processed
    pub foreign_account: i64,
    pub processed: i64,
    pub failed: i64,
    /// percent of finished items processed, to one decimal; null before the first
    pub success_rate: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::bands))]
    pub band: Option<&'static str>,
    pub by_type: BTreeMap<String, i64>,
    pub by_channel: BTreeMap<String, i64>,
    pub average_processing_latency_ms: Option<i64>,
}

impl WindowView {
    fn of(totals: &Totals) -> Self {
        let processed = totals.get(stats::PROCESSED);
        let failed = totals.get(stats::FAILED);
        let finished = processed + failed;
        let success_rate = (finished > 0).then(|| processed as f64 * 100.0 / finished as f64);
        let latency_count = totals.get(stats::LATENCY_COUNT);
        Self {
            received: totals.get(stats::RECEIVED),
            foreign_account: totals.get(stats::FOREIGN),
            processed,
            failed,
            success_rate: success_rate.map(|r| (r * 10.0).round() / 10.0),
            band: success_rate.map(success_band),
            by_type: totals.with_prefix(stats::TYPE_PREFIX),
            by_channel: totals.with_prefix(stats::CHANNEL_PREFIX),
            average_processing_latency_ms: (latency_count > 0)
                .then(|| totals.get(stats::LATENCY_TOTAL_MS) / latency_count),
        }
    }
}

/// `GET /api/v1/meta/health`: whether the tenant's Meta webhooks can work, and how they do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MetaHealth {
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::health_status))]
    pub status: &'static str,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub checked_at: String,
    pub checks: MetaChecks,
    /// the stored Meta subscriptions
    pub subscriptions: Option<Vec<MetaSubscription>>,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub last_event: Option<LastMetaEvent>,
    #[serde(rename = "processing24h")]
    pub processing_24h: WindowView,
    /// the callback URL's path to give Meta
    pub webhook_path: String,
}

/// database, queue, integrations, and graph: the last Graph check of each enabled Meta
/// integration (run every 5 minutes, or by POST /api/v1/meta/health/check)
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetaChecks {
    pub database: ReachCheck,
    pub queue: ReachCheck,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub integrations: MetaReadiness,
    pub graph: Option<Vec<ChannelCheck>>,
}

/// Whether a dependency answered, and how fast.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReachCheck {
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::reach_status))]
    pub status: &'static str,
    pub latency_ms: u64,
    pub error: Option<String>,
}

impl ReachCheck {
    fn of<E: std::fmt::Display>(outcome: Result<(), E>, latency_ms: u64) -> Self {
        Self {
            status: if outcome.is_ok() { "ok" } else { "error" },
            latency_ms,
            error: outcome.err().map(|e| e.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetaReadiness {
    pub whatsapp: Readiness,
    pub instagram: Readiness,
}

/// Whether an integration can verify Meta's webhooks: enabled, with its app secret and
/// verify token.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    pub configured: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub app_secret_set: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub verify_token_set: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub ready: Option<bool>,
}

impl Readiness {
    fn of(record: Option<IntegrationRecord>) -> Self {
        match record {
            None => Self {
                configured: false,
                enabled: None,
                app_secret_set: None,
                verify_token_set: None,
                ready: None,
            },
            Some(r) => {
                let (secret, token) = (
                    r.has_secret("appSecret"),
                    r.has_secret("webhookVerifyToken"),
                );
                Self {
                    configured: true,
                    enabled: Some(r.enabled),
                    app_secret_set: Some(secret),
                    verify_token_set: Some(token),
                    ready: Some(r.enabled && secret && token),
                }
            }
        }
    }

    fn is_ready(&self) -> bool {
        self.ready == Some(true)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LastMetaEvent {
    pub id: String,
    pub event_type: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub received_at: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: ProcessingStatus,
}

/// `GET /api/v1/meta/dashboard`: counts over 1h, 24h and 7d, errors with what to do about
/// them, and the week hour by hour.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MetaDashboard {
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub generated_at: String,
    /// the last Graph check of each enabled Meta integration, with unhealthySince
    pub graph: Option<Vec<ChannelCheck>>,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub windows: Windows,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub pending: Pending,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub error_analysis: ErrorAnalysis,
    pub recommendations: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub hourly: Vec<MetaHour>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Windows {
    #[serde(rename = "1h")]
    pub hour: WindowView,
    #[serde(rename = "24h")]
    pub day: WindowView,
    #[serde(rename = "7d")]
    pub week: WindowView,
}

/// Items stored and not processed yet (counted up to 100).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    pub count: usize,
    /// there may be more
    pub at_least: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ErrorAnalysis {
    /// 7d
    pub window: &'static str,
    /// WhatsApp's error codes in failed statuses, most seen first
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub meta_errors: Vec<MetaErrorCount>,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub processing_errors: Vec<ProcessingErrorCount>,
    /// the last ten items that failed
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub recent_failures: Vec<RecentFailure>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetaErrorCount {
    pub code: String,
    pub title: &'static str,
    pub count: i64,
    pub recommendation: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProcessingErrorCount {
    pub code: String,
    pub count: i64,
    pub recommendation: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RecentFailure {
    pub id: String,
    pub event_type: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub received_at: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub error: Option<super::store::ProcessingError>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetaHour {
    /// the hour, UTC
    pub hour: String,
    pub received: i64,
    pub processed: i64,
    pub failed: i64,
}

#[cfg(feature = "openapi")]
mod openapi {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};

    fn strings(values: &[&str]) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values.iter().copied()))
    }

    pub fn health_status() -> ObjectBuilder {
        strings(&["healthy", "degraded", "unhealthy"])
    }

    pub fn reach_status() -> ObjectBuilder {
        strings(&["ok", "error"])
    }

    pub fn bands() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .enum_values(Some(["good", "warning", "critical"]))
    }
}

#[derive(Clone)]
pub struct MetaMonitoring {
    table: Table,
    queue: std::sync::Arc<dyn JobQueue>,
    integrations: IntegrationService,
    store: MetaEventStore,
    stats: MetaStats,
    graph: Option<(GraphHealthChecks, MetaSubscriptions)>,
}

impl MetaMonitoring {
    pub fn new(
        table: Table,
        queue: std::sync::Arc<dyn JobQueue>,
        integrations: IntegrationService,
        store: MetaEventStore,
    ) -> Self {
        Self {
            stats: MetaStats::new(table.clone()),
            table,
            queue,
            integrations,
            store,
            graph: None,
        }
    }

    /// Reports include the last Graph checks and the stored subscriptions.
    pub fn with_graph(
        mut self,
        checks: GraphHealthChecks,
        subscriptions: MetaSubscriptions,
    ) -> Self {
        self.graph = Some((checks, subscriptions));
        self
    }

    /// The last Graph check of each channel and the stored subscriptions (none without
    /// Graph checks).
    async fn graph_view(
        &self,
        tenant_id: &str,
    ) -> ServiceResult<(Option<Vec<ChannelCheck>>, Option<Vec<MetaSubscription>>)> {
        let Some((checks, subscriptions)) = &self.graph else {
            return Ok((None, None));
        };
        let (checks, subscriptions) =
            tokio::join!(checks.stored(tenant_id), subscriptions.stored(tenant_id));
        Ok((Some(checks?), Some(subscriptions?)))
    }

    /// Table and queue reachable, integrations configured, last event, success rate.
    pub async fn health(&self, tenant_id: &str) -> ServiceResult<MetaHealth> {
        let started = Instant::now();
        let table = self.table.ping().await;
        let table_ms = started.elapsed().as_millis() as u64;
        let started = Instant::now();
        let queue = self.queue.ping().await;
        let queue_ms = started.elapsed().as_millis() as u64;
        let integrations = MetaReadiness {
            whatsapp: Readiness::of(
                self.integrations
                    .get(tenant_id, IntegrationKind::Whatsapp)
                    .await?,
            ),
            instagram: Readiness::of(
                self.integrations
                    .get(tenant_id, IntegrationKind::Instagram)
                    .await?,
            ),
        };
        let any_ready = integrations.whatsapp.is_ready() || integrations.instagram.is_ready();
        let latest = self.store.latest(tenant_id).await?;
        let day = self
            .stats
            .hourly_since(tenant_id, Utc::now() - Duration::hours(24))
            .await?;
        let processing = WindowView::of(&Totals::sum_since(&day, Utc::now() - Duration::hours(24)));
        let reachable = table.is_ok() && queue.is_ok();
        let (graph, subscriptions) = self.graph_view(tenant_id).await?;
        let graph_unhealthy = graph.iter().flatten().any(|c| !c.healthy);
        let status = if !reachable {
            "unhealthy"
        } else if !any_ready || graph_unhealthy || processing.success_rate.is_some_and(|r| r < 80.0)
        {
            "degraded"
        } else {
            "healthy"
        };
        Ok(MetaHealth {
            status,
            checked_at: crate::time::now_rfc3339(),
            checks: MetaChecks {
                database: ReachCheck::of(table, table_ms),
                queue: ReachCheck::of(queue, queue_ms),
                integrations,
                graph,
            },
            subscriptions,
            last_event: latest.map(|e| LastMetaEvent {
                id: e.id,
                event_type: e.event_type,
                received_at: e.received_at,
                status: e.status,
            }),
            processing_24h: processing,
            webhook_path: format!("/webhooks/meta/{tenant_id}"),
        })
    }

    /// Counts by type and status over 1h, 24h and 7d, error analysis with
    /// recommendations, processing latency.
    pub async fn dashboard(&self, tenant_id: &str) -> ServiceResult<MetaDashboard> {
        let now = Utc::now();
        let week = self
            .stats
            .hourly_since(tenant_id, now - Duration::days(7))
            .await?;
        let totals_7d = Totals::sum_since(&week, now - Duration::days(7));
        let windows = Windows {
            hour: WindowView::of(&Totals::sum_since(&week, now - Duration::hours(1))),
            day: WindowView::of(&Totals::sum_since(&week, now - Duration::hours(24))),
            week: WindowView::of(&totals_7d),
        };
        let mut recommendations = Vec::new();
        let meta_errors: Vec<MetaErrorCount> =
            sorted_desc(totals_7d.with_prefix(stats::META_ERROR_PREFIX))
                .into_iter()
                .map(|(code, count)| {
                    let (title, advice) = meta_error_advice(&code);
                    recommendations.push(format!(
                        "WhatsApp error {code} ({title}) ×{count}: {advice}"
                    ));
                    MetaErrorCount {
                        code,
                        title,
                        count,
                        recommendation: advice,
                    }
                })
                .collect();
        let processing_errors: Vec<ProcessingErrorCount> =
            sorted_desc(totals_7d.with_prefix(stats::PROCESSING_ERROR_PREFIX))
                .into_iter()
                .map(|(code, count)| {
                    let advice = processing_error_advice(&code);
                    recommendations.push(format!("Processing error {code} ×{count}: {advice}"));
                    ProcessingErrorCount {
                        code,
                        count,
                        recommendation: advice,
                    }
                })
                .collect();
        let (recent_failures, _) = self
            .store
            .list(
                tenant_id,
                None,
                Some(ProcessingStatus::Failed),
                Some(10),
                None,
            )
            .await?;
        let (pending, _) = self
            .store
            .list(
                tenant_id,
                None,
                Some(ProcessingStatus::Received),
                Some(100),
                None,
            )
            .await?;
        if totals_7d.get(stats::RECEIVED) == 0 {
            recommendations.push(
                "No events in 7 days: check the callback URL and subscribed fields in the Meta app dashboard, and GET /api/v1/meta/health."
                    .into(),
            );
        }
        let (graph, _) = self.graph_view(tenant_id).await?;
        Ok(MetaDashboard {
            generated_at: crate::time::rfc3339(now),
            graph,
            windows,
            pending: Pending {
                count: pending.len(),
                at_least: pending.len() == 100,
            },
            error_analysis: ErrorAnalysis {
                window: "7d",
                meta_errors,
                processing_errors,
                recent_failures: recent_failures
                    .into_iter()
                    .map(|e| RecentFailure {
                        id: e.id,
                        event_type: e.event_type,
                        received_at: e.received_at,
                        error: e.error,
                    })
                    .collect(),
            },
            recommendations,
            hourly: week
                .iter()
                .map(|(hour, t)| MetaHour {
                    hour: hour.clone(),
                    received: t.get(stats::RECEIVED),
                    processed: t.get(stats::PROCESSED),
                    failed: t.get(stats::FAILED),
                })
                .collect(),
        })
    }
}

fn sorted_desc(map: std::collections::BTreeMap<String, i64>) -> Vec<(String, i64)> {
    let mut v: Vec<_> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}
