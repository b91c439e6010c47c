//! Publishing: an event is stored, then one delivery job per matching active endpoint is
//! enqueued, in SQS batches of at most ten messages and 256 KiB. An `Idempotency-Key` makes a repeat return the first
//! result without new deliveries, or finish the first request's work if it failed part-way. Events made inside hookhub (Meta ingress, message status,
//! endpoint.disabled) take the same path.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::validation::Fields;

use super::catalog;
use super::delivery::DeliveryJob;
use super::endpoint::{EndpointKind, EndpointService};
use super::logs::{AttemptLog, DeliveryLog};
use super::subscriptions::{Lookup, SubscriptionIndex};
use super::DELIVER_JOB;
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{self, new_id, IdKind};
use crate::jobs::{Job, JobQueue};
use crate::quotas::{MinuteCount, PublishRate, Quota, QuotaOverrides, Quotas};
use crate::store::{from_item, keys, to_item, Index, Query, StoreError, Table, Update, Updated};

/// Largest `data` an event may carry: a stored event stays well inside DynamoDB's 400 KB
/// item. Delivery jobs carry data up to `delivery::MAX_INLINE_DATA_BYTES` and name a larger
/// event instead, so every job fits an SQS message.
pub const MAX_EVENT_DATA_BYTES: usize = 200 * 1024;
const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// An erased event's data.
pub const ERASED_DATA: &str = r#"{"erased":true}"#;
/// When an event's data was erased.
const ERASED_AT: &str = "erasedAt";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    pub id: String,
    pub tenant_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub data: Value,
    pub source: String,
    pub created_at: String,
}

/// How an event is stored: its data as the JSON text it was published with, so that what is
/// read back, shown as an attempt's request body, and delivered again is byte for byte what
/// receivers were sent (a DynamoDB map would turn `1.0` into `1`). Events stored before this
/// kept `data` as a map, and still read.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventRecord {
    id: String,
    tenant_id: String,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data_json: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<Value>,
    source: String,
    created_at: String,
}

impl From<&StoredEvent> for EventRecord {
    fn from(event: &StoredEvent) -> Self {
        Self {
            id: event.id.clone(),
            tenant_id: event.tenant_id.clone(),
            event_type: event.event_type.clone(),
            data_json: Some(event.data.to_string()),
            data: None,
            source: event.source.clone(),
            created_at: event.created_at.clone(),
        }
    }
}

impl TryFrom<EventRecord> for StoredEvent {
    type Error = StoreError;

    fn try_from(record: EventRecord) -> Result<Self, StoreError> {
        let data = match (record.data_json, record.data) {
            (Some(text), _) => serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("event {}: {e}", record.id)))?,
            (None, Some(data)) => data,
            (None, None) => Value::Null,
        };
        Ok(Self {
            id: record.id,
            tenant_id: record.tenant_id,
            event_type: record.event_type,
            data,
            source: record.source,
            created_at: record.created_at,
        })
    }
}

/// Which events a listing returns.
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    /// One type (`message.received`), every type under a prefix (`message.*`), or all (`*`).
    pub event_type: Option<String>,
    /// Where events came from, as their payloads say: `api`, `meta` or `hookhub`.
    pub source: Option<String>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

/// Where a publish goes.
struct Targets {
    ids: Vec<String>,
    /// The tenant is suspended: nothing is enqueued.
    suspended: bool,
}

/// Why a delivery was logged without being sent.
pub const TENANT_SUSPENDED: &str = "not sent: the tenant is suspended";

enum Repeat {
    Finished(Published),
    Resume(String),
}

fn lock_deadline() -> i64 {
    chrono::Utc::now().timestamp_millis() + IDEMPOTENCY_LOCK.as_millis() as i64
}

/// An event's `data` as a request gives it: a JSON object, or absent (null).
pub fn read_data(input: &mut Fields) -> Option<Value> {
    let data = input.raw("data");
    if !matches!(data, None | Some(Value::Object(_))) {
        input.error("data", "must be an object");
    }
    data
}

/// `POST /api/v1/events`, validated.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Publish))]
#[cfg_attr(feature = "openapi", serde(deny_unknown_fields))]
pub struct PublishRequest {
    /// a type of the catalog that tenants may publish
    #[cfg_attr(feature = "openapi", serde(rename = "type"))]
    #[cfg_attr(feature = "openapi", schema(schema_with = super::catalog::openapi::publishable_type))]
    pub event_type: String,
    /// null or absent: {}
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub data: Value,
}

