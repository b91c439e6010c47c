//! Hourly counters of Meta events per tenant, written with one UpdateItem per POST (what
//! was received, by type and channel, and the error codes of failed WhatsApp statuses) and
//! one per processed event (outcome and latency). The dashboard sums the hours of a window.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::error::ServiceResult;
use crate::store::{keys, Index, Query, Table};

/// Hourly counters outlive the longest dashboard window (7 days) with room to spare.
const HOURLY_RETENTION_SECS: i64 = 35 * 86_400;

pub const RECEIVED: &str = "received";
/// Items for an account that is not the tenant's: counted, not stored.
pub const FOREIGN: &str = "foreignAccount";
pub const PROCESSED: &str = "processed";
pub const FAILED: &str = "failed";
pub const LATENCY_TOTAL_MS: &str = "latencyTotalMs";
pub const LATENCY_COUNT: &str = "latencyCount";
pub const TYPE_PREFIX: &str = "type:";
pub const CHANNEL_PREFIX: &str = "channel:";
/// Error codes Meta reported in failed WhatsApp statuses.
pub const META_ERROR_PREFIX: &str = "metaError:";
/// Why hookhub could not process an event.
pub const PROCESSING_ERROR_PREFIX: &str = "processingError:";

pub fn hour_of(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H").to_string()
}

/// Counters summed over a window.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Totals(pub BTreeMap<String, i64>);

impl Totals {
    pub fn get(&self, name: &str) -> i64 {
        self.0.get(name).copied().unwrap_or(0)
    }

    /// Counters whose names start with `prefix`, keyed by the rest of the name.
    pub fn with_prefix(&self, prefix: &str) -> BTreeMap<String, i64> {
        self.0
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|rest| (rest.to_string(), *v)))
            .collect()
    }
}

#[derive(Clone)]
pub struct MetaStats {
    table: Table,
}

impl MetaStats {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    pub async fn add(
        &self,
        tenant_id: &str,
        at: DateTime<Utc>,
        counters: BTreeMap<String, i64>,
    ) -> ServiceResult<()> {
        let counters: Vec<(String, i64)> = counters.into_iter().collect();
        let key = keys::meta_stats_hour(tenant_id, &hour_of(at));
        self.table
            .add_counters(&key, &counters, at.timestamp() + HOURLY_RETENTION_SECS)
            .await?;
        Ok(())
    }

    /// The hourly counters from `since` to now, oldest first, as (`yyyy-mm-ddThh`, counters).
    pub async fn hourly_since(
        &self,
        tenant_id: &str,
        since: DateTime<Utc>,
    ) -> ServiceResult<Vec<(String, Totals)>> {
        let mut hours = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let query = Query::new(Index::Primary, keys::meta_stats_partition(tenant_id))
                .between(format!("HOUR#{}", hour_of(since)), "HOUR#~")
                .page(Some(500), cursor.as_deref());
            let page = self.table.query(query).await?;
            for item in page.items {
                let hour = item
                    .get(keys::SK)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|sk| sk.strip_prefix("HOUR#"))
                    .unwrap_or_default()
                    .to_string();
                let counters = item
                    .into_iter()
                    .filter(|(name, _)| name != keys::TTL)
                    .filter_map(|(name, value)| {
                        let n = value.as_n().ok()?.parse::<i64>().ok()?;
                        Some((name, n))
                    })
                    .collect();
                hours.push((hour, Totals(counters)));
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(hours)
    }
}

impl Totals {
    /// The sum of the hours at or after `since`.
    pub fn sum_since(hours: &[(String, Totals)], since: DateTime<Utc>) -> Totals {
        let first = hour_of(since);
        let mut sum = BTreeMap::new();
        for (_, totals) in hours.iter().filter(|(h, _)| *h >= first) {
            for (name, n) in &totals.0 {
                *sum.entry(name.clone()).or_insert(0) += n;
            }
        }
        Totals(sum)
    }
}
