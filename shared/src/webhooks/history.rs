//! What was sent: a published event read back with where each of its deliveries stands,
//! one attempt's request and response as the receiver saw them, and what failed for good,
//! queued again.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::delivery::{derived_headers, request_body, DeliveryJob};
use super::events::{EventService, StoredEvent};
use super::logs::{AttemptHead, AttemptLog, AttemptSummary, DeliveryLog, LogFilter, LogScope};
use crate::error::{ServiceError, ServiceResult};

/// Where one delivery of an event (to one endpoint or workflow) stands, from its attempts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryState {
    pub delivery_id: String,
    /// the endpoint (wh_…) or workflow (wf_…)
    pub webhook_id: String,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub status: DeliveryStatus,
    pub attempts: u32,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub last_attempt: LastAttempt,
}

/// `retrying`: a retry is scheduled; `failed`: no retry is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Success,
    Retrying,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LastAttempt {
    /// its request and response: GET /api/v1/webhooks/logs/{logId}
    pub log_id: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub at: String,
    pub status_code: Option<u16>,
    pub response_time_ms: u64,
    pub error: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub next_attempt_at: Option<String>,
}

/// Groups an event's attempts by delivery; the newest attempt of each says where it stands.
pub fn delivery_states(attempts: Vec<AttemptSummary>) -> Vec<DeliveryState> {
    let mut by_delivery: BTreeMap<String, Vec<AttemptSummary>> = BTreeMap::new();
    for attempt in attempts {
        by_delivery
            .entry(attempt.delivery_id.clone())
            .or_default()
            .push(attempt);
    }
    let mut states: Vec<DeliveryState> = by_delivery
        .into_iter()
        .filter_map(|(delivery_id, mut attempts)| {
            attempts.sort_by(|a, b| a.id.cmp(&b.id));
            let count = attempts.len() as u32;
            let last = attempts.pop()?;
            let status = match (last.success, last.will_retry) {
                (true, _) => DeliveryStatus::Success,
                (false, true) => DeliveryStatus::Retrying,
                (false, false) => DeliveryStatus::Failed,
            };
            Some(DeliveryState {
                delivery_id,
                webhook_id: last.endpoint_id,
                status,
                attempts: count,
                last_attempt: LastAttempt {
                    log_id: last.id,
                    at: last.created_at,
                    status_code: last.status_code,
                    response_time_ms: last.response_time_ms,
                    error: last.error,
                    next_attempt_at: last.next_attempt_at,
                },
            })
        })
        .collect();
    states.sort_by(|a, b| a.webhook_id.cmp(&b.webhook_id));
    states
}

/// An event with its deliveries.
#[derive(Debug, Clone)]
pub struct EventDetail {
    pub event: StoredEvent,
    pub deliveries: Vec<DeliveryState>,
}

/// An event as read back, with where each of its deliveries stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = EventDetail))]
pub struct EventDetailView {
    #[serde(flatten)]
    pub event: EventView,
    /// one per endpoint and workflow it went to, once first attempted
    pub deliveries: Vec<DeliveryState>,
}

impl EventDetail {
    pub fn view(&self) -> EventDetailView {
        EventDetailView {
            event: EventView::of(&self.event),
            deliveries: self.deliveries.clone(),
        }
    }
}

/// An event as read back: its envelope and data, as receivers get them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Event))]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = super::catalog::openapi::origin_schema))]
    pub source: &'static str,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object, nullable = true))]
    pub data: Value,
}

impl EventView {
    pub fn of(event: &StoredEvent) -> Self {
        Self {
            id: event.id.clone(),
            event_type: event.event_type.clone(),
            source: super::catalog::origin(&event.source),
            created_at: event.created_at.clone(),
            data: event.data.clone(),
        }
    }
}

/// One attempt with its request rebuilt: the body is the stored event's, serialised as it
/// was for the receiver, so it is byte for byte what was sent.
#[derive(Debug, Clone)]
pub struct AttemptDetail {
    pub log: AttemptLog,
    /// `None` once the event is past its retention.
    pub request_body: Option<String>,
}

/// One attempt as the API shows it: the request as sent and the response as received.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AttemptDetail))]
#[serde(rename_all = "camelCase")]
pub struct AttemptDetailView {
    #[serde(flatten)]
    pub head: AttemptHead,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub request: SentRequest,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub response: ReceivedResponse,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SentRequest {
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub method: HttpPost,
    pub url: String,
    /// as sent, signatures included; a bearer token masked
    pub headers: BTreeMap<String, String>,
    /// the exact bytes sent; null once the event is past its retention
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub body: Option<String>,
}

/// Deliveries are POSTs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum HttpPost {
    #[serde(rename = "POST")]
    Post,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReceivedResponse {
    pub status_code: Option<u16>,
    pub headers: BTreeMap<String, String>,
    /// cut to 4 KiB
    #[cfg_attr(feature = "openapi", schema(max_length = 4096))]
    pub body: Option<String>,
    pub duration_ms: u64,
    pub error: Option<String>,
}

impl AttemptDetail {
    pub fn view(&self) -> AttemptDetailView {
        let log = &self.log;
        // An attempt that was never sent has no headers to complete.
        let mut headers = log.request_headers.clone();
        if !headers.is_empty() {
            headers.extend(
                derived_headers(&log.event_id, &log.event_type)
                    .map(|(name, value)| (name.to_string(), value)),
            );
        }
        AttemptDetailView {
            head: log.head(),
            request: SentRequest {
                method: HttpPost::Post,
                url: log.url.clone(),
                headers,
                body: self.request_body.clone(),
            },
            response: ReceivedResponse {
                status_code: log.status_code,
                headers: log.response_headers.clone(),
                body: log.response_body.clone(),
                duration_ms: log.response_time_ms,
                error: log.error.clone(),
            },
        }
    }
}

/// A logged attempt's event, queued again to its endpoint as a new delivery.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Redelivery {
    pub delivery_id: String,
    pub event_id: String,
    pub webhook_id: String,
}

