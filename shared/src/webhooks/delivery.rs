//! One delivery attempt of one event to one endpoint, and what follows from it: the attempt
//! logged, counters updated, a retry scheduled or not, and the endpoint disabled after ten
//! consecutive failed attempts (emitting `endpoint.disabled`).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::endpoint::{Endpoint, EndpointKind, EndpointService};
use super::events::{EventService, StoredEvent};
use super::logs::{AttemptLog, DeliveryLog};
use super::sender::{SendResult, Sender};
use super::DELIVER_JOB;
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{new_id, IdKind};
use crate::jobs::{Job, JobError, JobHandler, Outcome};
use crate::signing::{body_hmac, standard_webhooks};

/// Consecutive failed attempts after which an endpoint is disabled.
pub const AUTO_DISABLE_AFTER: u64 = 10;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);
/// The longest a test delivery waits for the receiver, whatever the endpoint's own timeout:
/// the admin API answers within API Gateway's 30-second integration limit, with the event
/// and the attempt written.
pub const MAX_TEST_WAIT: Duration = Duration::from_secs(20);

/// The payload of a `webhook.deliver` job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryJob {
    pub endpoint_id: String,
    pub delivery_id: String,
    pub event_id: String,
    pub event_type: String,
    pub event_timestamp: String,
    pub data: Value,
}

impl DeliveryJob {
    pub fn for_event(event: &StoredEvent, endpoint_id: &str) -> Self {
        Self {
            endpoint_id: endpoint_id.into(),
            delivery_id: new_id(IdKind::Delivery),
            event_id: event.id.clone(),
            event_type: event.event_type.clone(),
            event_timestamp: event.created_at.clone(),
            data: event.data.clone(),
        }
    }

    pub fn into_job(self, tenant_id: &str) -> Job {
        Job::new(
            DELIVER_JOB,
            tenant_id,
            serde_json::to_value(self).expect("serialises"),
        )
    }
}

/// Whether a failed attempt is worth repeating.
pub fn retryable(result: &SendResult) -> bool {
    match result.status {
        // A network error or timeout; a name that resolved to a forbidden address may
        // resolve elsewhere later, a forbidden literal never will.
        None => !result.refused,
        Some(s) => s == 408 || s == 429 || s >= 500,
    }
}

/// `retryDelay` doubling per attempt, with ±25 % jitter so retries of many deliveries
/// spread out; a receiver's `Retry-After` wins when it asks for longer.
pub fn backoff(retry_delay_secs: i64, attempt: u32, retry_after: Option<Duration>) -> Duration {
    let base = Duration::from_secs(retry_delay_secs.max(1) as u64)
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(MAX_BACKOFF);
    let jitter = rand::thread_rng().gen_range(0.75..1.25);
    let with_jitter = base.mul_f64(jitter).max(Duration::from_secs(1));
    match retry_after {
        Some(asked) if asked > with_jitter => asked,
        _ => with_jitter,
    }
}

/// What the receiver gets.
pub fn request_body(tenant_id: &str, job: &DeliveryJob) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": job.event_id,
        "event": job.event_type,
        "timestamp": job.event_timestamp,
        "tenantId": tenant_id,
        "data": job.data,
    }))
    .expect("serialises")
}

/// The signed headers (Standard Webhooks and `X-Webhook-Signature`), plus the endpoint's own.
pub fn request_headers(
    endpoint: &Endpoint,
    secrets: &[standard_webhooks::SigningSecret],
    job: &DeliveryJob,
    body: &[u8],
    bearer: Option<&str>,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in &endpoint.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(n, v);
        }
    }
    let timestamp = chrono::Utc::now().timestamp();
    let set = |headers: &mut HeaderMap, name: &'static str, value: &str| {
        headers.insert(
            name,
            HeaderValue::from_str(value).expect("header-safe value"),
        );
    };
    set(&mut headers, "content-type", "application/json");
    set(&mut headers, standard_webhooks::ID_HEADER, &job.event_id);
    set(
        &mut headers,
        standard_webhooks::TIMESTAMP_HEADER,
        &timestamp.to_string(),
    );
    set(
        &mut headers,
        standard_webhooks::SIGNATURE_HEADER,
        &standard_webhooks::signature_header(secrets, &job.event_id, timestamp, body),
    );
    if let Some(newest) = secrets.first() {
        set(
            &mut headers,
            "x-webhook-signature",
            &body_hmac::sign(newest.expose(), body),
        );
    }
    set(&mut headers, "x-webhook-event", &job.event_type);
    if let Some(token) = bearer {
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}")) {
            headers.insert(http::header::AUTHORIZATION, v);
        }
    }
    headers
}

