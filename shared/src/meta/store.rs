//! Stored Meta events: one item per natural id (the conditional write that stores an event
//! is its deduplication), indexed by id, by type and by processing status.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::normalize::{self, DataContext};
use super::split::{Channel, ContactSeen, MetaItem, StatusReport};
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{self, new_id, IdKind};
use crate::store::{from_item, keys, to_item, Index, Item, Query, StoreError, Table};

/// Raw items are kept up to this size; a larger one is cut (and flagged) so that the event
/// still fits one DynamoDB item.
const MAX_STORED_RAW_BYTES: usize = 96 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ProcessingStatus {
    /// Stored and on the queue (or about to be): not processed yet.
    Received,
    Processed,
    Failed,
}

impl ProcessingStatus {
    pub const ALL: [Self; 3] = [Self::Received, Self::Processed, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Processed => "processed",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProcessingError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetaEvent {
    pub id: String,
    pub tenant_id: String,
    pub natural_id: String,
    pub event_type: String,
    pub channel: Channel,
    pub object: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurred_at: Option<String>,
    pub received_at: String,
    pub status: ProcessingStatus,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ProcessingError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hookhub_event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<u32>,
    /// The WhatsApp business number the item came to (`metadata` beside it in the body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_number: Option<String>,
    /// The normalised document, stored only when it cannot be rebuilt from `raw` (the raw
    /// item was cut, or erased): otherwise [`MetaEvent::data`] builds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    pub raw: String,
    #[serde(default)]
    pub raw_truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactSeen<'static>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_report: Option<StatusReport>,
}

impl MetaEvent {
    pub fn new(tenant_id: &str, item: &MetaItem<'_>, received_at: &str) -> Self {
        let id = new_id(IdKind::MetaEvent);
        let raw_truncated = item.raw.len() > MAX_STORED_RAW_BYTES;
        let raw = if raw_truncated {
            let mut end = MAX_STORED_RAW_BYTES;
            while !item.raw.is_char_boundary(end) {
                end -= 1;
            }
            item.raw[..end].to_string()
        } else {
            item.raw.to_string()
        };
        Self {
            id,
            tenant_id: tenant_id.into(),
            natural_id: item.natural_id.to_string(),
            event_type: item.event_type.into(),
            channel: item.channel,
            object: item.object.to_string(),
            field: item.field.as_deref().map(str::to_string),
            account_id: item.account_id.as_deref().map(str::to_string),
            occurred_at: item
                .occurred_at
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(crate::time::rfc3339),
            received_at: received_at.into(),
            status: ProcessingStatus::Received,
            attempts: 0,
            processed_at: None,
            latency_ms: None,
            error: None,
            hookhub_event_id: None,
            deliveries: None,
            phone_number_id: item.business.phone_number_id.as_deref().map(str::to_string),
            business_number: item.business.display_number.as_deref().map(str::to_string),
            data: raw_truncated.then(|| item.data()),
            raw,
            raw_truncated,
            contact: item.contact.clone().map(ContactSeen::into_owned),
            status_report: item.status_report.as_deref().cloned(),
        }
    }

    /// The normalised document subscribers receive, with this event's id.
    pub fn data(&self) -> Value {
        let mut data = self.data.clone().unwrap_or_else(|| {
            normalize::data(
                &DataContext {
                    channel: self.channel,
                    event_type: &self.event_type,
                    object: &self.object,
                    field: self.field.as_deref(),
                    account_id: self.account_id.as_deref(),
                    occurred_at: self.occurred_at.as_deref(),
                    phone_number_id: self.phone_number_id.as_deref(),
                    business_number: self.business_number.as_deref(),
                    contact_name: self.contact.as_ref().and_then(|c| c.name.as_deref()),
                },
                &self.raw,
            )
        });
        if let Value::Object(map) = &mut data {
            map.insert("metaEventId".into(), json!(self.id));
        }
        data
    }

    /// The hookhub event made from this Meta event has the same ULID, so processing it
    /// twice finds the first one.
    pub fn hookhub_event_id(&self) -> String {
        let body = self.id.split_once('_').map_or("", |(_, b)| b);
        format!("{}_{body}", IdKind::Event.prefix())
    }

    /// From or to this person on this channel.
    pub fn concerns(&self, channel: Channel, external_id: &str) -> bool {
        if self.channel != channel {
            return false;
        }
        if self
            .contact
            .as_ref()
            .is_some_and(|c| c.external_id == external_id)
        {
            return true;
        }
        let data = self.data();
        let message = &data["message"];
        message["from"].as_str() == Some(external_id)
            || message["to"].as_str() == Some(external_id)
            || data["comment"]["from"]["id"].as_str() == Some(external_id)
    }

    /// The API view: the raw item as JSON when it is whole, as text when it was cut.
    pub fn view(&self) -> MetaEventView {
        let raw = if self.raw_truncated {
            None
        } else {
            serde_json::from_str::<Value>(&self.raw).ok()
        };
        MetaEventView {
            id: self.id.clone(),
            natural_id: self.natural_id.clone(),
            event_type: self.event_type.clone(),
            channel: self.channel,
            object: self.object.clone(),
            field: self.field.clone(),
            account_id: self.account_id.clone(),
            occurred_at: self.occurred_at.clone(),
            received_at: self.received_at.clone(),
            status: self.status,
            attempts: self.attempts,
            processed_at: self.processed_at.clone(),
            latency_ms: self.latency_ms,
            error: self.error.clone(),
            hookhub_event_id: self.hookhub_event_id.clone(),
            deliveries: self.deliveries,
            data: self.data(),
            raw: raw.unwrap_or_else(|| Value::String(self.raw.clone())),
            raw_truncated: self.raw_truncated,
            contact: self.contact.clone(),
            status_report: self.status_report.clone(),
        }
    }
}

/// A Meta item as the API shows it: as received, normalised, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MetaEvent))]
#[serde(rename_all = "camelCase")]
pub struct MetaEventView {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "mev_01JDQ7Y3ZK5V8X9W2M4N6P8R0T")
    )]
    pub id: String,
    /// Meta's id: wamid, mid, comment id, or status id + status
    pub natural_id: String,
    #[cfg_attr(feature = "openapi", schema(example = "message.received"))]
    pub event_type: String,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub channel: Channel,
    pub object: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime, nullable = false))]
    pub occurred_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub received_at: String,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub status: ProcessingStatus,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime, nullable = false))]
    pub processed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub latency_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(inline, nullable = false))]
    pub error: Option<ProcessingError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub hookhub_event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub deliveries: Option<u32>,
    /// The normalised event, as delivered to subscribers
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: Value,
    /// The item exactly as Meta sent it (text when it was cut)
    #[cfg_attr(feature = "openapi", schema(value_type = Value))]
    pub raw: Value,
    pub raw_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object, nullable = false))]
    pub contact: Option<ContactSeen<'static>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object, nullable = false))]
    pub status_report: Option<StatusReport>,
}

