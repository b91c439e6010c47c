//! Processing a stored Meta event, as the `meta.process` job: publish it as a hookhub
//! event (fan-out to subscribed endpoints and n8n workflows through the delivery engine),
//! capture the contact, apply WhatsApp statuses to the messages hookhub sent, then record
//! the outcome. Every step is safe to repeat, so a retried job finishes what a failed one
//! started.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use super::stats::{self, MetaStats};
use super::store::{MetaEvent, MetaEventStore, ProcessingError, ProcessingStatus};
use crate::contacts::{Captured, ContactBook, Interaction};
use crate::error::ServiceError;
use crate::jobs::{Job, JobError, JobHandler, Outcome};
use crate::messages::MessageLog;
use crate::webhooks::events::EventService;
use serde_json::json;

/// Tries before an event is marked failed.
pub const MAX_PROCESSING_ATTEMPTS: u32 = 5;
/// How long a job's claim on an event lasts: longer than a worker invocation, so it cannot
/// run out under a live job, and shorter than the queue's visibility timeout, so the message
/// of a job that died finds it expired (`functions/delivery-worker/tests/it/template_limits.rs`).
pub const PROCESSING_LEASE: Duration = Duration::from_secs(120);

#[derive(Clone)]
pub struct MetaProcessor {
    store: MetaEventStore,
    events: EventService,
    contacts: ContactBook,
    messages: MessageLog,
    stats: MetaStats,
}

/// Why one processing step failed; `permanent` ones are not retried.
struct StepError {
    code: &'static str,
    message: String,
    permanent: bool,
}

impl StepError {
    fn from_service(code: &'static str, err: ServiceError) -> Self {
        let permanent = matches!(
            err,
            ServiceError::Input(_)
                | ServiceError::NotFound(_)
                | ServiceError::FailedPrecondition(_)
        );
        Self {
            code,
            message: err.to_string(),
            permanent,
        }
    }
}

impl MetaProcessor {
    pub fn new(
        store: MetaEventStore,
        events: EventService,
        contacts: ContactBook,
        messages: MessageLog,
        stats: MetaStats,
    ) -> Self {
        Self {
            store,
            events,
            contacts,
            messages,
            stats,
        }
    }

    async fn run_steps(&self, event: &mut MetaEvent) -> Result<(), StepError> {
        let tenant = event.tenant_id.clone();
        let mut data = event.data();
        // A status of a message hookhub sent moves it forward first, so the event names it.
        if let Some(report) = &event.status_report {
            let at = event.occurred_at.as_deref().unwrap_or(&event.received_at);
            let applied = self
                .messages
                .apply_status(
                    &tenant,
                    event.channel.as_str(),
                    &report.provider_message_id,
                    &report.status,
                    report.error_code.as_deref(),
                    at,
                )
                .await
                .map_err(|e| StepError::from_service("status_update_failed", e))?;
            if let (Some(id), Some(fields)) = (applied.message_id, data.as_object_mut()) {
                fields.insert("messageId".into(), json!(id));
            }
        }
        let published = self
            .events
            .publish_derived(
                &tenant,
                &event.hookhub_event_id(),
                &event.event_type,
                data,
                "meta",
            )
            .await
            .map_err(|e| StepError::from_service("fan_out_failed", e))?;
        event.hookhub_event_id = Some(published.event_id);
        event.deliveries = Some(published.deliveries);
        if let Some(contact) = &event.contact {
            let at = event.occurred_at.as_deref().unwrap_or(&event.received_at);
            let captured = self
                .contacts
                .record_seen(
                    &tenant,
                    contact,
                    Interaction::of_event_type(&event.event_type),
                    at,
                )
                .await
                .map_err(|e| StepError::from_service("contact_capture_failed", e))?;
            self.announce_contact(&tenant, &captured)
                .await
                .map_err(|e| StepError::from_service("contact_capture_failed", e))?;
        }
        Ok(())
    }

