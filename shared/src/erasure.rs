//! Erasing one person from a tenant, as a job: deleting a contact starts an erasure that
//! walks everything stored for the tenant that can hold the person's data and redacts it:
//! the Meta events from or to them, the hookhub events that mention them (and with them
//! every delivery's request body, which is rebuilt from the event, and the responses logged
//! for those deliveries), and the messages sent to their number. A large tenant's walk
//! takes many pages, so the job does a bounded number per run and queues its own
//! continuation; its progress is a record anyone with access to the tenant's contacts can
//! read (`GET /api/v1/contacts/erasures/{id}`).
//!
//! Matching is by value: a stored event mentions the person when one of its JSON strings is
//! their external id, phone number (with or without `+`), email or username. Names are not
//! matched (two people may share one), and neither is hookhub's own contact id, which says
//! nothing about the person once the contact is gone.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::contacts::{Contact, ContactBook};
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{self, new_id, IdKind};
use crate::jobs::{Job, JobError, JobHandler, JobQueue, Outcome};
use crate::messages::MessageLog;
use crate::meta::{Channel, MetaEventStore};
use crate::store::{keys, to_item, Index, Query, Table};
use crate::webhooks::events::EventService;
use crate::webhooks::logs::DeliveryLog;

pub const ERASE_JOB: &str = "contact.erase";

/// Pages read by one run of the job before it queues its continuation: at most a few
/// megabytes read, well inside a worker invocation's time.
const PAGES_PER_RUN: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErasureStatus {
    Queued,
    Running,
    Done,
    Failed,
}

/// What the walk is redacting now; the stages run in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub enum Stage {
    MetaEvents,
    Events,
    Messages,
    Finished,
}

/// How many items of each kind were redacted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Erased {
    pub meta_events: u64,
    pub events: u64,
    pub attempts: u64,
    pub messages: u64,
}

/// What identifies the person, kept only while the erasure runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub external_id: String,
    pub values: Vec<String>,
}

impl Person {
    fn of(contact: &Contact) -> Self {
        let mut values = vec![contact.external_id.clone()];
        if !contact.external_id.is_empty()
            && contact.external_id.bytes().all(|b| b.is_ascii_digit())
        {
            values.push(format!("+{}", contact.external_id));
        }
        for v in [&contact.phone, &contact.email, &contact.username]
            .into_iter()
            .flatten()
        {
            values.push(v.clone());
        }
        values.retain(|v| !v.trim().is_empty());
        values.sort();
        values.dedup();
        Self {
            external_id: contact.external_id.clone(),
            values,
        }
    }

    /// Whether one of `data`'s strings (or numbers) is one of the person's identifiers.
    pub fn is_mentioned_in(&self, data: &Value) -> bool {
        match data {
            Value::String(s) => self.values.iter().any(|v| v == s),
            Value::Number(n) => self.values.iter().any(|v| *v == n.to_string()),
            Value::Array(items) => items.iter().any(|v| self.is_mentioned_in(v)),
            Value::Object(map) => map.values().any(|v| self.is_mentioned_in(v)),
            Value::Bool(_) | Value::Null => false,
        }
    }

    /// The identifiers that are phone numbers, for the messages sent to them.
    fn numbers(&self) -> Vec<String> {
        self.values
            .iter()
            .filter(|v| {
                let digits = v.trim_start_matches('+');
                digits.len() >= 6 && digits.bytes().all(|b| b.is_ascii_digit())
            })
            .cloned()
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Erasure {
    pub id: String,
    pub tenant_id: String,
    pub contact_id: String,
    pub channel: String,
    pub status: ErasureStatus,
    pub stage: Stage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    pub erased: Erased,
    pub requested_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<Person>,
}

/// The erasure of one person: a job that redacts the Meta events from or to them, the
/// hookhub events whose data names their external id, phone number, email or username (with
/// the responses logged for those events' deliveries; requests are rebuilt from the redacted
/// event), and the messages sent to their number. Retries and recoveries after it send the
/// redacted data. The person's identifiers are never shown and are dropped when it is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Erasure))]
#[serde(rename_all = "camelCase")]
pub struct ErasureView {
    #[cfg_attr(feature = "openapi", schema(pattern = "^ers_[0-9A-Z]{26}$"))]
    pub id: String,
    pub contact_id: String,
    pub channel: String,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub status: ErasureStatus,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub stage: Stage,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub erased: Erased,
    pub requested_by: String,
    pub error: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub finished_at: Option<String>,
    pub status_url: String,
}

/// `DELETE /api/v1/contacts/{id}`: the contact is gone, and its erasure under way.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactErased {
    pub id: String,
    pub deleted: bool,
    pub erasure: ErasureView,
}

impl Erasure {
    /// What the API shows: never the person's identifiers, nor the walk's cursor.
    pub fn view(&self) -> ErasureView {
        ErasureView {
            id: self.id.clone(),
            contact_id: self.contact_id.clone(),
            channel: self.channel.clone(),
            status: self.status,
            stage: self.stage,
            erased: self.erased.clone(),
            requested_by: self.requested_by.clone(),
            error: self.error.clone(),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            finished_at: self.finished_at.clone(),
            status_url: format!("/api/v1/contacts/erasures/{}", self.id),
        }
    }
}

fn channel_of(name: &str) -> Channel {
    match name {
        "whatsapp" => Channel::Whatsapp,
        "instagram" => Channel::Instagram,
        "messenger" => Channel::Messenger,
        _ => Channel::Unknown,
    }
}

#[derive(Clone)]
pub struct ErasureService {
    table: Table,
    queue: Arc<dyn JobQueue>,
    meta: MetaEventStore,
    events: EventService,
    log: DeliveryLog,
    messages: MessageLog,
    contacts: ContactBook,
}

impl ErasureService {
    pub fn new(
        table: Table,
        queue: Arc<dyn JobQueue>,
        meta: MetaEventStore,
        events: EventService,
        log: DeliveryLog,
        messages: MessageLog,
    ) -> Self {
        Self {
            contacts: ContactBook::new(table.clone()),
            table,
            queue,
            meta,
            events,
            log,
            messages,
        }
    }