#[derive(Clone)]
pub struct MetaEventStore {
    table: Table,
    retention: Duration,
}

/// How long a Meta item is kept at least, whatever the log retention: the stored item is what
/// recognises Meta's retry of it, and Meta retries an unacknowledged webhook for up to seven
/// days. A shorter life would store a late retry again, as a new event with a new id.
pub const MIN_META_RETENTION: Duration = Duration::from_secs(8 * 24 * 3600);

impl MetaEventStore {
    pub fn new(table: Table, retention: Duration) -> Self {
        Self {
            table,
            retention: retention.max(MIN_META_RETENTION),
        }
    }

    fn item(&self, event: &MetaEvent) -> ServiceResult<Item> {
        let mut item = to_item(
            &keys::meta_event(&event.tenant_id, &event.natural_id),
            event,
        )?;
        let t = &event.tenant_id;
        let id = AttributeValue::S(event.id.clone());
        for (attr, value) in [
            (keys::GSI1_PK, keys::meta_events_by_id(t)),
            (
                keys::GSI2_PK,
                keys::meta_events_by_type(t, &event.event_type),
            ),
            (
                keys::GSI3_PK,
                keys::meta_events_by_status(t, event.status.as_str()),
            ),
        ] {
            item.insert(attr.into(), AttributeValue::S(value));
        }
        for attr in [keys::GSI1_SK, keys::GSI2_SK, keys::GSI3_SK] {
            item.insert(attr.into(), id.clone());
        }
        // Indexed by the person it is from, for their history (exports).
        if let Some(contact) = &event.contact {
            item.insert(
                keys::GSI4_PK.into(),
                AttributeValue::S(keys::meta_events_by_contact(
                    t,
                    contact.channel.as_str(),
                    &contact.external_id,
                )),
            );
            item.insert(keys::GSI4_SK.into(), id.clone());
        }
        item.insert(
            keys::TTL.into(),
            AttributeValue::N(crate::time::ttl_after(self.retention).to_string()),
        );
        Ok(item)
    }

