//! Delivery attempt logs: one item per attempt, with a retention TTL, written to its
//! endpoint's partition (and to an index when it failed, or by event). The counters per
//! endpoint and per hour are in `counters`, the listings that merge endpoints in `listing`.

mod counters;
mod listing;

pub use counters::{EndpointStats, HourCounters, StatsView};
pub use listing::{LogFilter, LogScope};

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::{Deserialize, Serialize};

use crate::error::{ServiceError, ServiceResult};
use crate::ids::{self, IdKind};
use crate::store::{
    decode_cursor, encode_cursor, from_item, keys, to_item, Index, Key, Query, StoreError, Table,
    DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,
};

pub const ATTEMPT_PREFIX: &str = "ATTEMPT#";
const STATS_SK: &str = "STATS";
const HOUR_PREFIX: &str = "HOUR#";
/// Hourly counters are kept long enough for the 30-day analytics range.
const HOURLY_RETENTION_SECS: i64 = 35 * 86_400;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptLog {
    pub id: String,
    pub tenant_id: String,
    pub endpoint_id: String,
    /// The same for every attempt at delivering one event to one endpoint.
    pub delivery_id: String,
    pub event_id: String,
    pub event_type: String,
    pub attempt: u32,
    pub success: bool,
    /// `success` or `failed`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    pub response_time_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub will_retry: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    pub url: String,
    pub created_at: String,
    /// The headers the request was sent with, signatures included and credentials masked;
    /// its body is the event's, rebuilt from the stored event rather than stored again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub request_headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub response_headers: BTreeMap<String, String>,
}

/// Whether an attempt reached its receiver and got a 2xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AttemptStatus {
    Success,
    Failed,
}

impl AttemptStatus {
    fn of(success: bool) -> Self {
        if success {
            Self::Success
        } else {
            Self::Failed
        }
    }
}

/// What every view of an attempt shows: which delivery of which event, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AttemptHead {
    pub id: String,
    /// the endpoint (wh_…) or workflow (wf_…) attempted; the same as endpointId
    pub webhook_id: String,
    pub endpoint_id: String,
    /// the same for every attempt at delivering one event to one endpoint
    pub delivery_id: String,
    pub event_id: String,
    pub event_type: String,
    /// 1 for the first attempt, then each retry
    pub attempt: u32,
    pub success: bool,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub status: AttemptStatus,
    pub will_retry: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime, nullable = false))]
    pub next_attempt_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
}

/// An attempt as listed: without the headers, which the attempt's own page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = AttemptLog))]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    #[serde(flatten)]
    pub head: AttemptHead,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub status_code: Option<u16>,
    pub response_time_ms: u64,
    /// the receiver's answer, cut to 4 KiB
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 4096, nullable = false))]
    pub response_body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub error: Option<String>,
    pub url: String,
}

/// A call of an n8n workflow webhook, as listed: the attempt and the workflow's name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = WorkflowCall))]
#[serde(rename_all = "camelCase")]
pub struct WorkflowCallView {
    #[serde(flatten)]
    pub attempt: AttemptView,
    /// null once the workflow webhook is deleted
    pub workflow_name: Option<String>,
}

/// The latest calls across a tenant's workflow webhooks (or one), newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecentCalls {
    pub data: Vec<WorkflowCallView>,
}

impl AttemptLog {
    /// As listed: without the headers, which the attempt's own page shows.
    pub fn view(&self) -> AttemptView {
        AttemptView {
            head: self.head(),
            status_code: self.status_code,
            response_time_ms: self.response_time_ms,
            response_body: self.response_body.clone(),
            error: self.error.clone(),
            url: self.url.clone(),
        }
    }

    pub fn head(&self) -> AttemptHead {
        AttemptHead {
            id: self.id.clone(),
            webhook_id: self.endpoint_id.clone(),
            endpoint_id: self.endpoint_id.clone(),
            delivery_id: self.delivery_id.clone(),
            event_id: self.event_id.clone(),
            event_type: self.event_type.clone(),
            attempt: self.attempt,
            success: self.success,
            status: AttemptStatus::of(self.success),
            will_retry: self.will_retry,
            next_attempt_at: self.next_attempt_at.clone(),
            created_at: self.created_at.clone(),
        }
    }
}

/// The tenant-wide name of the attempts to one kind of target (tenant endpoints and n8n
/// workflows are listed apart): the failed-attempts index partition is this plus
/// `#failed`, and merged listing cursors are bound to it.
fn attempts_partition(tenant_id: &str, workflows: bool) -> String {
    if workflows {
        format!("T#{tenant_id}#WFATTEMPTS")
    } else {
        format!("T#{tenant_id}#ATTEMPTS")
    }
}

fn is_workflow(endpoint_id: &str) -> bool {
    endpoint_id.starts_with("wf_")
}

const FAILED: &str = "failed";

/// An attempt as the attempts-by-event index holds it ([`keys::GSI4_INCLUDED`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptSummary {
    #[serde(rename = "gsi4sk")]
    pub id: String,
    pub endpoint_id: String,
    pub delivery_id: String,
    pub attempt: u32,
    pub success: bool,
    pub status: String,
    #[serde(default)]
    pub status_code: Option<u16>,
    pub response_time_ms: u64,
    #[serde(default)]
    pub error: Option<String>,
    pub will_retry: bool,
    #[serde(default)]
    pub next_attempt_at: Option<String>,
    pub created_at: String,
}

