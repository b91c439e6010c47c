//! Delivery attempt logs (one item per attempt, with a retention TTL) and the counters per
//! endpoint and per hour, updated atomically with `ADD`, never read-modify-write.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::{Deserialize, Serialize};

use crate::aws::describe_error;
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{self, IdKind};
use crate::store::{from_item, keys, to_item, Index, Key, Query, StoreError, Table};

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
}

impl AttemptLog {
    pub fn view(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("serialises");
        let obj = v.as_object_mut().expect("object");
        obj.remove("tenantId");
        obj.insert(
            "webhookId".into(),
            obj.get("endpointId").cloned().unwrap_or_default(),
        );
        v
    }
}

/// The tenant-wide attempt index: tenant endpoints and n8n workflows are listed apart.
fn attempts_partition(tenant_id: &str, endpoint_id: &str) -> String {
    if endpoint_id.starts_with("wf_") {
        format!("T#{tenant_id}#WFATTEMPTS")
    } else {
        format!("T#{tenant_id}#ATTEMPTS")
    }
}

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
}

impl EndpointStats {
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

/// Filters for the tenant-wide log listing.
#[derive(Debug, Default, Clone)]
pub struct LogFilter {
    pub endpoint_id: Option<String>,
    /// Without an endpoint: list n8n workflow calls instead of tenant endpoint deliveries.
    pub workflows: bool,
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

    /// Stores the attempt and updates the counters; returns the consecutive failures after it.
    pub async fn record(&self, log: &AttemptLog) -> ServiceResult<u64> {
        let item = self.item(log)?;
        let (stored, counted, hourly) =
            tokio::join!(self.table.put(item), self.count(log), self.count_hour(log),);
        stored?;
        // The hourly series feeds dashboards only; a lost increment is not worth a redelivery
        // that would count the attempt twice everywhere else.
        if let Err(e) = hourly {
            tracing::warn!(error = %e, endpoint_id = %log.endpoint_id, "hourly counter not updated");
        }
        counted
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
        let index = attempts_partition(&log.tenant_id, &log.endpoint_id);
        item.insert(keys::GSI1_PK.into(), AttributeValue::S(index.clone()));
        item.insert(keys::GSI1_SK.into(), AttributeValue::S(log.id.clone()));
        item.insert(
            keys::GSI2_PK.into(),
            AttributeValue::S(format!("{index}#{}", log.status)),
        );
        item.insert(keys::GSI2_SK.into(), AttributeValue::S(log.id.clone()));
        item.insert(
            keys::TTL.into(),
            AttributeValue::N(crate::time::ttl_after(self.retention).to_string()),
        );
        Ok(item)
    }

    async fn count(&self, log: &AttemptLog) -> ServiceResult<u64> {
        let key = stats_key(&log.tenant_id, &log.endpoint_id);
        let now = AttributeValue::S(log.created_at.clone());
        let mut values = HashMap::from([
            (":one".to_string(), AttributeValue::N("1".into())),
            (
                ":ms".to_string(),
                AttributeValue::N(log.response_time_ms.to_string()),
            ),
            (":now".to_string(), now),
        ]);
        let mut set = vec!["lastCalledAt = :now"];
        if let Some(code) = log.status_code {
            values.insert(":code".into(), AttributeValue::N(code.to_string()));
            set.push("lastStatusCode = :code");
        }
        let expression = if log.success {
            values.insert(":zero".into(), AttributeValue::N("0".into()));
            set.extend(["lastSuccessAt = :now", "consecutiveFailures = :zero"]);
            format!(
                "ADD totalDeliveries :one, successfulDeliveries :one, totalResponseMs :ms SET {}",
                set.join(", ")
            )
        } else {
            set.push("lastFailureAt = :now");
            format!("ADD totalDeliveries :one, failedDeliveries :one, totalResponseMs :ms, consecutiveFailures :one SET {}", set.join(", "))
        };
        let out = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .key(keys::PK, AttributeValue::S(key.pk))
            .key(keys::SK, AttributeValue::S(key.sk))
            .update_expression(expression)
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| ServiceError::Store(StoreError::Unavailable(describe_error(&e))))?;
        Ok(out
            .attributes()
            .and_then(|a| a.get("consecutiveFailures"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0))
    }