    /// Stores the event unless its natural id is taken; then answers with the event that
    /// holds it.
    pub async fn put_new(&self, event: &MetaEvent) -> ServiceResult<Option<MetaEvent>> {
        match self.table.put_new_or_existing(self.item(event)?).await? {
            None => Ok(None),
            Some(existing) => Ok(Some(from_item(existing)?)),
        }
    }

    /// Claims the processing of a stored event for `lease`: `false` while another job's
    /// claim runs (two jobs for one event, after Meta sent it twice at once).
    pub async fn claim_processing(
        &self,
        tenant_id: &str,
        natural_id: &str,
        lease: Duration,
    ) -> ServiceResult<bool> {
        let now = chrono::Utc::now().timestamp_millis();
        Ok(self
            .table
            .take_lease(
                &keys::meta_processing_lease(tenant_id, natural_id),
                now,
                now + lease.as_millis() as i64,
            )
            .await?)
    }

    /// Gives the claim up, so the event's next attempt can take it at once.
    pub async fn release_processing(&self, tenant_id: &str, natural_id: &str) -> ServiceResult<()> {
        Ok(self
            .table
            .delete(&keys::meta_processing_lease(tenant_id, natural_id))
            .await?)
    }

    pub async fn get_by_natural_id(
        &self,
        tenant_id: &str,
        natural_id: &str,
    ) -> ServiceResult<Option<MetaEvent>> {
        Ok(self
            .table
            .get_record(&keys::meta_event(tenant_id, natural_id))
            .await?)
    }

    /// A person's Meta events, newest first, at most `limit` (from the events indexed by
    /// their sender).
    pub async fn by_contact(
        &self,
        tenant_id: &str,
        channel: &str,
        external_id: &str,
        limit: u32,
    ) -> ServiceResult<Vec<MetaEvent>> {
        let page = self
            .table
            .query(
                Query::new(
                    Index::Gsi4,
                    keys::meta_events_by_contact(tenant_id, channel, external_id),
                )
                .newest_first()
                .page(Some(limit), None),
            )
            .await?;
        let wanted: Vec<crate::store::Key> = page
            .items
            .iter()
            .map(crate::store::Key::of_item)
            .collect::<Result<_, _>>()?;
        let mut events: Vec<MetaEvent> = self
            .table
            .batch_get(&wanted)
            .await?
            .into_iter()
            .map(from_item)
            .collect::<Result<_, _>>()?;
        events.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(events)
    }

    /// Puts a failed event back to `received` with its attempts cleared, for processing
    /// again; `false` when it was not failed (processed, or already waiting).
    pub async fn reopen_failed(&self, event: &MetaEvent) -> ServiceResult<bool> {
        let received = ProcessingStatus::Received.as_str();
        let update = crate::store::Update::default()
            .set_s("status", received)
            .set_s(
                keys::GSI3_PK,
                keys::meta_events_by_status(&event.tenant_id, received),
            )
            .set("attempts", AttributeValue::N("0".into()))
            .set_s("reprocessedAt", crate::time::now_rfc3339())
            .remove("processedAt")
            .remove("error")
            .when("#status = :failed")
            .name("#status", "status")
            .value(
                ":failed",
                AttributeValue::S(ProcessingStatus::Failed.as_str().into()),
            );
        Ok(matches!(
            self.table
                .update(
                    &keys::meta_event(&event.tenant_id, &event.natural_id),
                    update
                )
                .await?,
            crate::store::Updated::Done(_)
        ))
    }

    pub async fn get(&self, tenant_id: &str, id: &str) -> ServiceResult<MetaEvent> {
        if !ids::is_valid(IdKind::MetaEvent, id) {
            return Err(ServiceError::NotFound("Meta event"));
        }
        self.table
            .query_one(Index::Gsi1, keys::meta_events_by_id(tenant_id), id)
            .await?
            .ok_or(ServiceError::NotFound("Meta event"))
    }

    /// Newest first; by status (its own index) or by type (its own index), or both (the
    /// status index, filtered by type).
    pub async fn list(
        &self,
        tenant_id: &str,
        event_type: Option<&str>,
        status: Option<ProcessingStatus>,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<MetaEvent>, Option<String>)> {
        let query = match (status, event_type) {
            (Some(s), t) => {
                let q = Query::new(
                    Index::Gsi3,
                    keys::meta_events_by_status(tenant_id, s.as_str()),
                );
                match t {
                    Some(t) => q.filter_eq("eventType", t),
                    None => q,
                }
            }
            (None, Some(t)) => Query::new(Index::Gsi2, keys::meta_events_by_type(tenant_id, t)),
            (None, None) => Query::new(Index::Gsi1, keys::meta_events_by_id(tenant_id)),
        };
        Ok(self
            .table
            .query_records(query.newest_first().page(limit, cursor))
            .await?)
    }