    /// `contact.created` once per contact (its event id derives from the contact id, so a
    /// repeat finds the first), `contact.updated` when capture changed a name or username.
    async fn announce_contact(
        &self,
        tenant: &str,
        captured: &Captured,
    ) -> Result<(), ServiceError> {
        let data = json!({"contact": captured.contact.view()});
        if captured.created {
            let body = captured.contact.id.split_once('_').map_or("", |(_, b)| b);
            let event_id = format!("{}_{body}", crate::ids::IdKind::Event.prefix());
            self.events
                .publish_derived(tenant, &event_id, "contact.created", data, "contacts")
                .await?;
        } else if !captured.changed.is_empty() {
            let mut data = data;
            data["changes"] = json!(captured.changed);
            self.events
                .publish(tenant, "contact.updated", data, None, "contacts")
                .await?;
        }
        Ok(())
    }

    async fn finish(&self, event: &MetaEvent, counters: BTreeMap<String, i64>) {
        let at = crate::time::now();
        if let Err(e) = self.stats.add(&event.tenant_id, at, counters).await {
            tracing::warn!(tenant_id = %event.tenant_id, error = %e, "Meta counters not updated");
        }
    }
}

#[async_trait]
impl JobHandler for MetaProcessor {
    async fn handle(&self, job: &Job) -> Result<Outcome, JobError> {
        let Some(natural_id) = job.payload.get("naturalId").and_then(|v| v.as_str()) else {
            return Ok(Outcome::Poison("job without naturalId".into()));
        };
        let found = self
            .store
            .get_by_natural_id(&job.tenant_id, natural_id)
            .await
            .map_err(|e| JobError::new(e.to_string()))?;
        let Some(mut event) = found else {
            return Ok(Outcome::Missing(
                "the Meta event is no longer stored".into(),
            ));
        };
        if event.status != ProcessingStatus::Received {
            return Ok(Outcome::Done);
        }
        // One job at a time per event: the holder records the outcome and schedules any
        // retry itself, so another job for the event has nothing to do. A holder that dies
        // leaves its claim to expire before its own message comes back.
        let claimed = self
            .store
            .claim_processing(&job.tenant_id, natural_id, PROCESSING_LEASE)
            .await
            .map_err(|e| JobError::new(e.to_string()))?;
        if !claimed {
            return Ok(Outcome::Done);
        }
        event.attempts += 1;
        let result = self.run_steps(&mut event).await;
        let now = crate::time::now();
        let mut counters = BTreeMap::new();
        let outcome = match result {
            Ok(()) => {
                let latency = chrono::DateTime::parse_from_rfc3339(&event.received_at)
                    .map(|r| {
                        (now - r.with_timezone(&chrono::Utc))
                            .num_milliseconds()
                            .max(0)
                    })
                    .unwrap_or(0);
                event.status = ProcessingStatus::Processed;
                event.processed_at = Some(crate::time::rfc3339(now));
                event.latency_ms = Some(latency);
                event.error = None;
                counters.insert(stats::PROCESSED.to_string(), 1);
                counters.insert(stats::LATENCY_TOTAL_MS.to_string(), latency);
                counters.insert(stats::LATENCY_COUNT.to_string(), 1);
                Outcome::Done
            }
            Err(step) => {
                event.error = Some(ProcessingError {
                    code: step.code.into(),
                    message: step.message.clone(),
                });
                if step.permanent || event.attempts >= MAX_PROCESSING_ATTEMPTS {
                    event.status = ProcessingStatus::Failed;
                    event.processed_at = Some(crate::time::rfc3339(now));
                    counters.insert(stats::FAILED.to_string(), 1);
                    counters.insert(
                        format!("{}{}", stats::PROCESSING_ERROR_PREFIX, step.code),
                        1,
                    );
                    Outcome::GiveUp(format!("{}: {}", step.code, step.message))
                } else {
                    let backoff = Duration::from_secs(2u64.pow(event.attempts.min(8)));
                    Outcome::RetryAfter(backoff)
                }
            }
        };
        let recorded = self.store.record_outcome(&event).await;
        if matches!(outcome, Outcome::RetryAfter(_)) || recorded.is_err() {
            // The retry (scheduled here, or SQS's redelivery) must find the claim free.
            if let Err(e) = self
                .store
                .release_processing(&job.tenant_id, natural_id)
                .await
            {
                tracing::warn!(tenant_id = %job.tenant_id, error = %e, "Meta processing claim kept until it expires");
            }
        }
        recorded.map_err(|e| JobError::new(e.to_string()))?;
        if !counters.is_empty() {
            self.finish(&event, counters).await;
        }
        Ok(outcome)
    }
}