impl PublishRequest {
    pub fn read(mut input: Fields) -> Result<Self, crate::validation::InputError> {
        let event_type = input
            .required_string("type", 100)
            .map(|t| super::catalog::canonical(&t).to_string());
        if let Some(t) = event_type.as_deref() {
            if super::catalog::is_known(t) && !super::catalog::is_publishable(t) {
                input.error(
                    "type",
                    "is emitted by hookhub itself and cannot be published",
                );
            }
        }
        let data = read_data(&mut input);
        input.finish()?;
        Ok(Self {
            event_type: event_type.expect("validated"),
            data: data.unwrap_or_else(|| serde_json::json!({})),
        })
    }
}

/// A publish, accepted: the event and how many deliveries it was queued for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Published {
    #[serde(rename = "id")]
    pub event_id: String,
    pub deliveries: u32,
    /// A repeat of an earlier publish with the same Idempotency-Key.
    pub duplicate: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdempotencyRecord {
    event_id: String,
    /// Set once the event is stored and fanned out; until then the record is pending (the
    /// attribute is absent, which the take-over condition relies on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deliveries: Option<u32>,
    /// SHA-256 of the type and data, so the key cannot be reused for another event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
    /// Epoch milliseconds until which the request that holds the key is working on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    locked_until: Option<i64>,
}

/// How long a publish holds its Idempotency-Key before a retry may finish it instead: longer
/// than any API request runs.
const IDEMPOTENCY_LOCK: Duration = Duration::from_secs(30);

fn fingerprint(event_type: &str, data: &Value) -> String {
    let data = data.to_string();
    hex::encode(crate::digest::sha256(&[
        event_type.as_bytes(),
        b"\0",
        data.as_bytes(),
    ]))
}

/// Whether a publish must also find the tenant (a caller that names it, such as a platform
/// admin's X-Tenant-Id) or may trust it (API keys vanish with their tenant; hookhub's own
/// events come from stored records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantCheck {
    Verify,
    Trusted,
}

#[derive(Clone)]
pub struct EventService {
    table: Table,
    queue: std::sync::Arc<dyn JobQueue>,
    endpoints: EndpointService,
    subscriptions: SubscriptionIndex,
    retention: Duration,
    quota_defaults: Quotas,
    publish_rate: PublishRate,
}

/// Whether a publish counts against the tenant's quotas: what callers publish does
/// (`source: api`); what hookhub makes from Meta's webhooks and its own state does not, as
/// refusing it would lose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    Metered { data_bytes: usize },
    Unmetered,
}

impl Admission {
    fn of(source: &str, data_bytes: usize) -> Self {
        match source {
            "api" => Admission::Metered { data_bytes },
            _ => Admission::Unmetered,
        }
    }
}

impl EventService {
    pub fn new(
        table: Table,
        queue: std::sync::Arc<dyn JobQueue>,
        endpoints: EndpointService,
        retention: Duration,
    ) -> Self {
        Self {
            subscriptions: SubscriptionIndex::new(table.clone()),
            publish_rate: PublishRate::new(table.clone()),
            table,
            queue,
            endpoints,
            retention,
            quota_defaults: Quotas::default(),
        }
    }

    /// The same service with the deployment's default quotas.
    pub fn with_quota_defaults(self, quota_defaults: Quotas) -> Self {
        Self {
            quota_defaults,
            ..self
        }
    }

    /// Checks a publish of `data_bytes` that is not fanned out through the subscription
    /// index (a workflow call) against the tenant's event size and publish rate quotas.
    pub async fn admit(&self, tenant_id: &str, data_bytes: usize) -> ServiceResult<()> {
        let (lookup, minute) = tokio::join!(
            self.subscriptions.lookup(tenant_id, "", false),
            self.publish_rate.count_one(tenant_id)
        );
        let (_, overrides) = lookup?;
        self.check_quotas(&overrides, data_bytes, minute?)
    }

    fn check_quotas(
        &self,
        overrides: &QuotaOverrides,
        data_bytes: usize,
        minute: MinuteCount,
    ) -> ServiceResult<()> {
        let quotas = self.quota_defaults.with(overrides);
        if data_bytes > quotas.max_event_bytes as usize {
            return Err(crate::quotas::exceeded(
                Quota::MaxEventBytes,
                quotas.max_event_bytes,
                format!(
                    "the event's data is {data_bytes} bytes of JSON; this tenant's events may carry at most {} (quota maxEventBytes)",
                    quotas.max_event_bytes
                ),
            ));
        }
        minute.check(quotas.publish_per_minute)
    }

