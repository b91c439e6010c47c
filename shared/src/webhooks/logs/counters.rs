//! The counters per endpoint (totals, consecutive failures) and per hour, updated atomically
//! with `ADD`, never read-modify-write; the open hour moves to its own item once an hour.

use super::*;
use crate::store::{Expression, Written};

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

    pub fn view(&self) -> StatsView {
        StatsView {
            total_deliveries: self.total_deliveries,
            successful_deliveries: self.successful_deliveries,
            failed_deliveries: self.failed_deliveries,
            success_rate: self.success_rate(),
            average_response_time_ms: self.average_response_ms(),
            consecutive_failures: self.consecutive_failures,
            last_called_at: self.last_called_at.clone(),
            last_success_at: self.last_success_at.clone(),
            last_failure_at: self.last_failure_at.clone(),
            last_status_code: self.last_status_code,
        }
    }
}

/// An endpoint's delivery counters, as the API shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Stats))]
#[serde(rename_all = "camelCase")]
pub struct StatsView {
    pub total_deliveries: u64,
    pub successful_deliveries: u64,
    pub failed_deliveries: u64,
    /// percent of attempts that succeeded, to one decimal; null before the first
    pub success_rate: Option<f64>,
    pub average_response_time_ms: Option<u64>,
    /// failed attempts since the last success; at ten the endpoint is disabled
    pub consecutive_failures: u64,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub last_called_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub last_success_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub last_failure_at: Option<String>,
    pub last_status_code: Option<u16>,
}

/// One hour's attempts at an endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default)]
pub struct HourCounters {
    /// the hour, UTC: yyyy-mm-ddThh
    pub hour: String,
    pub total: u64,
    pub successful: u64,
    pub failed: u64,
    pub response_ms: u64,
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
/// An update of an endpoint's counters item.
fn counters_expression(update: Totals, condition: Option<&str>) -> Expression {
    Expression {
        update: update.expression(),
        condition: condition.map(str::to_string),
        names: HashMap::new(),
        values: update.values,
    }
}

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

impl DeliveryLog {
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
        let written = self
            .table
            .write_expression(
                key,
                counters_expression(update, Some("openHour = :hour")),
                ReturnValue::UpdatedNew,
            )
            .await?;
        match written {
            Written::Done(changed) => Ok(Ok(consecutive_in(Some(&changed)))),
            Written::ConditionFailed(old) => Ok(Err(from_item(old)?)),
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
        let open = counters_expression(update, Some(condition));
        if old.open_hour.is_none() || closing.total == 0 {
            let written = self
                .table
                .write_expression(&key, open, ReturnValue::None)
                .await?;
            return Ok(matches!(written, Written::Done(_)));
        }
        let hourly = hour_key(tenant_id, endpoint_id, &closing.hour);
        let close = Expression {
            update: HOUR_ADD.into(),
            names: hour_names(),
            values: hour_values(&closing.hour, &Tally::from(&closing)),
            ..Default::default()
        };
        Ok(self
            .table
            .write_expressions_together(vec![(key, open), (hourly, close)])
            .await?)
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
        let written = self
            .table
            .write_expression(
                key,
                counters_expression(update, None),
                ReturnValue::UpdatedNew,
            )
            .await?;
        match written {
            Written::Done(changed) | Written::ConditionFailed(changed) => {
                Ok(consecutive_in(Some(&changed)))
            }
        }
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
        let add = Expression {
            update: HOUR_ADD.into(),
            names: hour_names(),
            values: hour_values(hour, tally),
            ..Default::default()
        };
        self.table
            .write_expression(&key, add, ReturnValue::None)
            .await?;
        Ok(())
    }

    pub async fn reset_failures(&self, tenant_id: &str, endpoint_id: &str) -> ServiceResult<()> {
        let reset = Expression {
            update: "SET consecutiveFailures = :zero".into(),
            values: HashMap::from([(":zero".to_string(), AttributeValue::N("0".into()))]),
            ..Default::default()
        };
        self.table
            .write_expression(&stats_key(tenant_id, endpoint_id), reset, ReturnValue::None)
            .await?;
        Ok(())
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
}