/// An attempt as logged, and what follows from it for its job.
#[derive(Debug, Clone)]
pub struct Attempted {
    pub log: AttemptLog,
    pub next: Outcome,
    /// The receiver answered 410 Gone: the endpoint is to be disabled.
    gone: bool,
}

/// A delivery job of a batch, due now.
pub struct DueDelivery {
    pub tenant_id: String,
    pub job: DeliveryJob,
    pub attempt: u32,
}

/// Where one job of a batch stands once its endpoint is known and the send is over.
enum Step {
    /// Nothing to deliver to (deleted, or never a valid id).
    Missing,
    /// The endpoint is disabled: logged as not sent, for recovery.
    NotSent(AttemptLog),
    Sent(Attempted),
    Failed(ServiceError),
}

#[derive(Clone)]
pub struct DeliveryService {
    endpoints: EndpointService,
    log: DeliveryLog,
    events: EventService,
    sender: Sender,
}

impl DeliveryService {
    pub fn new(
        endpoints: EndpointService,
        log: DeliveryLog,
        events: EventService,
        sender: Sender,
    ) -> Self {
        Self {
            endpoints,
            log,
            events,
            sender,
        }
    }

    /// One SQS batch of deliveries: every endpoint read once (one batch read), every job
    /// sent concurrently, every attempt logged in one batch write, and each endpoint's
    /// counters updated once for all of its attempts (auto-disable decided on the result).
    /// One outcome per job, in order; a job whose outcome could not be recorded is an error,
    /// left for SQS to redeliver.
    pub async fn deliver_batch(
        &self,
        due: &[DueDelivery],
        concurrency: usize,
    ) -> Vec<Result<Outcome, JobError>> {
        let wanted: Vec<(String, String)> = due
            .iter()
            .map(|d| (d.tenant_id.clone(), d.job.endpoint_id.clone()))
            .collect();
        let endpoints = match self.endpoints.get_many(&wanted).await {
            Ok(found) => found,
            Err(e) => return due.iter().map(|_| Err(job_error(&e))).collect(),
        };
        let endpoint_of = |i: usize| endpoints.get(&wanted[i]);
        let steps: Vec<Step> = futures::stream::iter(0..due.len())
            .map(|i| async move {
                let d = &due[i];
                match endpoint_of(i) {
                    None => Step::Missing,
                    Some(e) if !e.is_active => Step::NotSent(not_sent(e, &d.job, d.attempt)),
                    Some(e) => match self.send(e, &d.job, e.timeout()).await {
                        Ok(result) => Step::Sent(decide(e, &d.job, d.attempt, result)),
                        Err(err) => Step::Failed(err),
                    },
                }
            })
            .buffered(concurrency.max(1))
            .collect()
            .await;

        let logs: Vec<&AttemptLog> = steps
            .iter()
            .filter_map(|s| match s {
                Step::NotSent(log) | Step::Sent(Attempted { log, .. }) => Some(log),
                _ => None,
            })
            .collect();
        if let Err(e) = self.log.put_all(&logs).await {
            return steps
                .into_iter()
                .map(|s| match s {
                    Step::Missing => Ok(missing()),
                    Step::Failed(err) => Err(job_error(&err)),
                    _ => Err(job_error(&e)),
                })
                .collect();
        }

        // Each endpoint's attempts counted together; a failure fails that endpoint's jobs.
        let mut groups: HashMap<&(String, String), (&Endpoint, Vec<&Attempted>)> = HashMap::new();
        for (i, step) in steps.iter().enumerate() {
            if let (Step::Sent(attempted), Some(endpoint)) = (step, endpoint_of(i)) {
                groups
                    .entry(&wanted[i])
                    .or_insert_with(|| (endpoint, Vec::new()))
                    .1
                    .push(attempted);
            }
        }
        let settled: HashMap<&(String, String), Result<(), JobError>> =
            futures::future::join_all(groups.into_iter().map(
                |(key, (endpoint, attempts))| async move {
                    let done = self.settle(endpoint, &attempts).await;
                    (key, done.map_err(|e| job_error(&e)))
                },
            ))
            .await
            .into_iter()
            .collect();

        steps
            .into_iter()
            .enumerate()
            .map(|(i, step)| match step {
                Step::Missing | Step::NotSent(_) => Ok(missing()),
                Step::Failed(err) => Err(job_error(&err)),
                Step::Sent(attempted) => match settled.get(&wanted[i]) {
                    Some(Ok(())) => Ok(attempted.next),
                    Some(Err(e)) => Err(JobError::new(e.to_string())),
                    None => Err(JobError::new("attempt not counted")),
                },
            })
            .collect()
    }