    /// Checks the type and hookhub's own size limit; returns the data's size in bytes of
    /// JSON.
    pub fn validate(event_type: &str, data: &Value) -> ServiceResult<usize> {
        if !catalog::is_known(event_type) {
            return Err(ServiceError::invalid(
                "type",
                format!("unknown event type {event_type:?}; see GET /api/v1/webhooks/events"),
            ));
        }
        let bytes = serde_json::to_vec(data).map_or(0, |v| v.len());
        if bytes > MAX_EVENT_DATA_BYTES {
            return Err(ServiceError::invalid(
                "data",
                format!("must be at most {MAX_EVENT_DATA_BYTES} bytes of JSON"),
            ));
        }
        Ok(bytes)
    }

    /// Publishes for a tenant the caller already knows to exist.
    pub async fn publish(
        &self,
        tenant_id: &str,
        event_type: &str,
        data: Value,
        idempotency_key: Option<&str>,
        source: &str,
    ) -> ServiceResult<Published> {
        self.publish_checked(
            tenant_id,
            event_type,
            data,
            idempotency_key,
            source,
            TenantCheck::Trusted,
        )
        .await
    }

    /// Publishes; with `TenantCheck::Verify` an unknown tenant is `NotFound`, found in the
    /// same read as the tenant's subscriptions when there is no Idempotency-Key (with one,
    /// before the key is recorded, so no record is left under an unknown tenant).
    pub async fn publish_checked(
        &self,
        tenant_id: &str,
        event_type: &str,
        data: Value,
        idempotency_key: Option<&str>,
        source: &str,
        check: TenantCheck,
    ) -> ServiceResult<Published> {
        let admission = Admission::of(source, Self::validate(event_type, &data)?);
        let event_id = new_id(IdKind::Event);
        if let Some(key) = idempotency_key {
            if check == TenantCheck::Verify {
                crate::tenants::TenantService::new(self.table.clone())
                    .get(tenant_id)
                    .await?;
            }
            let record_key = keys::idempotency(tenant_id, "events", key);
            let print = fingerprint(event_type, &data);
            let mut item = to_item(
                &record_key,
                &IdempotencyRecord {
                    event_id: event_id.clone(),
                    deliveries: None,
                    fingerprint: Some(print.clone()),
                    locked_until: Some(lock_deadline()),
                },
            )?;
            item.insert(
                keys::TTL.into(),
                AttributeValue::N(crate::time::ttl_after(IDEMPOTENCY_WINDOW).to_string()),
            );
            let event_id = match self.table.put_new(item).await {
                Ok(()) => event_id,
                Err(crate::store::StoreError::Conflict(_)) => {
                    match self.repeat(&record_key, &print).await? {
                        Repeat::Finished(published) => return Ok(published),
                        // The first request failed part-way (the database or queue was down):
                        // this one finishes its work under the first event id.
                        Repeat::Resume(first_id) => first_id,
                    }
                }
                Err(e) => return Err(e.into()),
            };
            let published = match self
                .store_and_fan_out(
                    tenant_id,
                    &event_id,
                    event_type,
                    data,
                    source,
                    TenantCheck::Trusted,
                    admission,
                )
                .await
            {
                Ok(published) => published,
                Err(e) => {
                    // Let a retry take over at once; if even this fails, the lock runs out.
                    let release =
                        Update::default().set("lockedUntil", AttributeValue::N("0".into()));
                    let _ = self.table.update(&record_key, release).await;
                    return Err(e);
                }
            };
            let mut done = to_item(
                &record_key,
                &IdempotencyRecord {
                    event_id: event_id.clone(),
                    deliveries: Some(published.deliveries),
                    fingerprint: Some(print),
                    locked_until: None,
                },
            )?;
            done.insert(
                keys::TTL.into(),
                AttributeValue::N(crate::time::ttl_after(IDEMPOTENCY_WINDOW).to_string()),
            );
            self.table.put(done).await?;
            return Ok(published);
        }
        self.store_and_fan_out(
            tenant_id, &event_id, event_type, data, source, check, admission,
        )
        .await
    }

