//! Accepting a message (validate, check the integration, store, enqueue) and sending it
//! (the `message.send` job), plus a platform admin's synchronous integration test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::content::{Channel, SendRequest};
use super::providers::{Accepted, Rejected};
use super::sender::ProviderClients;
use super::store::{MessageLog, OutboundMessage, QUEUED};
use crate::audit::{Actor, AuditLog};
use crate::error::{ServiceError, ServiceResult};
use crate::integrations::IntegrationService;
use crate::jobs::{Job, JobError, JobHandler, JobQueue, Outcome};
use crate::store::{from_item, keys, to_item, Table};
use crate::webhooks::delivery::backoff;
use crate::webhooks::events::EventService;

pub const SEND_JOB: &str = "message.send";
/// Tries before a message the provider keeps refusing for a passing reason is failed.
pub const MAX_SEND_ATTEMPTS: u32 = 5;
/// The first retry waits about this long; each next one twice as long.
const RETRY_DELAY_SECS: i64 = 2;
/// How long one attempt holds a message: longer than the provider client's own timeout.
const SEND_LEASE: Duration = Duration::from_secs(60);
const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendJob {
    message_id: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdempotencyRecord {
    message_id: String,
    /// SHA-256 of the request, so a key reused for another request is refused.
    fingerprint: String,
}

/// The answer to a send request.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub message: OutboundMessage,
    /// A repeat of an earlier request with the same Idempotency-Key.
    pub duplicate: bool,
}

/// What a platform admin's test send found.
#[derive(Debug, Clone)]
pub struct IntegrationTest {
    pub message: OutboundMessage,
    pub accepted: Option<Accepted>,
    pub rejected: Option<Rejected>,
    pub elapsed_ms: u64,
}

/// A test send as the API shows it: what the provider answered, and how fast.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = IntegrationTestResult))]
#[serde(rename_all = "camelCase")]
pub struct IntegrationTestView {
    /// the provider took the message
    pub success: bool,
    pub channel: String,
    pub provider: String,
    pub message_id: String,
    pub provider_message_id: Option<String>,
    /// the provider's own status word, as it answered
    pub provider_status: Option<String>,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub error: Option<ProviderRefusal>,
    pub elapsed_ms: u64,
}

/// The provider's refusal of a test send.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProviderRefusal {
    /// the provider's error code, or hookhub's (network_error, ...)
    pub code: String,
    pub message: String,
    /// whether the same request may succeed later
    pub retryable: bool,
    pub http_status: Option<u16>,
}

impl IntegrationTest {
    pub fn view(&self) -> IntegrationTestView {
        IntegrationTestView {
            success: self.accepted.is_some(),
            channel: self.message.channel.clone(),
            provider: self.message.provider.clone(),
            message_id: self.message.id.clone(),
            provider_message_id: self
                .accepted
                .as_ref()
                .map(|a| a.provider_message_id.clone()),
            provider_status: self
                .accepted
                .as_ref()
                .and_then(|a| a.provider_status.clone()),
            error: self.rejected.as_ref().map(|r| ProviderRefusal {
                code: r.code.clone(),
                message: r.message.clone(),
                retryable: r.retryable,
                http_status: r.http_status,
            }),
            elapsed_ms: self.elapsed_ms,
        }
    }
}

#[derive(Clone)]
pub struct MessageService {
    log: MessageLog,
    table: Table,
    queue: Arc<dyn JobQueue>,
    integrations: IntegrationService,
    providers: ProviderClients,
    events: EventService,
}

fn fingerprint(request: &SendRequest) -> String {
    let canonical = json!({
        "channel": request.channel.as_str(),
        "to": request.to,
        "content": request.content,
    });
    crate::digest::sha256_hex(canonical.to_string().as_bytes())
}

fn send_job(message: &OutboundMessage) -> Job {
    Job::new(
        SEND_JOB,
        &message.tenant_id,
        serde_json::to_value(SendJob {
            message_id: message.id.clone(),
        })
        .expect("serialises"),
    )
}

impl MessageService {
    pub fn new(
        log: MessageLog,
        table: Table,
        queue: Arc<dyn JobQueue>,
        integrations: IntegrationService,
        providers: ProviderClients,
        events: EventService,
    ) -> Self {
        Self {
            log,
            table,
            queue,
            integrations,
            providers,
            events,
        }
    }

