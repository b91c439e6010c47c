//! Delivery attempt logs (one item per attempt, with a retention TTL) and the counters per
//! endpoint and per hour, updated atomically with `ADD`, never read-modify-write.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::{Deserialize, Serialize};

use crate::aws::describe_error;
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

impl AttemptLog {
    /// As listed: without the headers, which the attempt's own page shows.
    pub fn view(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("serialises");
        let obj = v.as_object_mut().expect("object");
        obj.remove("tenantId");
        obj.remove("requestHeaders");
        obj.remove("responseHeaders");
        obj.insert(
            "webhookId".into(),
            obj.get("endpointId").cloned().unwrap_or_default(),
        );
        v
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

fn stats_key(tenant_id: &str, endpoint_id: &str) -> Key {
    Key {
        pk: keys::endpoint_partition(tenant_id, endpoint_id),
        sk: STATS_SK.into(),
    }
}

fn hour_key(tenant_id: &str, endpoint_id: &str, hour: &str) -> Key {
    Key {
        pk: keys::endpoint_partition(tenant_id, endpoint_id),
        sk: format!("{HOUR_PREFIX}{hour}"),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EndpointStats {
    pub total_deliveries: u64,
    pub successful_deliveries: u64,
    pub failed_deliveries: u64,
    pub total_response_ms: u64,
    pub consecutive_failures: u64,
    pub last_called_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_failure_at: Option<String>,
    pub last_status_code: Option<u16>,
    /// The hour being counted (`yyyy-mm-ddThh`) and where the totals stood when it opened:
    /// its counts are the difference. An hour moves to its own hourly item when the next one
    /// opens.
    pub open_hour: Option<String>,
    pub hour_start_total: u64,
    pub hour_start_successful: u64,
    pub hour_start_failed: u64,
    pub hour_start_response_ms: u64,
}

impl EndpointStats {
    /// The open hour's counts, as an hourly item would hold them.
    pub fn open_bucket(&self) -> HourCounters {
        HourCounters {
            hour: self.open_hour.clone().unwrap_or_default(),
            total: self.total_deliveries.saturating_sub(self.hour_start_total),
            successful: self
                .successful_deliveries
                .saturating_sub(self.hour_start_successful),
            failed: self
                .failed_deliveries
                .saturating_sub(self.hour_start_failed),
            response_ms: self
                .total_response_ms
                .saturating_sub(self.hour_start_response_ms),
        }
    }

    pub fn success_rate(&self) -> Option<f64> {
        (self.total_deliveries > 0).then(|| {
            (self.successful_deliveries as f64 * 1000.0 / self.total_deliveries as f64).round()
                / 10.0
        })
    }

    pub fn average_response_ms(&self) -> Option<u64> {
        (self.total_deliveries > 0).then(|| self.total_response_ms / self.total_deliveries)
    }

    pub fn view(&self) -> serde_json::Value {
        serde_json::json!({
            "totalDeliveries": self.total_deliveries,
            "successfulDeliveries": self.successful_deliveries,
            "failedDeliveries": self.failed_deliveries,
            "successRate": self.success_rate(),
            "averageResponseTimeMs": self.average_response_ms(),
            "consecutiveFailures": self.consecutive_failures,
            "lastCalledAt": self.last_called_at,
            "lastSuccessAt": self.last_success_at,
            "lastFailureAt": self.last_failure_at,
            "lastStatusCode": self.last_status_code,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HourCounters {
    pub hour: String,
    pub total: u64,
    pub successful: u64,
    pub failed: u64,
    pub response_ms: u64,
}

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

/// Whose attempts a listing covers.
#[derive(Debug, Clone)]
pub enum LogScope {
    /// One endpoint's (its partition, newest first).
    Endpoint(String),
    /// These endpoints' together (the tenant's endpoints, or its n8n workflows): their
    /// partitions merged newest first, or the failed-attempts index when only failures are
    /// asked for.
    Merged { workflows: bool, ids: Vec<String> },
}

impl Default for LogScope {
    fn default() -> Self {
        Self::Merged {
            workflows: false,
            ids: Vec::new(),
        }
    }
}

/// Attempts added up.
#[derive(Debug, Default, Clone)]
struct Tally {
    total: u64,
    successful: u64,
    failed: u64,
    response_ms: u64,
}

impl Tally {
    fn merge(&mut self, other: &Tally) {
        self.total += other.total;
        self.successful += other.successful;
        self.failed += other.failed;
        self.response_ms += other.response_ms;
    }

    fn add(&mut self, log: &AttemptLog) {
        self.total += 1;
        if log.success {
            self.successful += 1;
        } else {
            self.failed += 1;
        }
        self.response_ms += log.response_time_ms;
    }
}

impl From<&HourCounters> for Tally {
    fn from(h: &HourCounters) -> Self {
        Self {
            total: h.total,
            successful: h.successful,
            failed: h.failed,
            response_ms: h.response_ms,
        }
    }
}

fn number(n: u64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

/// What one run of an endpoint's attempts (oldest first) adds to its counters item: totals
/// added; the consecutive failures reset to those after the last success, or added to when
/// none succeeded; the latest times and status code set.
#[derive(Debug, Clone, Default)]
struct Totals {
    add: Vec<String>,
    set: Vec<String>,
    values: HashMap<String, AttributeValue>,
}

impl Totals {
    fn of(ordered: &[&AttemptLog]) -> Self {
        let mut tally = Tally::default();
        ordered.iter().for_each(|l| tally.add(l));
        let mut t = Totals::default();
        let newest = ordered
            .last()
            .map(|l| l.created_at.clone())
            .unwrap_or_default();
        t.values.extend([
            (":n".to_string(), number(tally.total)),
            (":ms".to_string(), number(tally.response_ms)),
            (":now".to_string(), AttributeValue::S(newest)),
        ]);
        t.add
            .extend(["totalDeliveries :n".into(), "totalResponseMs :ms".into()]);
        t.set.push("lastCalledAt = :now".into());
        if tally.successful > 0 {
            t.add.push("successfulDeliveries :ok".into());
            t.values.insert(":ok".into(), number(tally.successful));
        }
        if let Some(latest) = ordered.iter().rev().find(|l| !l.success) {
            t.add.push("failedDeliveries :failed".into());
            t.values.insert(":failed".into(), number(tally.failed));
            t.set.push("lastFailureAt = :lastFailure".into());
            t.values.insert(
                ":lastFailure".into(),
                AttributeValue::S(latest.created_at.clone()),
            );
        }
        match ordered.iter().rposition(|l| l.success) {
            Some(i) => {
                let trailing = (ordered.len() - i - 1) as u64;
                t.set.push("lastSuccessAt = :lastSuccess".into());
                t.set.push("consecutiveFailures = :trailing".into());
                t.values.insert(
                    ":lastSuccess".into(),
                    AttributeValue::S(ordered[i].created_at.clone()),
                );
                t.values.insert(":trailing".into(), number(trailing));
            }
            None => t.add.push("consecutiveFailures :failed".into()),
        }
        if let Some(code) = ordered.iter().rev().find_map(|l| l.status_code) {
            t.set.push("lastStatusCode = :code".into());
            t.values.insert(":code".into(), number(u64::from(code)));
        }
        t
    }

    fn expression(&self) -> String {
        format!("ADD {} SET {}", self.add.join(", "), self.set.join(", "))
    }

    /// Attempts of an hour already closed are added where the open hour started too, so the
    /// open hour (totals minus start) does not count them.
    fn excluding_from_open_hour(mut self, tally: &Tally) -> Self {
        if tally.total == 0 {
            return self;
        }
        self.add.extend([
            "hourStartTotal :xn".to_string(),
            "hourStartSuccessful :xok".to_string(),
            "hourStartFailed :xfailed".to_string(),
            "hourStartResponseMs :xms".to_string(),
        ]);
        self.values.extend([
            (":xn".to_string(), number(tally.total)),
            (":xok".to_string(), number(tally.successful)),
            (":xfailed".to_string(), number(tally.failed)),
            (":xms".to_string(), number(tally.response_ms)),
        ]);
        self
    }
}

fn consecutive_in(attributes: Option<&HashMap<String, AttributeValue>>) -> u64 {
    attributes
        .and_then(|a| a.get("consecutiveFailures"))
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Adds a tally to an hourly item (creating it), with its hour and retention.
const HOUR_ADD: &str = "ADD #total :n, #ok :ok, #failed :failed, #ms :ms SET #hour = :hour, #ttl = if_not_exists(#ttl, :ttl)";

/// Placeholders: several of these names are DynamoDB reserved words.
fn hour_names() -> HashMap<String, String> {
    [
        ("#total", "total"),
        ("#ok", "successful"),
        ("#failed", "failed"),
        ("#ms", "responseMs"),
        ("#hour", "hour"),
        ("#ttl", keys::TTL),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn hour_values(hour: &str, tally: &Tally) -> HashMap<String, AttributeValue> {
    let ttl = chrono::Utc::now().timestamp() + HOURLY_RETENTION_SECS;
    HashMap::from([
        (":n".to_string(), number(tally.total)),
        (":ok".to_string(), number(tally.successful)),
        (":failed".to_string(), number(tally.failed)),
        (":ms".to_string(), number(tally.response_ms)),
        (":hour".to_string(), AttributeValue::S(hour.to_string())),
        (":ttl".to_string(), AttributeValue::N(ttl.to_string())),
    ])
}

/// Filters for a log listing.
#[derive(Debug, Default, Clone)]
pub struct LogFilter {
    pub scope: LogScope,
    pub status: Option<String>,
    pub event_type: Option<String>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

fn id_bound(at: chrono::DateTime<chrono::Utc>, upper: bool) -> String {
    ids::bound_at(IdKind::Delivery, at, upper)
}

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

    /// Counts attempts of ONE endpoint (a batch's worth); returns its consecutive failures
    /// after them. Usually one UpdateItem: the endpoint's counters item also holds the hour
    /// being counted (its open bucket), which moves to its own hourly item when the next hour
    /// starts (once an hour per endpoint, a transaction).
    pub async fn count(&self, logs: &[&AttemptLog]) -> ServiceResult<u64> {
        let Some(first) = logs.first() else {
            return Ok(0);
        };
        let mut ordered = logs.to_vec();
        ordered.sort_by(|a, b| a.id.cmp(&b.id));
        let mut hours: BTreeMap<&str, Tally> = BTreeMap::new();
        for log in &ordered {
            hours
                .entry(log.created_at.get(..13).unwrap_or_default())
                .or_default()
                .add(log);
        }
        let Some((open_hour, open)) = hours.pop_last() else {
            return Ok(0);
        };
        // A batch straddling the top of an hour: its earlier hour goes to that hour's item,
        // and is not counted in the open one.
        let mut earlier = Tally::default();
        for (hour, tally) in &hours {
            self.count_hour_or_warn(&first.tenant_id, &first.endpoint_id, hour, tally)
                .await;
            earlier.merge(tally);
        }
        let mut whole = earlier.clone();
        whole.merge(&open);
        let totals = Totals::of(&ordered);
        let key = stats_key(&first.tenant_id, &first.endpoint_id);
        let endpoint = (first.tenant_id.as_str(), first.endpoint_id.as_str());
        for _ in 0..5 {
            match self
                .add_in_open_hour(&key, &totals, open_hour, &earlier)
                .await?
            {
                Ok(consecutive) => return Ok(consecutive),
                Err(old) if old.open_hour.as_deref().is_none_or(|h| h < open_hour) => {
                    if self
                        .roll_hour(endpoint, &totals, &old, open_hour, &earlier)
                        .await?
                    {
                        return Ok(self.stats_at(&key).await?.consecutive_failures);
                    }
                }
                // A later hour is already open (this batch started before the top of the
                // hour): its attempts go to their own hour's item.
                Err(_) => {
                    self.count_hour_or_warn(endpoint.0, endpoint.1, open_hour, &open)
                        .await;
                    return self.add_before_open_hour(&key, &totals, &whole).await;
                }
            }
        }
        Err(ServiceError::Store(StoreError::Unavailable(
            "endpoint counters kept changing under a concurrent update".into(),
        )))
    }

    /// The totals, when the open hour is `hour`; otherwise nothing changes and the counters
    /// item as it is comes back.
    async fn add_in_open_hour(
        &self,
        key: &Key,
        totals: &Totals,
        hour: &str,
        earlier: &Tally,
    ) -> ServiceResult<Result<u64, EndpointStats>> {
        let mut update = totals.clone().excluding_from_open_hour(earlier);
        update
            .values
            .insert(":hour".into(), AttributeValue::S(hour.into()));
        let result = self
            .counters_update(key, update, Some("openHour = :hour"))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match result {
            Ok(out) => Ok(Ok(consecutive_in(out.attributes()))),
            Err(aws_sdk_dynamodb::error::SdkError::ServiceError(e))
                if e.err().is_conditional_check_failed_exception() =>
            {
                let old = match e.into_err() {
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(f) => f.item.unwrap_or_default(),
                    _ => Default::default(),
                };
                Ok(Err(from_item(old)?))
            }
            Err(e) => Err(ServiceError::Store(StoreError::Unavailable(
                describe_error(&e),
            ))),
        }
    }

    /// Opens `hour` at the totals as they were (`old`), adding this run's, and moves the
    /// closing hour's counts to its own item, all conditional on the item being as read;
    /// `false` when it changed meanwhile (the caller reads again). Counters are only ever
    /// added to: the open hour is the totals minus where they stood when it opened.
    async fn roll_hour(
        &self,
        (tenant_id, endpoint_id): (&str, &str),
        totals: &Totals,
        old: &EndpointStats,
        hour: &str,
        earlier: &Tally,
    ) -> ServiceResult<bool> {
        use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
        let unavailable = |e: String| ServiceError::Store(StoreError::Unavailable(e));
        let mut update = totals.clone();
        update.set.extend([
            "openHour = :hour".to_string(),
            "hourStartTotal = :st".to_string(),
            "hourStartSuccessful = :sok".to_string(),
            "hourStartFailed = :sfailed".to_string(),
            "hourStartResponseMs = :sms".to_string(),
        ]);
        update.values.extend([
            (":hour".to_string(), AttributeValue::S(hour.into())),
            (
                ":st".to_string(),
                number(old.total_deliveries + earlier.total),
            ),
            (
                ":sok".to_string(),
                number(old.successful_deliveries + earlier.successful),
            ),
            (
                ":sfailed".to_string(),
                number(old.failed_deliveries + earlier.failed),
            ),
            (
                ":sms".to_string(),
                number(old.total_response_ms + earlier.response_ms),
            ),
            (":oldTotal".to_string(), number(old.total_deliveries)),
        ]);
        let condition = match &old.open_hour {
            Some(closing) => {
                update
                    .values
                    .insert(":closing".into(), AttributeValue::S(closing.clone()));
                "openHour = :closing AND totalDeliveries = :oldTotal"
            }
            // Never counted, or counted before the open hour existed.
            None => "attribute_not_exists(openHour) AND (attribute_not_exists(totalDeliveries) OR totalDeliveries = :oldTotal)",
        };
        let key = stats_key(tenant_id, endpoint_id);
        let closing = old.open_bucket();
        if old.open_hour.is_none() || closing.total == 0 {
            let result = self
                .counters_update(&key, update, Some(condition))
                .send()
                .await;
            return match result {
                Ok(_) => Ok(true),
                Err(aws_sdk_dynamodb::error::SdkError::ServiceError(e))
                    if e.err().is_conditional_check_failed_exception() =>
                {
                    Ok(false)
                }
                Err(e) => Err(unavailable(describe_error(&e))),
            };
        }
        let open = Update::builder()
            .table_name(self.table.name())
            .key(keys::PK, AttributeValue::S(key.pk))
            .key(keys::SK, AttributeValue::S(key.sk))
            .update_expression(update.expression())
            .condition_expression(condition)
            .set_expression_attribute_values(Some(update.values))
            .build()
            .map_err(|e| unavailable(e.to_string()))?;
        let hourly = hour_key(tenant_id, endpoint_id, &closing.hour);
        let close = Update::builder()
            .table_name(self.table.name())
            .key(keys::PK, AttributeValue::S(hourly.pk))
            .key(keys::SK, AttributeValue::S(hourly.sk))
            .update_expression(HOUR_ADD)
            .set_expression_attribute_names(Some(hour_names()))
            .set_expression_attribute_values(Some(hour_values(
                &closing.hour,
                &Tally::from(&closing),
            )))
            .build()
            .map_err(|e| unavailable(e.to_string()))?;
        let result = self
            .table
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(open).build())
            .transact_items(TransactWriteItem::builder().update(close).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(aws_sdk_dynamodb::error::SdkError::ServiceError(e))
                if e.err().is_transaction_canceled_exception() =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable(describe_error(&e))),
        }
    }

    /// The totals of attempts from an hour already closed: added to the totals and to where
    /// the open hour started, so the open hour does not count them.
    async fn add_before_open_hour(
        &self,
        key: &Key,
        totals: &Totals,
        tally: &Tally,
    ) -> ServiceResult<u64> {
        let update = totals.clone().excluding_from_open_hour(tally);
        let out = self
            .counters_update(key, update, None)
            .send()
            .await
            .map_err(|e| ServiceError::Store(StoreError::Unavailable(describe_error(&e))))?;
        Ok(consecutive_in(out.attributes()))
    }

    /// An UpdateItem of an endpoint's counters item, answering with what it changed.
    fn counters_update(
        &self,
        key: &Key,
        update: Totals,
        condition: Option<&str>,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.table
            .client()
            .update_item()
            .table_name(self.table.name())
            .key(keys::PK, AttributeValue::S(key.pk.clone()))
            .key(keys::SK, AttributeValue::S(key.sk.clone()))
            .update_expression(update.expression())
            .set_condition_expression(condition.map(str::to_string))
            .set_expression_attribute_values(Some(update.values))
            .return_values(ReturnValue::UpdatedNew)
    }

    async fn count_hour_or_warn(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        hour: &str,
        tally: &Tally,
    ) {
        // The hourly series feeds dashboards only; a lost increment is not worth a redelivery
        // that would count the attempts twice everywhere else.
        if let Err(e) = self.count_hour(tenant_id, endpoint_id, hour, tally).await {
            tracing::warn!(error = %e, %endpoint_id, "hourly counter not updated");
        }
    }

    async fn count_hour(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        hour: &str,
        tally: &Tally,
    ) -> ServiceResult<()> {
        let key = hour_key(tenant_id, endpoint_id, hour);
        self.table
            .client()
            .update_item()
            .table_name(self.table.name())
            .key(keys::PK, AttributeValue::S(key.pk))
            .key(keys::SK, AttributeValue::S(key.sk))
            .update_expression(HOUR_ADD)
            .set_expression_attribute_names(Some(hour_names()))
            .set_expression_attribute_values(Some(hour_values(hour, tally)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| ServiceError::Store(StoreError::Unavailable(describe_error(&e))))
    }

    pub async fn reset_failures(&self, tenant_id: &str, endpoint_id: &str) -> ServiceResult<()> {
        let key = stats_key(tenant_id, endpoint_id);
        self.table
            .client()
            .update_item()
            .table_name(self.table.name())
            .key(keys::PK, AttributeValue::S(key.pk))
            .key(keys::SK, AttributeValue::S(key.sk))
            .update_expression("SET consecutiveFailures = :zero")
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| ServiceError::Store(StoreError::Unavailable(describe_error(&e))))
    }

    pub async fn stats(&self, tenant_id: &str, endpoint_id: &str) -> ServiceResult<EndpointStats> {
        self.stats_at(&stats_key(tenant_id, endpoint_id)).await
    }

    async fn stats_at(&self, key: &Key) -> ServiceResult<EndpointStats> {
        match self.table.get(key).await? {
            Some(item) => Ok(from_item(item)?),
            None => Ok(EndpointStats::default()),
        }
    }

    /// Hourly counters from `since` on, oldest first: the closed hours' items and the open
    /// hour from the counters item, summed per hour.
    pub async fn hours(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> ServiceResult<Vec<HourCounters>> {
        Ok(self.stats_and_hours(tenant_id, endpoint_id, since).await?.1)
    }

    /// The counters and the hourly series from `since` on, reading the counters item once
    /// (it holds the totals and the open hour both need).
    pub async fn stats_and_hours(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> ServiceResult<(EndpointStats, Vec<HourCounters>)> {
        let from = format!("{HOUR_PREFIX}{}", &crate::time::rfc3339(since)[..13]);
        let to = format!("{HOUR_PREFIX}~");
        let mut out: Vec<HourCounters> = Vec::new();
        let mut cursor: Option<String> = None;
        let stats = self.stats(tenant_id, endpoint_id).await?;
        let open = stats.open_bucket();
        loop {
            let page = self
                .table
                .query(
                    Query::new(
                        Index::Primary,
                        keys::endpoint_partition(tenant_id, endpoint_id),
                    )
                    .between(from.clone(), to.clone())
                    .page(Some(1000), cursor.as_deref()),
                )
                .await?;
            out.extend(
                page.items
                    .into_iter()
                    .map(from_item)
                    .collect::<Result<Vec<HourCounters>, _>>()?,
            );
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let since_hour = &crate::time::rfc3339(since)[..13];
        if open.total > 0 && open.hour.as_str() >= since_hour {
            match out.iter_mut().find(|h| h.hour == open.hour) {
                Some(h) => {
                    h.total += open.total;
                    h.successful += open.successful;
                    h.failed += open.failed;
                    h.response_ms += open.response_ms;
                }
                None => {
                    out.push(open);
                    out.sort_by(|a, b| a.hour.cmp(&b.hour));
                }
            }
        }
        Ok((stats, out))
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

    /// Newest first, filtered, one page.
    pub async fn list(
        &self,
        tenant_id: &str,
        filter: &LogFilter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<AttemptLog>, Option<String>)> {
        let from = filter
            .from
            .map(|t| id_bound(t, false))
            .unwrap_or_else(|| "del_0".into());
        let to = filter
            .to
            .map(|t| id_bound(t, true))
            .unwrap_or_else(|| "del_~".into());
        let (query, sort_prefix) = match &filter.scope {
            LogScope::Endpoint(e) => (
                Query::new(Index::Primary, keys::endpoint_partition(tenant_id, e)),
                ATTEMPT_PREFIX,
            ),
            LogScope::Merged { workflows, .. } if filter.status.as_deref() == Some(FAILED) => (
                Query::new(
                    Index::Gsi2,
                    format!("{}#{FAILED}", attempts_partition(tenant_id, *workflows)),
                ),
                "",
            ),
            LogScope::Merged { workflows, ids } => {
                return self
                    .list_merged(
                        tenant_id,
                        *workflows,
                        ids,
                        filter,
                        (from, to),
                        limit,
                        cursor,
                    )
                    .await;
            }
        };
        let query = query
            .between(format!("{sort_prefix}{from}"), format!("{sort_prefix}{to}"))
            .newest_first();
        // Filters on other attributes are applied to each page; a page may come back short
        // with a cursor, as with any filtered DynamoDB listing.
        let page = self.table.query(query.page(limit, cursor)).await?;
        let mut logs = parse_logs(page.items)?;
        logs.retain(|l| filter.admits(l));
        Ok((logs, page.next_cursor))
    }

    /// The endpoints' partitions read side by side from the cursor's position down, merged
    /// newest first. A partition that has more than it returned bounds what can be returned
    /// (its unread attempts are older than its last read one), so no attempt is skipped; the
    /// next page starts below the last attempt returned.
    #[allow(clippy::too_many_arguments)]
    async fn list_merged(
        &self,
        tenant_id: &str,
        workflows: bool,
        endpoint_ids: &[String],
        filter: &LogFilter,
        (from, to): (String, String),
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<AttemptLog>, Option<String>)> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE) as usize;
        let position = attempts_partition(tenant_id, workflows);
        let below = cursor.map(|c| decode_position(c, &position)).transpose()?;
        let upper = match &below {
            Some(b) if *b < to => b.clone(),
            _ => to,
        };
        let queries: Vec<Query<'static>> = endpoint_ids
            .iter()
            .map(|id| {
                Query::new(Index::Primary, keys::endpoint_partition(tenant_id, id))
                    .between(
                        format!("{ATTEMPT_PREFIX}{from}"),
                        format!("{ATTEMPT_PREFIX}{upper}"),
                    )
                    .newest_first()
                    .page(Some(limit as u32 + 1), None)
            })
            .collect();
        // Chunks joined rather than a buffered stream: a stream's closure type in this future
        // defeats the `Send` proof axum needs for the handler.
        let mut pages = Vec::with_capacity(queries.len());
        for chunk in queries.chunks(MERGE_CONCURRENCY) {
            let read =
                futures::future::try_join_all(chunk.iter().cloned().map(|q| self.table.query(q)))
                    .await?;
            pages.extend(read);
        }
        let mut frontier: Option<String> = None;
        let mut logs = Vec::new();
        for page in pages {
            let mut read = parse_logs(page.items)?;
            if page.next_cursor.is_some() {
                if let Some(last) = read.last() {
                    if frontier.as_ref().is_none_or(|f| last.id > *f) {
                        frontier = Some(last.id.clone());
                    }
                }
            }
            read.retain(|l| filter.admits(l) && below.as_ref().is_none_or(|b| l.id < *b));
            logs.append(&mut read);
        }
        logs.sort_unstable_by(|a, b| b.id.cmp(&a.id));
        if let Some(f) = &frontier {
            logs.retain(|l| l.id >= *f);
        }
        let next = if logs.len() > limit {
            logs.truncate(limit);
            logs.last().map(|l| l.id.clone())
        } else {
            frontier
        };
        let next = next.map(|id| encode_position(&position, &id)).transpose()?;
        Ok((logs, next))
    }
}

/// How many endpoint partitions a merged listing reads at once.
const MERGE_CONCURRENCY: usize = 16;

fn parse_logs(items: Vec<crate::store::Item>) -> ServiceResult<Vec<AttemptLog>> {
    Ok(items
        .into_iter()
        .map(from_item::<AttemptLog>)
        .collect::<Result<Vec<_>, _>>()?)
}

impl LogFilter {
    fn admits(&self, log: &AttemptLog) -> bool {
        self.status.as_deref().is_none_or(|s| log.status == s)
            && self
                .event_type
                .as_deref()
                .is_none_or(|t| log.event_type == t)
    }
}

/// A merged listing's cursor: the attempt id the next page starts below, bound to the
/// tenant and kind so it cannot be replayed elsewhere (the same validated cursor format as
/// every other list).
fn encode_position(position: &str, below: &str) -> Result<String, StoreError> {
    encode_cursor(&HashMap::from([
        (keys::PK.to_string(), AttributeValue::S(position.into())),
        (keys::SK.to_string(), AttributeValue::S(below.into())),
    ]))
}

fn decode_position(cursor: &str, position: &str) -> Result<String, StoreError> {
    let key = decode_cursor(cursor, Index::Primary, position)?;
    key.get(keys::SK)
        .and_then(|v| v.as_s().ok())
        .filter(|id| ids::is_valid(IdKind::Delivery, id))
        .cloned()
        .ok_or(StoreError::InvalidCursor("not a cursor for this list"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_bounds_bracket_ids_of_that_time() {
        let at = chrono::Utc::now();
        let id = ids::new_id_at(IdKind::Delivery, at.timestamp_millis() as u64);
        assert!(id_bound(at, false) <= id && id <= id_bound(at, true));
        let later = at + chrono::Duration::seconds(1);
        assert!(id < id_bound(later, false));
    }
}