    /// A publish whose Idempotency-Key is already taken: the first result, or the first
    /// event id to finish when the first request gave up part-way.
    async fn repeat(&self, record_key: &crate::store::Key, print: &str) -> ServiceResult<Repeat> {
        let vanished = || ServiceError::Conflict("idempotency record vanished; retry".into());
        let first: IdempotencyRecord =
            from_item(self.table.get(record_key).await?.ok_or_else(vanished)?)?;
        if first.fingerprint.as_deref().is_some_and(|f| f != print) {
            return Err(ServiceError::Conflict(
                "this Idempotency-Key was already used to publish a different event".into(),
            ));
        }
        if let Some(deliveries) = first.deliveries {
            return Ok(Repeat::Finished(Published {
                event_id: first.event_id,
                deliveries,
                duplicate: true,
            }));
        }
        let now = chrono::Utc::now().timestamp_millis();
        let take_over = Update::default()
            .set("lockedUntil", AttributeValue::N(lock_deadline().to_string()))
            .when("attribute_not_exists(#deliveries) AND (attribute_not_exists(#lock) OR #lock < :now)")
            .name("#deliveries", "deliveries")
            .name("#lock", "lockedUntil")
            .value(":now", AttributeValue::N(now.to_string()));
        match self.table.update(record_key, take_over).await? {
            Updated::Done(_) => Ok(Repeat::Resume(first.event_id)),
            Updated::ConditionFailed(Some(item)) => {
                let current: IdempotencyRecord = from_item(item)?;
                match current.deliveries {
                    Some(deliveries) => Ok(Repeat::Finished(Published {
                        event_id: current.event_id,
                        deliveries,
                        duplicate: true,
                    })),
                    None => Err(ServiceError::Conflict(
                        "a request with this Idempotency-Key is still in progress; retry in a few seconds"
                            .into(),
                    )),
                }
            }
            Updated::ConditionFailed(None) => Err(vanished()),
        }
    }