    async fn count_hour(&self, log: &AttemptLog) -> ServiceResult<()> {
        let hour = log.created_at.get(..13).unwrap_or_default().to_string();
        let key = hour_key(&log.tenant_id, &log.endpoint_id, &hour);
        let outcome = if log.success { "successful" } else { "failed" };
        self.table
            .client()
            .update_item()
            .table_name(self.table.name())
            .key(keys::PK, AttributeValue::S(key.pk))
            .key(keys::SK, AttributeValue::S(key.sk))
            // Attribute names as placeholders: several are DynamoDB reserved words.
            .update_expression("ADD #total :one, #outcome :one, #ms :ms SET #hour = :hour, #ttl = if_not_exists(#ttl, :ttl)")
            .expression_attribute_names("#total", "total")
            .expression_attribute_names("#outcome", outcome)
            .expression_attribute_names("#ms", "responseMs")
            .expression_attribute_names("#hour", "hour")
            .expression_attribute_names("#ttl", keys::TTL)
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":ms", AttributeValue::N(log.response_time_ms.to_string()))
            .expression_attribute_values(":hour", AttributeValue::S(hour))
            .expression_attribute_values(":ttl", AttributeValue::N((chrono::Utc::now().timestamp() + HOURLY_RETENTION_SECS).to_string()))
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
        match self.table.get(&stats_key(tenant_id, endpoint_id)).await? {
            Some(item) => Ok(from_item(item)?),
            None => Ok(EndpointStats::default()),
        }
    }

    /// Hourly counters from `since` on, oldest first.
    pub async fn hours(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> ServiceResult<Vec<HourCounters>> {
        let from = format!("{HOUR_PREFIX}{}", &crate::time::rfc3339(since)[..13]);
        let to = format!("{HOUR_PREFIX}~");
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
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
                None => return Ok(out),
            }
        }
    }

    pub async fn get(&self, tenant_id: &str, log_id: &str) -> ServiceResult<AttemptLog> {
        if !ids::is_valid(IdKind::Delivery, log_id) {
            return Err(ServiceError::NotFound("log entry"));
        }
        for index in [
            attempts_partition(tenant_id, ""),
            attempts_partition(tenant_id, "wf_"),
        ] {
            if let Some(log) = self.table.query_one(Index::Gsi1, index, log_id).await? {
                return Ok(log);
            }
        }
        Err(ServiceError::NotFound("log entry"))
    }

    /// Newest first, filtered. One endpoint's logs come from its partition; the tenant's from
    /// the attempts index (by status when filtered by status).
    pub async fn list(
        &self,
        tenant_id: &str,
        filter: &LogFilter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<AttemptLog>, Option<String>)> {
        let index = attempts_partition(tenant_id, if filter.workflows { "wf_" } else { "" });
        let (query, sort_prefix) = match (&filter.endpoint_id, &filter.status) {
            (Some(e), _) => (
                Query::new(Index::Primary, keys::endpoint_partition(tenant_id, e)),
                ATTEMPT_PREFIX,
            ),
            (None, Some(s)) => (Query::new(Index::Gsi2, format!("{index}#{s}")), ""),
            (None, None) => (Query::new(Index::Gsi1, index), ""),
        };
        let from = filter
            .from
            .map(|t| id_bound(t, false))
            .unwrap_or_else(|| "del_0".into());
        let to = filter
            .to
            .map(|t| id_bound(t, true))
            .unwrap_or_else(|| "del_~".into());
        let query = query
            .between(format!("{sort_prefix}{from}"), format!("{sort_prefix}{to}"))
            .newest_first();
        // Filters on other attributes are applied to each page; a page may come back short
        // with a cursor, as with any filtered DynamoDB listing.
        let page = self.table.query(query.page(limit, cursor)).await?;
        let logs = page
            .items
            .into_iter()
            .map(from_item::<AttemptLog>)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|l| filter.status.as_deref().is_none_or(|s| l.status == s))
            .filter(|l| {
                filter
                    .event_type
                    .as_deref()
                    .is_none_or(|t| l.event_type == t)
            })
            .collect();
        Ok((logs, page.next_cursor))
    }
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