    /// Events still `received` that were stored before `before`: the sweep's work.
    pub async fn unprocessed_before(
        &self,
        tenant_id: &str,
        before: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> ServiceResult<Vec<MetaEvent>> {
        let query = Query::new(
            Index::Gsi3,
            keys::meta_events_by_status(tenant_id, ProcessingStatus::Received.as_str()),
        )
        .between(
            ids::bound_at(IdKind::MetaEvent, chrono::DateTime::UNIX_EPOCH, false),
            ids::bound_at(IdKind::MetaEvent, before, true),
        )
        .page(Some(limit), None);
        Ok(self.table.query_records(query).await?.0)
    }

    /// Erasure of one person, one page of the tenant's Meta events (by the id index) at a
    /// time: every event from or to them keeps its ids, type and status (so counts and
    /// deduplication still hold) but loses its raw item and data, which carry their
    /// messages, name and number. Answers how many were redacted and where the next page
    /// starts.
    pub async fn redact_person_page(
        &self,
        tenant_id: &str,
        channel: Channel,
        external_id: &str,
        cursor: Option<&str>,
    ) -> ServiceResult<(usize, Option<String>)> {
        let query = Query::new(Index::Gsi1, keys::meta_events_by_id(tenant_id))
            .page(Some(crate::store::MAX_PAGE_SIZE), cursor);
        let (events, next) = self.table.query_records::<MetaEvent>(query).await?;
        let mut redacted = 0;
        for event in events.iter().filter(|e| e.concerns(channel, external_id)) {
            let erased =
                AttributeValue::M([("erased".to_string(), AttributeValue::Bool(true))].into());
            let attributes = [
                ("raw", Some(AttributeValue::S(String::new()))),
                ("data", Some(erased)),
                ("rawTruncated", Some(AttributeValue::Bool(false))),
                ("contact", None),
                // The index key names the person.
                (keys::GSI4_PK, None),
                (keys::GSI4_SK, None),
            ];
            let key = keys::meta_event(tenant_id, &event.natural_id);
            if self.table.update_existing(&key, &attributes).await? {
                redacted += 1;
            }
        }
        Ok((redacted, next))
    }

    /// The latest event received, for health.
    pub async fn latest(&self, tenant_id: &str) -> ServiceResult<Option<MetaEvent>> {
        let (mut events, _) = self.list(tenant_id, None, None, Some(1), None).await?;
        Ok(events.pop())
    }

    /// Records the outcome of processing: status (and its index key), attempts, and what
    /// processing produced or why it failed.
    pub async fn record_outcome(&self, event: &MetaEvent) -> ServiceResult<()> {
        let number = |n: String| Some(AttributeValue::N(n));
        let error = event
            .error
            .as_ref()
            .map(serde_dynamo::to_attribute_value)
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let attributes = [
            (
                "status",
                Some(AttributeValue::S(event.status.as_str().into())),
            ),
            (
                keys::GSI3_PK,
                Some(AttributeValue::S(keys::meta_events_by_status(
                    &event.tenant_id,
                    event.status.as_str(),
                ))),
            ),
            ("attempts", number(event.attempts.to_string())),
            (
                "processedAt",
                event.processed_at.clone().map(AttributeValue::S),
            ),
            (
                "latencyMs",
                event.latency_ms.and_then(|v| number(v.to_string())),
            ),
            (
                "hookhubEventId",
                event.hookhub_event_id.clone().map(AttributeValue::S),
            ),
            (
                "deliveries",
                event.deliveries.and_then(|v| number(v.to_string())),
            ),
            ("error", error),
        ];
        let key = keys::meta_event(&event.tenant_id, &event.natural_id);
        if self.table.update_existing(&key, &attributes).await? {
            Ok(())
        } else {
            Err(ServiceError::NotFound("Meta event"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_outlive_metas_retries_whatever_the_log_retention() {
        let table = Table::new(
            aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::Config::builder()
                    .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                    .build(),
            ),
            "unused",
        );
        let day = Duration::from_secs(24 * 3600);
        assert_eq!(
            MetaEventStore::new(table.clone(), day).retention,
            MIN_META_RETENTION
        );
        assert_eq!(
            MetaEventStore::new(table, 90 * day).retention,
            90 * day,
            "a longer retention is kept"
        );
    }
}