    /// Publishes an event that hookhub made from something else (a Meta event, say) under
    /// an id derived from it. Run again after a failure, it finds the stored event and
    /// finishes the fan-out instead of making a second event; receivers deduplicate the
    /// repeated deliveries on `webhook-id`.
    pub async fn publish_derived(
        &self,
        tenant_id: &str,
        event_id: &str,
        event_type: &str,
        data: Value,
        source: &str,
    ) -> ServiceResult<Published> {
        Self::validate(event_type, &data)?;
        self.store_and_fan_out(
            tenant_id,
            event_id,
            event_type,
            data,
            source,
            TenantCheck::Trusted,
            Admission::Unmetered,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn store_and_fan_out(
        &self,
        tenant_id: &str,
        event_id: &str,
        event_type: &str,
        data: Value,
        source: &str,
        check: TenantCheck,
        admission: Admission,
    ) -> ServiceResult<Published> {
        if check == TenantCheck::Verify && !ids::is_valid(IdKind::Tenant, tenant_id) {
            return Err(ServiceError::NotFound("tenant"));
        }
        let event = StoredEvent {
            id: event_id.into(),
            tenant_id: tenant_id.into(),
            event_type: event_type.into(),
            data,
            source: source.into(),
            created_at: crate::time::now_rfc3339(),
        };
        // Neither needs the other, so both go at once: one database round trip less between
        // a publish and its deliveries. Jobs are still enqueued only once the event is stored.
        let (targets, stored) = tokio::join!(
            self.targets(tenant_id, event_type, check, admission),
            self.store(&event)
        );
        let created = match stored {
            Ok(()) => Ok(true),
            // Only a retry that finishes an earlier fan-out finds its event already stored.
            Err(ServiceError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        };
        let targets = match targets {
            Ok(targets) => targets,
            Err(e) => {
                // An unknown tenant, or a lookup that failed: take back the event this call
                // stored, so a refused publish leaves nothing behind (its TTL is the backstop).
                if matches!(created, Ok(true)) {
                    let _ = self.table.delete(&Self::key(tenant_id, event_id)).await;
                }
                return Err(e);
            }
        };
        created?;
        let deliveries = DeliveryJob::fan_out(&event, &targets.ids);
        if targets.suspended {
            // hookhub's own event for a suspended tenant (a Meta event processed late, say):
            // kept, and each delivery logged as not sent, for `recover` once reactivated.
            self.log_not_sent(tenant_id, &deliveries).await?;
            return Ok(Published {
                event_id: event.id,
                deliveries: 0,
                duplicate: false,
            });
        }
        let jobs: Vec<Job> = deliveries
            .into_iter()
            .map(|job| job.into_job(tenant_id))
            .collect();
        self.enqueue_all(&jobs).await?;
        Ok(Published {
            event_id: event.id,
            deliveries: jobs.len() as u32,
            duplicate: false,
        })
    }

    async fn log_not_sent(&self, tenant_id: &str, deliveries: &[DeliveryJob]) -> ServiceResult<()> {
        let wanted: Vec<(String, String)> = deliveries
            .iter()
            .map(|d| (tenant_id.to_string(), d.endpoint_id.clone()))
            .collect();
        let (endpoints, _) = self.endpoints.get_many(&wanted).await?;
        let logs: Vec<AttemptLog> = deliveries
            .iter()
            .zip(&wanted)
            .filter_map(|(job, key)| {
                let endpoint = endpoints.get(key)?;
                Some(super::delivery::not_sent(
                    endpoint,
                    job,
                    1,
                    TENANT_SUSPENDED,
                ))
            })
            .collect();
        DeliveryLog::new(self.table.clone(), self.retention)
            .put_all(&logs.iter().collect::<Vec<_>>())
            .await
    }

    /// The ids of the active endpoints and workflows subscribed to `event_type`. A caller
    /// that names a suspended tenant is refused; hookhub's own publishes learn it.
    async fn targets(
        &self,
        tenant_id: &str,
        event_type: &str,
        check: TenantCheck,
        admission: Admission,
    ) -> ServiceResult<Targets> {
        let count = || async {
            match admission {
                Admission::Metered { .. } => Some(self.publish_rate.count_one(tenant_id).await),
                Admission::Unmetered => None,
            }
        };
        let lookup = self
            .subscriptions
            .lookup(tenant_id, event_type, check == TenantCheck::Verify);
        let ((lookup, overrides), counted) = match check {
            // A tenant known to exist: the publish is counted while the index is read, so
            // no round trip is added.
            TenantCheck::Trusted => {
                let (lookup, counted) = tokio::join!(lookup, count());
                (lookup?, counted)
            }
            // Counted once the tenant is found, so an unknown one leaves nothing behind.
            TenantCheck::Verify => {
                let lookup = lookup.await?;
                (lookup, count().await)
            }
        };
        if let (Admission::Metered { data_bytes }, Some(minute)) = (admission, counted) {
            self.check_quotas(&overrides, data_bytes, minute?)?;
        }
        Ok(match lookup {
            Lookup::Indexed(ids) => Targets {
                ids,
                suspended: false,
            },
            Lookup::Suspended(_) if check == TenantCheck::Verify => {
                return Err(ServiceError::TenantSuspended)
            }
            Lookup::Suspended(ids) => Targets {
                ids,
                suspended: true,
            },
            Lookup::NotIndexed => Targets {
                ids: self.query_targets(tenant_id, event_type).await?,
                suspended: false,
            },
        })
    }

    fn key(tenant_id: &str, event_id: &str) -> crate::store::Key {
        crate::store::Key {
            pk: keys::events_partition(tenant_id),
            sk: event_id.into(),
        }
    }

    /// The targets of a tenant without a subscription index, from the endpoint items.
    async fn query_targets(&self, tenant_id: &str, event_type: &str) -> ServiceResult<Vec<String>> {
        let workflows = self.endpoints.with_kind(EndpointKind::Workflow);
        let (endpoints, workflows) =
            tokio::join!(self.endpoints.all(tenant_id), workflows.all(tenant_id));
        Ok(endpoints?
            .into_iter()
            .chain(workflows?)
            .filter(|e| e.is_active && e.subscribes_to(event_type))
            .map(|e| e.id)
            .collect())
    }

    /// Stores an event without fanning it out (a test delivery's event, say), so that its
    /// deliveries can be retried later like any other.
    pub async fn store_only(
        &self,
        tenant_id: &str,
        event_type: &str,
        data: Value,
        source: &str,
    ) -> ServiceResult<StoredEvent> {
        Self::validate(event_type, &data)?;
        let event = StoredEvent {
            id: new_id(IdKind::Event),
            tenant_id: tenant_id.into(),
            event_type: event_type.into(),
            data,
            source: source.into(),
            created_at: crate::time::now_rfc3339(),
        };
        self.store(&event).await?;
        Ok(event)
    }

    async fn store(&self, event: &StoredEvent) -> ServiceResult<()> {
        let mut item = to_item(
            &Self::key(&event.tenant_id, &event.id),
            &EventRecord::from(event),
        )?;
        item.insert(
            keys::GSI1_PK.into(),
            AttributeValue::S(format!(
                "T#{}#EVENTTYPE#{}",
                event.tenant_id, event.event_type
            )),
        );
        item.insert(keys::GSI1_SK.into(), AttributeValue::S(event.id.clone()));
        item.insert(
            keys::TTL.into(),
            AttributeValue::N(crate::time::ttl_after(self.retention).to_string()),
        );
        self.table.put_new(item).await?;
        Ok(())
    }

    /// Batches of ten, several batches in flight at once.
    pub async fn enqueue_all(&self, jobs: &[Job]) -> ServiceResult<()> {
        Ok(crate::jobs::enqueue_concurrently(self.queue.as_ref(), jobs).await?)
    }

    /// Erasure of one person, one page of the tenant's events at a time: each event whose
    /// data `mentions` them keeps its id, type and source but its data becomes
    /// `{"erased": true}`, which is what its deliveries show and what retries and recoveries
    /// send from then on. Answers the ids of the events erased and where the next page
    /// starts.
    pub async fn erase_page(
        &self,
        tenant_id: &str,
        mentions: impl Fn(&Value) -> bool,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<String>, Option<String>)> {
        let page = self
            .table
            .query(
                Query::new(Index::Primary, keys::events_partition(tenant_id))
                    .page(Some(crate::store::MAX_PAGE_SIZE), cursor),
            )
            .await?;
        let mut erased = Vec::new();
        for item in page.items {
            if item.contains_key(ERASED_AT) {
                continue;
            }
            let event: StoredEvent = from_item::<EventRecord>(item)?.try_into()?;
            if !mentions(&event.data) {
                continue;
            }
            let update = Update::default()
                .set_s("dataJson", ERASED_DATA)
                .set_s(ERASED_AT, crate::time::now_rfc3339())
                .remove("data")
                .when("attribute_not_exists(#erased)")
                .name("#erased", ERASED_AT);
            if let Updated::Done(_) = self
                .table
                .update(&Self::key(tenant_id, &event.id), update)
                .await?
            {
                erased.push(event.id);
            }
        }
        Ok((erased, page.next_cursor))
    }

    pub async fn get(&self, tenant_id: &str, event_id: &str) -> ServiceResult<StoredEvent> {
        if !ids::is_valid(IdKind::Event, event_id) {
            return Err(ServiceError::NotFound("event"));
        }
        let item = self
            .table
            .get(&Self::key(tenant_id, event_id))
            .await?
            .ok_or(ServiceError::NotFound("event"))?;
        Ok(from_item::<EventRecord>(item)?.try_into()?)
    }

    /// Events newest first, filtered: one type is a query of its own index partition; a
    /// prefix, a source or a time range narrow the tenant's events partition. A pattern that
    /// is neither (the caller checks) matches nothing.
    pub async fn list(
        &self,
        tenant_id: &str,
        filter: &EventFilter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<StoredEvent>, Option<String>)> {
        let mut query = match filter.event_type.as_deref() {
            None | Some("*") => Query::new(Index::Primary, keys::events_partition(tenant_id)),
            Some(pattern) => match pattern.strip_suffix('*') {
                Some(prefix) if prefix.ends_with('.') => {
                    Query::new(Index::Primary, keys::events_partition(tenant_id))
                        .filter_prefix("type", prefix)
                }
                _ => Query::new(Index::Gsi1, format!("T#{tenant_id}#EVENTTYPE#{pattern}")),
            },
        };
        query = query.made_between(IdKind::Event, filter.from, filter.to);
        if let Some(origin) = &filter.source {
            query = query.filter_any("source", catalog::sources_of(origin));
        }
        let (records, next) = self
            .table
            .query_records::<EventRecord>(query.newest_first().page(limit, cursor))
            .await?;
        let events = records
            .into_iter()
            .map(StoredEvent::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((events, next))
    }

    pub fn delivery_job(job: &Job) -> Option<DeliveryJob> {
        (job.kind == DELIVER_JOB)
            .then(|| serde_json::from_value(job.payload.clone()).ok())
            .flatten()
    }
}