    /// Deletes a contact and starts the erasure of everything else held about them. The
    /// erasure is queued before the contact goes, so a failure leaves the contact in place
    /// to delete again.
    pub async fn erase_contact(
        &self,
        tenant_id: &str,
        contact_id: &str,
        requested_by: &str,
    ) -> ServiceResult<(Contact, Erasure)> {
        let contact = self.contacts.get(tenant_id, contact_id).await?;
        let erasure = self.start(tenant_id, &contact, requested_by).await?;
        self.contacts.delete(tenant_id, &contact).await?;
        Ok((contact, erasure))
    }

    /// Records the erasure of `contact` and queues its first run. The record is written
    /// first, so a failed enqueue leaves it `failed` for the caller to start again (the
    /// contact is still there to delete).
    async fn start(
        &self,
        tenant_id: &str,
        contact: &Contact,
        requested_by: &str,
    ) -> ServiceResult<Erasure> {
        let now = crate::time::now_rfc3339();
        let mut erasure = Erasure {
            id: new_id(IdKind::Erasure),
            tenant_id: tenant_id.into(),
            contact_id: contact.id.clone(),
            channel: contact.channel.clone(),
            status: ErasureStatus::Queued,
            stage: Stage::MetaEvents,
            cursor: None,
            erased: Erased::default(),
            requested_by: requested_by.into(),
            error: None,
            created_at: now.clone(),
            updated_at: now,
            finished_at: None,
            person: Some(Person::of(contact)),
        };
        self.table
            .put_new(to_item(&keys::erasure(tenant_id, &erasure.id), &erasure)?)
            .await?;
        if let Err(e) = self
            .queue
            .enqueue(&[erase_job(&erasure)], Duration::ZERO)
            .await
        {
            erasure.status = ErasureStatus::Failed;
            erasure.error = Some("could not be queued; delete the contact again".into());
            erasure.person = None;
            let _ = self.save(&erasure).await;
            return Err(e.into());
        }
        Ok(erasure)
    }

    pub async fn get(&self, tenant_id: &str, id: &str) -> ServiceResult<Erasure> {
        if !ids::is_valid(IdKind::Erasure, id) {
            return Err(ServiceError::NotFound("erasure"));
        }
        self.table
            .get_record(&keys::erasure(tenant_id, id))
            .await?
            .ok_or(ServiceError::NotFound("erasure"))
    }

    /// The tenant's erasures, newest first.
    pub async fn list(
        &self,
        tenant_id: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<Erasure>, Option<String>)> {
        Ok(self
            .table
            .query_records(
                Query::new(Index::Primary, keys::erasures_partition(tenant_id))
                    .newest_first()
                    .page(limit, cursor),
            )
            .await?)
    }

    async fn save(&self, erasure: &Erasure) -> ServiceResult<()> {
        self.table
            .put(to_item(
                &keys::erasure(&erasure.tenant_id, &erasure.id),
                erasure,
            )?)
            .await?;
        Ok(())
    }