    /// Accepts a message for sending: 409 (`FailedPrecondition`) and nothing stored when
    /// the tenant's integration cannot send; with an `Idempotency-Key`, a repeat answers
    /// the first message and sends nothing new.
    pub async fn submit(
        &self,
        tenant_id: &str,
        request: SendRequest,
        idempotency_key: Option<&str>,
    ) -> ServiceResult<Submitted> {
        let (_, provider) = self
            .providers
            .check(&self.integrations, tenant_id, request.channel)
            .await?;
        let mut message = OutboundMessage::queued(
            tenant_id,
            request.channel.as_str(),
            provider,
            &request.to,
            request.content.clone(),
        );
        if let Some(key) = idempotency_key {
            let record_key = keys::idempotency(tenant_id, "messages", key);
            let mut item = to_item(
                &record_key,
                &IdempotencyRecord {
                    message_id: message.id.clone(),
                    fingerprint: fingerprint(&request),
                },
            )?;
            item.insert(
                keys::TTL.into(),
                AttributeValue::N(crate::time::ttl_after(IDEMPOTENCY_WINDOW).to_string()),
            );
            if let Some(existing) = self.table.put_new_or_existing(item).await? {
                let first: IdempotencyRecord = from_item(existing)?;
                if first.fingerprint != fingerprint(&request) {
                    return Err(ServiceError::Conflict(
                        "this Idempotency-Key was already used for a different message".into(),
                    ));
                }
                match self.log.get(tenant_id, &first.message_id).await {
                    Ok(stored) => {
                        // The first request may have stopped before its job was queued; a
                        // second job for an untried message sends nothing twice (the
                        // worker's lease and status check see to that).
                        if stored.status == QUEUED && stored.attempts == 0 {
                            self.queue
                                .enqueue(&[send_job(&stored)], Duration::ZERO)
                                .await?;
                        }
                        return Ok(Submitted {
                            message: stored,
                            duplicate: true,
                        });
                    }
                    // The first request stopped before storing its message: finish it.
                    Err(ServiceError::NotFound(_)) => message.id = first.message_id,
                    Err(e) => return Err(e),
                }
            }
        }
        match self.log.record(&message).await {
            Ok(()) => {}
            Err(ServiceError::Conflict(_)) => {
                let stored = self.log.get(tenant_id, &message.id).await?;
                return Ok(Submitted {
                    message: stored,
                    duplicate: true,
                });
            }
            Err(e) => return Err(e),
        }
        if let Err(e) = self
            .queue
            .enqueue(&[send_job(&message)], Duration::ZERO)
            .await
        {
            if idempotency_key.is_none() {
                // Without a key nobody can finish this one: say it failed.
                let reason = "the delivery queue was unavailable; the message was not sent";
                if let Err(mark) = self
                    .log
                    .mark_failed(&message, "queue_unavailable", reason)
                    .await
                {
                    tracing::error!(error = %mark, message_id = %message.id, "could not mark an unqueued message failed");
                }
            }
            return Err(e.into());
        }
        Ok(Submitted {
            message,
            duplicate: false,
        })
    }

    /// Sends a real message now through the tenant's integration and reports the
    /// provider's answer (how an admin verifies an integration). The message is
    /// recorded like any other, so its later statuses show up too.
    pub async fn test_integration(
        &self,
        tenant_id: &str,
        request: SendRequest,
        actor: &Actor,
    ) -> ServiceResult<IntegrationTest> {
        let provider = self
            .providers
            .provider(&self.integrations, tenant_id, request.channel)
            .await?;
        let mut message = OutboundMessage::queued(
            tenant_id,
            request.channel.as_str(),
            provider.name(),
            &request.to,
            request.content,
        );
        message.test = true;
        // A test tells the admin; it is not announced to the tenant's endpoints.
        message.announced = true;
        self.log.record(&message).await?;
        let claimed = self
            .log
            .claim(tenant_id, &message.id, SEND_LEASE)
            .await?
            .map_err(|_| ServiceError::Conflict("the test message was taken".into()))?;
        let started = Instant::now();
        let result = provider.send(&claimed.to, &claimed.content).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let (accepted, rejected) = match result {
            Ok(accepted) => {
                self.log
                    .mark_sent(&claimed, provider.name(), &accepted.provider_message_id)
                    .await?;
                (Some(accepted), None)
            }
            Err(rejected) => {
                self.log
                    .mark_failed(&claimed, &rejected.code, &rejected.message)
                    .await?;
                (None, Some(rejected))
            }
        };
        AuditLog::new(self.table.clone())
            .record(
                tenant_id,
                actor,
                "integration.tested",
                request.channel.as_str(),
                vec![if accepted.is_some() {
                    "succeeded".into()
                } else {
                    "failed".into()
                }],
            )
            .await?;
        Ok(IntegrationTest {
            message: self.log.get(tenant_id, &message.id).await?,
            accepted,
            rejected,
            elapsed_ms,
        })
    }