/// The events whose delivery to an endpoint failed for good, queued again.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Recovery {
    pub webhook_id: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub since: String,
    pub recovered: usize,
    pub event_ids: Vec<String>,
}

#[derive(Clone)]
pub struct HistoryService {
    events: EventService,
    log: DeliveryLog,
}

impl HistoryService {
    pub fn new(events: EventService, log: DeliveryLog) -> Self {
        Self { events, log }
    }

    /// The event and its deliveries, read at once.
    pub async fn event(&self, tenant_id: &str, event_id: &str) -> ServiceResult<EventDetail> {
        let (event, attempts) = tokio::join!(
            self.events.get(tenant_id, event_id),
            self.log.by_event(tenant_id, event_id)
        );
        Ok(EventDetail {
            event: event?,
            deliveries: delivery_states(attempts?),
        })
    }

    /// Queues again every event whose delivery to this endpoint (the tenant's, checked by
    /// the caller) failed for good since `since`: no attempt succeeded and no retry is
    /// pending. Events past their retention are skipped.
    pub async fn recover(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> ServiceResult<Recovery> {
        let filter = LogFilter {
            scope: LogScope::Endpoint(endpoint_id.to_string()),
            from: Some(since),
            ..Default::default()
        };
        // Per delivery: its event, whether any attempt succeeded, and whether a retry is
        // still pending (the newest attempt, seen first, says so).
        let mut by_delivery: BTreeMap<String, (String, bool, bool)> = BTreeMap::new();
        let mut cursor: Option<String> = None;
        loop {
            let (logs, next) = self
                .log
                .list(tenant_id, &filter, Some(1000), cursor.as_deref())
                .await?;
            for l in logs {
                let entry = by_delivery.entry(l.delivery_id.clone()).or_insert((
                    l.event_id.clone(),
                    false,
                    l.will_retry,
                ));
                entry.1 |= l.success;
            }
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let mut seen = std::collections::HashSet::new();
        let mut jobs = Vec::new();
        let mut events = Vec::new();
        for (event_id, succeeded, pending) in by_delivery.into_values() {
            if succeeded || pending || !seen.insert(event_id.clone()) {
                continue;
            }
            match self.events.get(tenant_id, &event_id).await {
                Ok(event) => {
                    jobs.push(DeliveryJob::for_event(&event, endpoint_id).into_job(tenant_id));
                    events.push(event_id);
                }
                Err(ServiceError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        self.events.enqueue_all(&jobs).await?;
        Ok(Recovery {
            webhook_id: endpoint_id.to_string(),
            since: crate::time::rfc3339(since),
            recovered: events.len(),
            event_ids: events,
        })
    }

    /// One attempt to one of `target_ids` (the caller's endpoints, or its workflows).
    pub async fn attempt(
        &self,
        tenant_id: &str,
        target_ids: &[String],
        log_id: &str,
    ) -> ServiceResult<AttemptDetail> {
        let log = self.log.get(tenant_id, target_ids, log_id).await?;
        let request_body = match self.events.get(tenant_id, &log.event_id).await {
            Ok(event) => {
                let job = DeliveryJob::for_event(&event, &log.endpoint_id);
                let body = request_body(tenant_id, &job, &event.data, log.attempt);
                Some(String::from_utf8_lossy(&body).into_owned())
            }
            Err(ServiceError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        Ok(AttemptDetail { log, request_body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(id: &str, delivery: &str, success: bool, will_retry: bool) -> AttemptSummary {
        AttemptSummary {
            id: id.into(),
            endpoint_id: format!("wh_{delivery}"),
            delivery_id: delivery.into(),
            attempt: 1,
            success,
            status: if success { "success" } else { "failed" }.into(),
            status_code: Some(if success { 200 } else { 500 }),
            response_time_ms: 3,
            error: None,
            will_retry,
            next_attempt_at: None,
            created_at: "2026-12-07T00:00:00Z".into(),
        }
    }

    #[test]
    fn the_newest_attempt_of_each_delivery_says_where_it_stands() {
        let states = delivery_states(vec![
            attempt("del_3", "a", true, false),
            attempt("del_1", "a", false, true),
            attempt("del_2", "b", false, true),
            attempt("del_4", "c", false, true),
            attempt("del_5", "c", false, false),
        ]);
        let seen: Vec<(&str, DeliveryStatus, u32, &str)> = states
            .iter()
            .map(|s| {
                (
                    s.delivery_id.as_str(),
                    s.status,
                    s.attempts,
                    s.last_attempt.log_id.as_str(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("a", DeliveryStatus::Success, 2, "del_3"),
                ("b", DeliveryStatus::Retrying, 1, "del_2"),
                ("c", DeliveryStatus::Failed, 2, "del_5"),
            ]
        );
    }
}