/// The most attempts an event's page shows: with ten retries each, 100 deliveries.
const MAX_ATTEMPTS_PER_EVENT: usize = 1000;

#[derive(Clone)]
pub struct DeliveryLog {
    table: Table,
    retention: std::time::Duration,
}

impl DeliveryLog {
    pub fn new(table: Table, retention: std::time::Duration) -> Self {
        Self { table, retention }
    }

    /// Stores attempts (any endpoints), 25 to a batch write.
    pub async fn put_all(&self, logs: &[&AttemptLog]) -> ServiceResult<()> {
        let items = logs
            .iter()
            .map(|l| self.item(l))
            .collect::<ServiceResult<Vec<_>>>()?;
        Ok(self.table.put_all(items).await?)
    }

    /// Logs a delivery that was not attempted (its endpoint was disabled meanwhile), so that
    /// recovery finds it; nothing was sent, so no counter moves.
    pub async fn record_not_sent(&self, log: &AttemptLog) -> ServiceResult<()> {
        Ok(self.table.put(self.item(log)?).await?)
    }

    fn item(&self, log: &AttemptLog) -> ServiceResult<crate::store::Item> {
        let key = Key {
            pk: keys::endpoint_partition(&log.tenant_id, &log.endpoint_id),
            sk: format!("{ATTEMPT_PREFIX}{}", log.id),
        };
        let mut item = to_item(&key, log)?;
        // Sparse: only failures are indexed (the listing and recovery filter on them); a
        // success is one write unit, not two.
        if log.status == FAILED {
            let index = attempts_partition(&log.tenant_id, is_workflow(&log.endpoint_id));
            item.insert(
                keys::GSI2_PK.into(),
                AttributeValue::S(format!("{index}#{FAILED}")),
            );
            item.insert(keys::GSI2_SK.into(), AttributeValue::S(log.id.clone()));
        }
        item.insert(
            keys::GSI4_PK.into(),
            AttributeValue::S(keys::event_attempts(&log.tenant_id, &log.event_id)),
        );
        item.insert(keys::GSI4_SK.into(), AttributeValue::S(log.id.clone()));
        item.insert(
            keys::TTL.into(),
            AttributeValue::N(crate::time::ttl_after(self.retention).to_string()),
        );
        Ok(item)
    }

    /// Every attempt at delivering one event (up to [`MAX_ATTEMPTS_PER_EVENT`]), oldest
    /// first, from the attempts-by-event index: eventually consistent, so an attempt made a
    /// moment ago may not show yet.
    pub async fn by_event(
        &self,
        tenant_id: &str,
        event_id: &str,
    ) -> ServiceResult<Vec<AttemptSummary>> {
        let partition = keys::event_attempts(tenant_id, event_id);
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let query = Query::new(Index::Gsi4, partition.clone())
                .page(Some(MAX_PAGE_SIZE), cursor.as_deref());
            let (page, next) = self.table.query_records::<AttemptSummary>(query).await?;
            out.extend(page);
            match next {
                Some(next) if out.len() < MAX_ATTEMPTS_PER_EVENT => cursor = Some(next),
                _ => break,
            }
        }
        out.truncate(MAX_ATTEMPTS_PER_EVENT);
        Ok(out)
    }

    /// Erasure: the response bodies logged for every attempt at delivering one event (a
    /// receiver may echo what it was sent) are replaced by `[erased]`. The request bodies
    /// need nothing: they are the stored event's, erased with it. Answers how many.
    pub async fn erase_responses(&self, tenant_id: &str, event_id: &str) -> ServiceResult<usize> {
        let partition = keys::event_attempts(tenant_id, event_id);
        let mut erased = 0;
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .table
                .query(
                    Query::new(Index::Gsi4, partition.clone())
                        .page(Some(MAX_PAGE_SIZE), cursor.as_deref()),
                )
                .await?;
            for item in &page.items {
                let key = Key::of_item(item)?;
                let update = crate::store::Update::default()
                    .set_s("responseBody", "[erased]")
                    .when("attribute_exists(#body) AND #body <> :erased")
                    .name("#body", "responseBody")
                    .value(
                        ":erased",
                        aws_sdk_dynamodb::types::AttributeValue::S("[erased]".into()),
                    );
                if let crate::store::Updated::Done(_) = self.table.update(&key, update).await? {
                    erased += 1;
                }
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(erased),
            }
        }
    }

    /// One attempt of one of these endpoints (the caller's tenant's), by its id.
    pub async fn get(
        &self,
        tenant_id: &str,
        endpoint_ids: &[String],
        log_id: &str,
    ) -> ServiceResult<AttemptLog> {
        if !ids::is_valid(IdKind::Delivery, log_id) {
            return Err(ServiceError::NotFound("log entry"));
        }
        for chunk in endpoint_ids.chunks(100) {
            let wanted: Vec<Key> = chunk
                .iter()
                .map(|e| Key {
                    pk: keys::endpoint_partition(tenant_id, e),
                    sk: format!("{ATTEMPT_PREFIX}{log_id}"),
                })
                .collect();
            if let Some(item) = self.table.batch_get(&wanted).await?.into_iter().next() {
                return Ok(from_item(item)?);
            }
        }
        Err(ServiceError::NotFound("log entry"))
    }
}