    /// Signs with every live secret (and a workflow's bearer token) and sends once.
    async fn send(
        &self,
        endpoint: &Endpoint,
        job: &DeliveryJob,
        timeout: Duration,
    ) -> ServiceResult<SendResult> {
        let secrets = self.endpoints.signing_secrets(endpoint).await?;
        let token = self.endpoints.auth_token(endpoint).await?;
        let body = request_body(&endpoint.tenant_id, job);
        let bearer = token.as_deref().map(String::as_str);
        let headers = request_headers(endpoint, &secrets, job, &body, bearer);
        Ok(self
            .sender
            .post(&endpoint.url, headers, body, timeout)
            .await)
    }

    /// A test delivery: sent now whatever the endpoint's state, logged and counted, never
    /// retried; it waits at most [`MAX_TEST_WAIT`].
    pub async fn send_now(
        &self,
        endpoint: &Endpoint,
        job: &DeliveryJob,
    ) -> ServiceResult<AttemptLog> {
        let result = self
            .send(endpoint, job, endpoint.timeout().min(MAX_TEST_WAIT))
            .await?;
        let once = Endpoint {
            retry_attempts: 0,
            ..endpoint.clone()
        };
        let attempted = decide(&once, job, 1, result);
        self.log.put_all(&[&attempted.log]).await?;
        self.settle(&once, &[&attempted]).await?;
        Ok(attempted.log)
    }

    /// Counts one endpoint's logged attempts and disables it on a 410 or when its
    /// consecutive failures reach the limit.
    async fn settle(&self, endpoint: &Endpoint, attempts: &[&Attempted]) -> ServiceResult<()> {
        let logs: Vec<&AttemptLog> = attempts.iter().map(|a| &a.log).collect();
        let consecutive = self.log.count(&logs).await?;
        if attempts.iter().any(|a| a.gone) {
            self.disable(endpoint, "the receiver answered 410 Gone", consecutive)
                .await?;
        } else if consecutive >= AUTO_DISABLE_AFTER {
            // Non-zero only when the newest attempt failed.
            self.disable(
                endpoint,
                &format!("{consecutive} consecutive failed delivery attempts"),
                consecutive,
            )
            .await?;
        }
        Ok(())
    }

    async fn disable(
        &self,
        endpoint: &Endpoint,
        reason: &str,
        consecutive: u64,
    ) -> ServiceResult<()> {
        let endpoints = self.endpoints.with_kind(EndpointKind::of_id(&endpoint.id));
        if endpoints.disable(endpoint, reason).await? {
            tracing::warn!(endpoint_id = %endpoint.id, %reason, "endpoint disabled");
            self.events
                .publish(
                    &endpoint.tenant_id,
                    "endpoint.disabled",
                    serde_json::json!({
                        "endpoint": {"id": endpoint.id, "name": endpoint.name, "url": endpoint.url},
                        "reason": reason,
                        "consecutiveFailures": consecutive,
                    }),
                    None,
                    "system",
                )
                .await?;
        }
        Ok(())
    }
}

fn job_error(e: &ServiceError) -> JobError {
    JobError::new(e.to_string())
}

fn missing() -> Outcome {
    Outcome::Missing("endpoint deleted or disabled".into())
}

