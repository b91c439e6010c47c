//! The read side's health report and monitoring dashboard for a tenant's Meta webhooks.

use std::time::Instant;

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use super::graph_health::GraphHealthChecks;
use super::stats::{self, MetaStats, Totals};
use super::store::{MetaEventStore, ProcessingStatus};
use super::subscriptions::MetaSubscriptions;
use crate::error::ServiceResult;
use crate::integrations::{IntegrationKind, IntegrationService};
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

fn window_view(totals: &Totals) -> Value {
    let processed = totals.get(stats::PROCESSED);
    let failed = totals.get(stats::FAILED);
    let finished = processed + failed;
    let success_rate = (finished > 0).then(|| processed as f64 * 100.0 / finished as f64);
    let latency_count = totals.get(stats::LATENCY_COUNT);
    json!({
        "received": totals.get(stats::RECEIVED),
        "foreignAccount": totals.get(stats::FOREIGN),
        "processed": processed,
        "failed": failed,
        "successRate": success_rate.map(|r| (r * 10.0).round() / 10.0),
        "band": success_rate.map(success_band),
        "byType": totals.with_prefix(stats::TYPE_PREFIX),
        "byChannel": totals.with_prefix(stats::CHANNEL_PREFIX),
        "averageProcessingLatencyMs": (latency_count > 0)
            .then(|| totals.get(stats::LATENCY_TOTAL_MS) / latency_count),
    })
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

    /// The last Graph check of each channel and the stored subscriptions; whether any
    /// check is unhealthy.
    async fn graph_view(&self, tenant_id: &str) -> ServiceResult<(Value, bool)> {
        let Some((checks, subscriptions)) = &self.graph else {
            return Ok((Value::Null, false));
        };
        let (checks, subscriptions) =
            tokio::join!(checks.stored(tenant_id), subscriptions.stored(tenant_id));
        let checks = checks?;
        let unhealthy = checks.iter().any(|c| !c.healthy);
        Ok((
            json!({"checks": checks, "subscriptions": subscriptions?}),
            unhealthy,
        ))
    }

    /// Table and queue reachable, integrations configured, last event, success rate.
    pub async fn health(&self, tenant_id: &str) -> ServiceResult<Value> {
        let started = Instant::now();
        let table = self.table.ping().await;
        let table_ms = started.elapsed().as_millis() as u64;
        let started = Instant::now();
        let queue = self.queue.ping().await;
        let queue_ms = started.elapsed().as_millis() as u64;
        let check = |ok: bool, ms: u64, error: Option<String>| json!({"status": if ok { "ok" } else { "error" }, "latencyMs": ms, "error": error});
        let mut integrations = serde_json::Map::new();
        let mut any_ready = false;
        for kind in [IntegrationKind::Whatsapp, IntegrationKind::Instagram] {
            let record = self.integrations.get(tenant_id, kind).await?;
            let view = match record {
                None => json!({"configured": false}),
                Some(r) => {
                    let ready = r.enabled
                        && r.has_secret("appSecret")
                        && r.has_secret("webhookVerifyToken");
                    any_ready |= ready;
                    json!({
                        "configured": true,
                        "enabled": r.enabled,
                        "appSecretSet": r.has_secret("appSecret"),
                        "verifyTokenSet": r.has_secret("webhookVerifyToken"),
                        "ready": ready,
                    })
                }
            };
            integrations.insert(kind.as_str().into(), view);
        }
        let latest = self.store.latest(tenant_id).await?;
        let day = self
            .stats
            .hourly_since(tenant_id, Utc::now() - Duration::hours(24))
            .await?;
        let processing = window_view(&Totals::sum_since(&day, Utc::now() - Duration::hours(24)));
        let reachable = table.is_ok() && queue.is_ok();
        let rate = processing["successRate"].as_f64();
        let (graph, graph_unhealthy) = self.graph_view(tenant_id).await?;
        let status = if !reachable {
            "unhealthy"
        } else if !any_ready || graph_unhealthy || rate.is_some_and(|r| r < 80.0) {
            "degraded"
        } else {
            "healthy"
        };
        Ok(json!({
            "status": status,
            "checkedAt": crate::time::now_rfc3339(),
            "checks": {
                "database": check(table.is_ok(), table_ms, table.err().map(|e| e.to_string())),
                "queue": check(queue.is_ok(), queue_ms, queue.err().map(|e| e.to_string())),
                "integrations": integrations,
                "graph": graph["checks"],
            },
            "subscriptions": graph["subscriptions"],
            "lastEvent": latest.map(|e| json!({
                "id": e.id, "eventType": e.event_type, "receivedAt": e.received_at, "status": e.status,
            })),
            "processing24h": processing,
            "webhookPath": format!("/webhooks/meta/{tenant_id}"),
        }))
    }

    /// Counts by type and status over 1h, 24h and 7d, error analysis with
    /// recommendations, processing latency.
    pub async fn dashboard(&self, tenant_id: &str) -> ServiceResult<Value> {
        let now = Utc::now();
        let week = self
            .stats
            .hourly_since(tenant_id, now - Duration::days(7))
            .await?;
        let totals_7d = Totals::sum_since(&week, now - Duration::days(7));
        let windows = json!({
            "1h": window_view(&Totals::sum_since(&week, now - Duration::hours(1))),
            "24h": window_view(&Totals::sum_since(&week, now - Duration::hours(24))),
            "7d": window_view(&totals_7d),
        });
        let mut recommendations = Vec::new();
        let meta_errors: Vec<Value> = sorted_desc(totals_7d.with_prefix(stats::META_ERROR_PREFIX))
            .into_iter()
            .map(|(code, count)| {
                let (title, advice) = meta_error_advice(&code);
                recommendations.push(format!(
                    "WhatsApp error {code} ({title}) ×{count}: {advice}"
                ));
                json!({"code": code, "title": title, "count": count, "recommendation": advice})
            })
            .collect();
        let processing_errors: Vec<Value> =
            sorted_desc(totals_7d.with_prefix(stats::PROCESSING_ERROR_PREFIX))
                .into_iter()
                .map(|(code, count)| {
                    let advice = processing_error_advice(&code);
                    recommendations.push(format!("Processing error {code} ×{count}: {advice}"));
                    json!({"code": code, "count": count, "recommendation": advice})
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
        Ok(json!({
            "generatedAt": crate::time::rfc3339(now),
            "graph": graph["checks"],
            "windows": windows,
            "pending": {"count": pending.len(), "atLeast": pending.len() == 100},
            "errorAnalysis": {
                "window": "7d",
                "metaErrors": meta_errors,
                "processingErrors": processing_errors,
                "recentFailures": recent_failures.iter().map(|e| json!({
                    "id": e.id, "eventType": e.event_type, "receivedAt": e.received_at, "error": e.error,
                })).collect::<Vec<_>>(),
            },
            "recommendations": recommendations,
            "hourly": week.iter().map(|(hour, t)| json!({
                "hour": hour, "received": t.get(stats::RECEIVED),
                "processed": t.get(stats::PROCESSED), "failed": t.get(stats::FAILED),
            })).collect::<Vec<_>>(),
        }))
    }
}

fn sorted_desc(map: std::collections::BTreeMap<String, i64>) -> Vec<(String, i64)> {
    let mut v: Vec<_> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}