    /// One attempt of a `message.send` job.
    async fn attempt(&self, job: &Job) -> Result<Outcome, JobError> {
        let Ok(payload) = serde_json::from_value::<SendJob>(job.payload.clone()) else {
            return Ok(Outcome::Poison("undecodable message.send payload".into()));
        };
        let message = match self
            .log
            .claim(&job.tenant_id, &payload.message_id, SEND_LEASE)
            .await
            .map_err(infra)?
        {
            Ok(message) => message,
            Err(None) => return Ok(Outcome::Missing("the message no longer exists".into())),
            Err(Some(other)) if other.status == QUEUED => {
                // Another attempt holds it; look again once its lease has run out.
                return Err(JobError::new(format!(
                    "message {} is being sent by another attempt",
                    other.id
                )));
            }
            Err(Some(done)) => {
                // Finished earlier; make sure its outcome was announced.
                self.announce(&done).await.map_err(infra)?;
                return Ok(Outcome::Done);
            }
        };
        let channel = Channel::parse(&message.channel).unwrap_or(Channel::Sms);
        let provider = match self
            .providers
            .provider(&self.integrations, &message.tenant_id, channel)
            .await
        {
            Ok(provider) => provider,
            Err(ServiceError::FailedPrecondition(reason)) => {
                return self
                    .fail(&message, "integration_unavailable", &reason)
                    .await;
            }
            Err(ServiceError::TenantSuspended) => {
                return self
                    .fail(
                        &message,
                        "tenant_suspended",
                        "not sent: the tenant is suspended",
                    )
                    .await;
            }
            Err(e) => return Err(infra(e)),
        };
        match provider.send(&message.to, &message.content).await {
            Ok(accepted) => {
                let sent = self
                    .log
                    .mark_sent(&message, provider.name(), &accepted.provider_message_id)
                    .await
                    .map_err(infra)?;
                if let Some(sent) = sent {
                    self.announce(&sent).await.map_err(infra)?;
                }
                Ok(Outcome::Done)
            }
            Err(rejected) if rejected.retryable && message.attempts < MAX_SEND_ATTEMPTS => {
                self.log
                    .mark_retrying(&message, &rejected.code, &rejected.message)
                    .await
                    .map_err(infra)?;
                Ok(Outcome::RetryAfter(backoff(
                    RETRY_DELAY_SECS,
                    message.attempts,
                    rejected.retry_after,
                )))
            }
            Err(rejected) => {
                let code = rejected.code.clone();
                self.fail(&message, &code, &rejected.message).await
            }
        }
    }

    async fn fail(
        &self,
        message: &OutboundMessage,
        code: &str,
        reason: &str,
    ) -> Result<Outcome, JobError> {
        if let Some(failed) = self
            .log
            .mark_failed(message, code, reason)
            .await
            .map_err(infra)?
        {
            self.announce(&failed).await.map_err(infra)?;
        }
        Ok(Outcome::GiveUp(format!(
            "message {} failed: {code}: {reason}",
            message.id
        )))
    }

    /// Publishes `message.sent` (SMS: there is no later report) or `message.failed`, once.
    /// A WhatsApp message's `message.sent` comes from Meta's own status webhook instead.
    async fn announce(&self, message: &OutboundMessage) -> ServiceResult<()> {
        if message.announced {
            return Ok(());
        }
        let event_type = match message.status.as_str() {
            "failed" => "message.failed",
            "sent" if message.channel == Channel::Sms.as_str() => "message.sent",
            _ => return self.log.mark_announced(message).await,
        };
        self.events
            .publish_derived(
                &message.tenant_id,
                &message.event_id(),
                event_type,
                json!({"message": message.view()}),
                "messages",
            )
            .await?;
        self.log.mark_announced(message).await
    }
}

fn infra(err: ServiceError) -> JobError {
    JobError::new(err.to_string())
}

#[async_trait]
impl JobHandler for MessageService {
    async fn handle(&self, job: &Job) -> Result<Outcome, JobError> {
        self.attempt(job).await
    }
}