/// The attempt's log entry and what comes next: a retry after a backoff, or not.
fn decide(endpoint: &Endpoint, job: &DeliveryJob, attempt: u32, result: SendResult) -> Attempted {
    let success = result.success();
    let gone = result.status == Some(410);
    let may_retry =
        !success && !gone && retryable(&result) && i64::from(attempt) <= endpoint.retry_attempts;
    let wait = may_retry.then(|| backoff(endpoint.retry_delay, attempt, result.retry_after));
    let error = match (&result.error, result.status) {
        (Some(e), _) => Some(e.clone()),
        (None, Some(s)) if !success => Some(format!("receiver answered {s}")),
        _ => None,
    };
    let next = match (success, wait) {
        (true, _) => Outcome::Done,
        (false, Some(w)) => Outcome::RetryAfter(w),
        (false, None) => Outcome::GiveUp(error.clone().unwrap_or_else(|| "failed".into())),
    };
    let log = AttemptLog {
        id: new_id(IdKind::Delivery),
        tenant_id: endpoint.tenant_id.clone(),
        endpoint_id: endpoint.id.clone(),
        delivery_id: job.delivery_id.clone(),
        event_id: job.event_id.clone(),
        event_type: job.event_type.clone(),
        attempt,
        success,
        status: if success { "success" } else { "failed" }.into(),
        status_code: result.status,
        response_time_ms: result.elapsed_ms,
        response_body: result.body,
        error,
        will_retry: may_retry,
        next_attempt_at: wait.map(|w| {
            crate::time::rfc3339(
                chrono::Utc::now() + chrono::Duration::from_std(w).unwrap_or_default(),
            )
        }),
        url: endpoint.url.clone(),
        created_at: crate::time::now_rfc3339(),
    };
    Attempted { log, next, gone }
}

/// A delivery dropped because its endpoint is disabled, logged so that recovery finds it.
fn not_sent(endpoint: &Endpoint, job: &DeliveryJob, attempt: u32) -> AttemptLog {
    let unsent = SendResult {
        status: None,
        elapsed_ms: 0,
        body: None,
        error: Some("not sent: the endpoint is disabled".into()),
        retry_after: None,
        timed_out: false,
        refused: false,
    };
    let never = Endpoint {
        retry_attempts: 0,
        ..endpoint.clone()
    };
    decide(&never, job, attempt, unsent).log
}

/// The worker's handler for `webhook.deliver` jobs.
pub struct DeliverHandler {
    pub service: DeliveryService,
}

#[async_trait]
impl JobHandler for DeliverHandler {
    async fn handle(&self, job: &Job) -> Result<Outcome, JobError> {
        self.handle_batch(std::slice::from_ref(job), 1)
            .await
            .pop()
            .unwrap_or_else(|| Err(JobError::new("no outcome")))
    }

    async fn handle_batch(
        &self,
        jobs: &[Job],
        concurrency: usize,
    ) -> Vec<Result<Outcome, JobError>> {
        let mut outcomes: Vec<Option<Result<Outcome, JobError>>> = Vec::with_capacity(jobs.len());
        let mut due = Vec::new();
        let mut slots = Vec::new();
        for (i, job) in jobs.iter().enumerate() {
            match serde_json::from_value::<DeliveryJob>(job.payload.clone()) {
                Ok(delivery) => {
                    outcomes.push(None);
                    slots.push(i);
                    due.push(DueDelivery {
                        tenant_id: job.tenant_id.clone(),
                        job: delivery,
                        attempt: job.attempt,
                    });
                }
                Err(e) => outcomes.push(Some(Ok(Outcome::Poison(format!(
                    "malformed delivery job: {e}"
                ))))),
            }
        }
        let delivered = self.service.deliver_batch(&due, concurrency).await;
        for (slot, outcome) in slots.into_iter().zip(delivered) {
            outcomes[slot] = Some(outcome);
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err(JobError::new("no outcome"))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_honours_retry_after() {
        for attempt in 1..=5u32 {
            let expected = 2f64.powi(attempt as i32 - 1);
            let d = backoff(1, attempt, None).as_secs_f64();
            assert!(
                d >= (expected * 0.75).max(1.0) - 1e-9 && d <= expected * 1.25 + 1e-9,
                "attempt {attempt}: {d}"
            );
        }
        assert_eq!(
            backoff(1, 1, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        assert!(backoff(1, 40, None) <= MAX_BACKOFF.mul_f64(1.25));
    }

    #[test]
    fn retry_rules() {
        let r = |status: Option<u16>| SendResult {
            status,
            elapsed_ms: 1,
            body: None,
            error: None,
            retry_after: None,
            timed_out: false,
            refused: false,
        };
        for s in [None, Some(408), Some(429), Some(500), Some(503)] {
            assert!(retryable(&r(s)), "{s:?}");
        }
        let refused = SendResult {
            refused: true,
            ..r(None)
        };
        assert!(!retryable(&refused), "a forbidden address stays forbidden");
        for s in [Some(400), Some(401), Some(404), Some(301), Some(410)] {
            assert!(!retryable(&r(s)), "{s:?}");
        }
    }
}