    /// One run: up to [`PAGES_PER_RUN`] pages, the progress saved after each, then either
    /// the end (the identifiers dropped) or the continuation queued. Repeating a page
    /// (a redelivered job) redacts nothing twice.
    pub async fn run(&self, erasure: &mut Erasure) -> ServiceResult<bool> {
        let Some(person) = erasure.person.clone() else {
            return Ok(true);
        };
        erasure.status = ErasureStatus::Running;
        for _ in 0..PAGES_PER_RUN {
            let cursor = erasure.cursor.take();
            let next = match erasure.stage {
                Stage::MetaEvents => {
                    let (n, next) = self
                        .meta
                        .redact_person_page(
                            &erasure.tenant_id,
                            channel_of(&erasure.channel),
                            &person.external_id,
                            cursor.as_deref(),
                        )
                        .await?;
                    erasure.erased.meta_events += n as u64;
                    next
                }
                Stage::Events => {
                    let (ids, next) = self
                        .events
                        .erase_page(
                            &erasure.tenant_id,
                            |data| person.is_mentioned_in(data),
                            cursor.as_deref(),
                        )
                        .await?;
                    erasure.erased.events += ids.len() as u64;
                    for id in &ids {
                        let n = self.log.erase_responses(&erasure.tenant_id, id).await?;
                        erasure.erased.attempts += n as u64;
                    }
                    next
                }
                Stage::Messages => {
                    let (n, next) = self
                        .messages
                        .erase_page(&erasure.tenant_id, &person.numbers(), cursor.as_deref())
                        .await?;
                    erasure.erased.messages += n as u64;
                    next
                }
                Stage::Finished => None,
            };
            match next {
                Some(next) => erasure.cursor = Some(next),
                None => {
                    erasure.stage = match erasure.stage {
                        Stage::MetaEvents => Stage::Events,
                        Stage::Events => Stage::Messages,
                        Stage::Messages | Stage::Finished => Stage::Finished,
                    }
                }
            }
            erasure.updated_at = crate::time::now_rfc3339();
            if erasure.stage == Stage::Finished {
                erasure.status = ErasureStatus::Done;
                erasure.finished_at = Some(erasure.updated_at.clone());
                erasure.person = None;
                self.save(erasure).await?;
                return Ok(true);
            }
            self.save(erasure).await?;
        }
        Ok(false)
    }
}

fn erase_job(erasure: &Erasure) -> Job {
    Job::new(
        ERASE_JOB,
        erasure.tenant_id.clone(),
        json!({"erasureId": erasure.id}),
    )
}

#[async_trait]
impl JobHandler for ErasureService {
    async fn handle(&self, job: &Job) -> Result<Outcome, JobError> {
        let Some(id) = job.payload["erasureId"].as_str() else {
            return Ok(Outcome::Poison("no erasureId".into()));
        };
        let mut erasure = match self.get(&job.tenant_id, id).await {
            Ok(e) => e,
            Err(ServiceError::NotFound(_)) => {
                return Ok(Outcome::Missing(format!("erasure {id} is not stored")))
            }
            Err(e) => return Err(JobError::new(e.to_string())),
        };
        if matches!(erasure.status, ErasureStatus::Done | ErasureStatus::Failed) {
            return Ok(Outcome::Done);
        }
        let finished = self
            .run(&mut erasure)
            .await
            .map_err(|e| JobError::new(e.to_string()))?;
        if !finished {
            // Saved: if this enqueue fails, SQS hands this job back and it resumes there.
            self.queue
                .enqueue(&[erase_job(&erasure)], Duration::ZERO)
                .await
                .map_err(|e| JobError::new(e.to_string()))?;
        }
        Ok(Outcome::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(external_id: &str, phone: Option<&str>) -> Contact {
        serde_json::from_value(json!({
            "id": "con_01", "channel": "whatsapp", "externalId": external_id,
            "phone": phone, "name": "Ana",
            "tags": [], "customFields": {}, "optedIn": false, "exportConsent": false,
            "firstSeenAt": "", "lastSeenAt": "",
        }))
        .unwrap()
    }

    #[test]
    fn a_person_is_found_by_value_anywhere_in_the_data() {
        let person = Person::of(&contact("15551234567", Some("+15551234567")));
        assert_eq!(person.values, ["+15551234567", "15551234567"]);
        assert!(person.is_mentioned_in(&json!({"message": {"from": "15551234567"}})));
        assert!(person.is_mentioned_in(&json!({"to": ["+15551234567"]})));
        assert!(person.is_mentioned_in(&json!({"wa_id": 15551234567u64})));
        assert!(!person.is_mentioned_in(&json!({"text": "call 15551234567 now", "name": "Ana"})));
        assert!(!person.is_mentioned_in(&json!({"from": "115551234567"})));
        assert!(
            !person.is_mentioned_in(&json!({"contact": {"id": "con_01"}})),
            "hookhub's own id is not the person's"
        );
        assert_eq!(person.numbers(), ["+15551234567", "15551234567"]);
    }
}
