//! One delivery attempt of one event to one endpoint, and what follows from it: the attempt
//! logged, counters updated, a retry scheduled or not, and the endpoint disabled after ten
//! consecutive failed attempts (emitting `endpoint.disabled`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::endpoint::{Endpoint, EndpointKind, EndpointService};
use super::events::{EventService, StoredEvent, TENANT_SUSPENDED};
use super::logs::{AttemptLog, DeliveryLog};
use super::n8n::{self, N8nInstance};
use super::sender::{SendResult, Sender, MAX_LOGGED_BODY};
use super::DELIVER_JOB;
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{new_id, IdKind};
use crate::integrations::IntegrationService;
use crate::jobs::{Job, JobError, JobHandler, JobQueue, Outcome};
use crate::signing::{body_hmac, standard_webhooks};

/// Consecutive failed attempts after which an endpoint is disabled.
pub const AUTO_DISABLE_AFTER: u64 = 10;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);
/// The longest a test delivery waits for the receiver, whatever the endpoint's own timeout:
/// the admin API answers within API Gateway's 30-second integration limit, with the event
/// and the attempt written.
pub const MAX_TEST_WAIT: Duration = Duration::from_secs(20);

/// The largest event data a delivery job carries itself: a message of at most 64 KiB is one
/// SQS request, and ten of them fill a batch. A larger event's jobs name it instead, and the
/// worker reads it from the table (once per batch).
pub const MAX_INLINE_DATA_BYTES: usize = 64 * 1024;

/// The payload of a `webhook.deliver` job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryJob {
    pub endpoint_id: String,
    pub delivery_id: String,
    pub event_id: String,
    pub event_type: String,
    pub event_timestamp: String,
    /// The event's data, unless it is larger than [`MAX_INLINE_DATA_BYTES`]: then the
    /// stored event is read when the job runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Where the event came from (`catalog::origin`); absent in jobs queued before it was
    /// part of the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl DeliveryJob {
    pub fn for_event(event: &StoredEvent, endpoint_id: &str) -> Self {
        Self::fan_out(event, std::slice::from_ref(&endpoint_id.to_string())).remove(0)
    }

    /// One job per target, the event's size measured once.
    pub fn fan_out(event: &StoredEvent, endpoint_ids: &[String]) -> Vec<Self> {
        let inline =
            serde_json::to_vec(&event.data).map_or(0, |d| d.len()) <= MAX_INLINE_DATA_BYTES;
        endpoint_ids
            .iter()
            .map(|endpoint_id| Self {
                endpoint_id: endpoint_id.clone(),
                delivery_id: new_id(IdKind::Delivery),
                event_id: event.id.clone(),
                event_type: event.event_type.clone(),
                event_timestamp: event.created_at.clone(),
                data: inline.then(|| event.data.clone()),
                source: Some(super::catalog::origin(&event.source).to_string()),
            })
            .collect()
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

/// What the receiver gets: the job's event with its data and where it came from, and a
/// `metadata` object about this delivery (the attempt it is, the tenant, the source).
pub fn request_body(tenant_id: &str, job: &DeliveryJob, data: &Value, attempt: u32) -> Vec<u8> {
    let mut body = serde_json::json!({
        "id": job.event_id,
        "event": job.event_type,
        "timestamp": job.event_timestamp,
        "tenantId": tenant_id,
        "data": data,
        "metadata": {"attempt": attempt, "tenantId": tenant_id, "source": job.source},
    });
    if let Some(source) = &job.source {
        body["source"] = Value::String(source.clone());
    }
    serde_json::to_vec(&body).expect("serialises")
}

/// The headers that follow from the event alone: an attempt's log leaves them out (a
/// successful attempt's item stays within one write unit) and its detail puts them back.
pub fn derived_headers(event_id: &str, event_type: &str) -> [(&'static str, String); 3] {
    [
        ("content-type", "application/json".to_string()),
        (standard_webhooks::ID_HEADER, event_id.to_string()),
        ("x-webhook-event", event_type.to_string()),
    ]
}

/// The signed headers (Standard Webhooks and `X-Webhook-Signature`), plus the endpoint's
/// own (`custom`, opened).
pub fn request_headers(
    custom: &[(String, zeroize::Zeroizing<String>)],
    secrets: &[standard_webhooks::SigningSecret],
    job: &DeliveryJob,
    body: &[u8],
    bearer: Option<&str>,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in custom {
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
    for (name, value) in derived_headers(&job.event_id, &job.event_type) {
        set(&mut headers, name, &value);
    }
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
    if let Some(token) = bearer {
        if let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}")) {
            headers.insert(http::header::AUTHORIZATION, v);
        }
    }
    headers
}

/// How long a call whose caller waits may take: the endpoint's timeout, within
/// [`MAX_TEST_WAIT`].
pub fn call_timeout(endpoint: &Endpoint) -> Duration {
    endpoint.timeout().min(MAX_TEST_WAIT)
}

/// One request made: where it went, the receiver's answer and the headers it was sent
/// with, as logged.
pub struct Sent {
    pub url: String,
    pub result: SendResult,
    pub request_headers: BTreeMap<String, String>,
}

impl Sent {
    /// A request that could not be made and never will be as configured.
    fn refused(url: &str, error: &str) -> Self {
        Self {
            url: url.to_string(),
            result: SendResult {
                status: None,
                elapsed_ms: 0,
                headers: BTreeMap::new(),
                body: None,
                truncated: false,
                error: Some(error.to_string()),
                retry_after: None,
                timed_out: false,
                refused: true,
            },
            request_headers: BTreeMap::new(),
        }
    }
}

/// A request's headers as an attempt's log keeps them: signatures included (they let a
/// receiver's developer check their verifier), credentials (a workflow's bearer token, the
/// n8n API key, the endpoint's custom headers, named in `custom`) masked, and the
/// [`derived_headers`] left out.
pub fn logged_request_headers(headers: &HeaderMap, custom: &[&str]) -> BTreeMap<String, String> {
    let derived = derived_headers("", "").map(|(name, _)| name);
    headers
        .iter()
        .filter(|(name, _)| !derived.contains(&name.as_str()))
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            let value = if name == http::header::AUTHORIZATION {
                match value.split_once(' ') {
                    Some((scheme, credentials)) => {
                        format!("{scheme} {}", crate::masking::mask(credentials))
                    }
                    None => crate::masking::mask(&value),
                }
            } else if name == n8n::API_KEY_HEADER || custom.contains(&name.as_str()) {
                crate::masking::mask(&value)
            } else {
                value.into_owned()
            };
            (name.as_str().to_string(), value)
        })
        .collect()
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
    /// The job names its event, which is no longer stored (past its retention).
    EventGone,
}

/// `POST /api/v1/webhooks/{id}/test`, validated.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    serde(rename_all = "camelCase", deny_unknown_fields)
)]
pub struct TestDelivery {
    #[cfg_attr(
        feature = "openapi",
        schema(schema_with = super::catalog::openapi::test_type, required = false)
    )]
    pub event_type: String,
    /// null or absent: the event type's sample payload
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub data: Option<Value>,
}

impl TestDelivery {
    /// The body, if any: every field may be left out.
    pub fn read(
        body: Option<crate::validation::Fields>,
    ) -> Result<Self, crate::validation::InputError> {
        let (event_type, data): (String, Option<Value>) = match body {
            Some(mut f) => {
                let event_type = f
                    .string("eventType", 100)
                    .unwrap_or_else(|| "webhook.test".into());
                let data = super::events::read_data(&mut f);
                f.finish()?;
                (event_type, data)
            }
            None => ("webhook.test".into(), None),
        };
        if !super::catalog::is_known(&event_type) {
            return Err(crate::validation::InputError::field(
                "eventType",
                "unknown event type",
            ));
        }
        Ok(Self { event_type, data })
    }
}

/// What the receiver said to a test delivery.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    pub success: bool,
    pub status_code: Option<u16>,
    pub response_time_ms: u64,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub event_id: String,
    /// the attempt's log entry
    pub log_id: String,
}

#[derive(Clone)]
pub struct DeliveryService {
    endpoints: EndpointService,
    log: DeliveryLog,
    events: EventService,
    sender: Sender,
    integrations: IntegrationService,
    /// Where the email about a disabled endpoint is queued, when alerts are configured.
    alerts: Option<Arc<dyn JobQueue>>,
}

impl DeliveryService {
    pub fn new(
        endpoints: EndpointService,
        log: DeliveryLog,
        events: EventService,
        sender: Sender,
        integrations: IntegrationService,
    ) -> Self {
        Self {
            endpoints,
            log,
            events,
            sender,
            integrations,
            alerts: None,
        }
    }

    /// Disabling an endpoint queues an email to its tenant (see [`crate::alerts`]).
    pub fn with_alerts(mut self, queue: Arc<dyn JobQueue>) -> Self {
        self.alerts = Some(queue);
        self
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
        let (endpoints, suspended) = match self.endpoints.get_many(&wanted).await {
            Ok(found) => found,
            Err(e) => return due.iter().map(|_| Err(job_error(&e))).collect(),
        };
        let endpoint_of = |i: usize| endpoints.get(&wanted[i]);
        let stored = match self.referenced_data(due).await {
            Ok(found) => found,
            Err(e) => return due.iter().map(|_| Err(job_error(&e))).collect(),
        };
        let workflows = endpoints.values().filter(|e| e.is_active);
        let n8n = match self.n8n_instances(workflows).await {
            Ok(found) => found,
            Err(e) => return due.iter().map(|_| Err(job_error(&e))).collect(),
        };
        let steps: Vec<Step> = futures::stream::iter(0..due.len())
            .map(|i| {
                let (stored, suspended, n8n) = (&stored, &suspended, &n8n);
                async move {
                    let d = &due[i];
                    let stored = stored.get(&(d.tenant_id.clone(), d.job.event_id.clone()));
                    let data = match d.attempt {
                        1 => d.job.data.as_ref().or(stored),
                        _ => stored,
                    };
                    match (endpoint_of(i), data) {
                        (None, _) => Step::Missing,
                        (Some(e), _) if suspended.contains(&e.tenant_id) => {
                            Step::NotSent(not_sent(e, &d.job, d.attempt, TENANT_SUSPENDED))
                        }
                        (Some(e), _) if !e.is_active => Step::NotSent(not_sent(
                            e,
                            &d.job,
                            d.attempt,
                            "not sent: the endpoint is disabled",
                        )),
                        (Some(_), None) => Step::EventGone,
                        (Some(e), Some(data)) => {
                            let n8n = n8n.get(&e.tenant_id);
                            match self
                                .send(
                                    e,
                                    &d.job,
                                    data,
                                    d.attempt,
                                    n8n,
                                    e.timeout(),
                                    MAX_LOGGED_BODY,
                                )
                                .await
                            {
                                Ok(sent) => Step::Sent(decide(e, &d.job, d.attempt, sent)),
                                Err(err) => Step::Failed(err),
                            }
                        }
                    }
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
                    Step::EventGone => Ok(event_gone()),
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
                Step::EventGone => Ok(event_gone()),
                Step::Failed(err) => Err(job_error(&err)),
                Step::Sent(attempted) => match settled.get(&wanted[i]) {
                    Some(Ok(())) => Ok(attempted.next),
                    Some(Err(e)) => Err(JobError::new(e.to_string())),
                    None => Err(JobError::new("attempt not counted")),
                },
            })
            .collect()
    }

    /// The n8n instance of each tenant among these endpoints that has a workflow, read once
    /// however many of its workflows the calls go to.
    pub async fn n8n_instances<'a>(
        &self,
        endpoints: impl Iterator<Item = &'a Endpoint>,
    ) -> ServiceResult<HashMap<String, N8nInstance>> {
        let tenants: std::collections::BTreeSet<&str> = endpoints
            .filter(|e| EndpointKind::of_id(&e.id) == EndpointKind::Workflow)
            .map(|e| e.tenant_id.as_str())
            .collect();
        let read = futures::future::try_join_all(tenants.into_iter().map(|tenant| async move {
            let instance = N8nInstance::of_tenant(&self.integrations, tenant).await?;
            Ok::<_, ServiceError>(instance.map(|i| (tenant.to_string(), i)))
        }))
        .await?;
        Ok(read.into_iter().flatten().collect())
    }

    /// The data of the batch's events whose jobs name them rather than carry it, and of
    /// every retry's event, each read once; an event no longer stored is left out. A retry
    /// sends the event as stored, not as its job carries it: an erasure since the first
    /// attempt holds for every later one.
    async fn referenced_data(
        &self,
        due: &[DueDelivery],
    ) -> ServiceResult<HashMap<(String, String), Value>> {
        let wanted: std::collections::BTreeSet<(String, String)> = due
            .iter()
            .filter(|d| d.job.data.is_none() || d.attempt > 1)
            .map(|d| (d.tenant_id.clone(), d.job.event_id.clone()))
            .collect();
        let read = futures::future::join_all(wanted.into_iter().map(|key| async move {
            let event = self.events.get(&key.0, &key.1).await;
            (key, event)
        }))
        .await;
        let mut found = HashMap::new();
        for (key, event) in read {
            match event {
                Ok(event) => {
                    found.insert(key, event.data);
                }
                Err(ServiceError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(found)
    }

    /// Signs with every live secret (and a workflow's bearer token) and sends once,
    /// keeping at most `max_body` bytes of the answer.
    #[allow(clippy::too_many_arguments)]
    async fn send(
        &self,
        endpoint: &Endpoint,
        job: &DeliveryJob,
        data: &Value,
        attempt: u32,
        n8n: Option<&N8nInstance>,
        timeout: Duration,
        max_body: usize,
    ) -> ServiceResult<Sent> {
        // Only a workflow goes through the tenant's n8n instance.
        let n8n = n8n.filter(|_| EndpointKind::of_id(&endpoint.id) == EndpointKind::Workflow);
        let url = match n8n {
            Some(n8n) => n8n.url_for(&endpoint.url),
            None if n8n::is_path(&endpoint.url) => {
                return Ok(Sent::refused(
                    &endpoint.url,
                    "the workflow URL is a path, and the tenant's n8n integration has no baseUrl (or is disabled)",
                ))
            }
            None => endpoint.url.clone(),
        };
        let secrets = self.endpoints.signing_secrets(endpoint).await?;
        let token = self.endpoints.auth_token(endpoint).await?;
        let custom = self.endpoints.custom_headers(endpoint).await?;
        let body = request_body(&endpoint.tenant_id, job, data, attempt);
        let bearer = token.as_deref().map(String::as_str);
        let mut headers = request_headers(&custom, &secrets, job, &body, bearer);
        if let Some(key) = n8n
            .and_then(|n| n.api_key_for(&url))
            .and_then(|k| HeaderValue::from_str(k).ok())
        {
            headers.insert(n8n::API_KEY_HEADER, key);
        }
        let custom_names: Vec<&str> = custom.iter().map(|(name, _)| name.as_str()).collect();
        let request_headers = logged_request_headers(&headers, &custom_names);
        let result = self
            .sender
            .post_keeping(&url, headers, body, timeout, max_body)
            .await;
        Ok(Sent {
            url,
            result,
            request_headers,
        })
    }

    /// A test delivery, answered with what the receiver said.
    pub async fn test(
        &self,
        events: &super::events::EventService,
        endpoint: &Endpoint,
        request: TestDelivery,
    ) -> ServiceResult<TestResult> {
        let data = request
            .data
            .unwrap_or_else(|| super::catalog::sample(&request.event_type));
        let event = events
            .store_only(&endpoint.tenant_id, &request.event_type, data, "test")
            .await?;
        let job = DeliveryJob::for_event(&event, &endpoint.id);
        let log = self.send_now(endpoint, &job).await?;
        Ok(TestResult {
            success: log.success,
            status_code: log.status_code,
            response_time_ms: log.response_time_ms,
            response_body: log.response_body,
            error: log.error,
            event_id: event.id,
            log_id: log.id,
        })
    }

    /// A test delivery: sent now whatever the endpoint's state, logged and counted, never
    /// retried; it waits at most [`MAX_TEST_WAIT`].
    pub async fn send_now(
        &self,
        endpoint: &Endpoint,
        job: &DeliveryJob,
    ) -> ServiceResult<AttemptLog> {
        let n8n = self.n8n_instances(std::iter::once(endpoint)).await?;
        let n8n = n8n.get(&endpoint.tenant_id);
        Ok(self.call_now(endpoint, job, n8n, MAX_LOGGED_BODY).await?.0)
    }

    /// Sends now, logged and counted like any attempt but never retried, waiting at most
    /// [`MAX_TEST_WAIT`]; returns the log entry and the answer with up to `max_body` bytes
    /// of its body (the log keeps [`MAX_LOGGED_BODY`]).
    pub async fn call_now(
        &self,
        endpoint: &Endpoint,
        job: &DeliveryJob,
        n8n: Option<&N8nInstance>,
        max_body: usize,
    ) -> ServiceResult<(AttemptLog, SendResult)> {
        let data = match &job.data {
            Some(data) => data.clone(),
            None => {
                self.events
                    .get(&endpoint.tenant_id, &job.event_id)
                    .await?
                    .data
            }
        };
        let sent = self
            .send(
                endpoint,
                job,
                &data,
                1,
                n8n,
                call_timeout(endpoint),
                max_body,
            )
            .await?;
        let answer = sent.result.clone();
        let once = Endpoint {
            retry_attempts: 0,
            ..endpoint.clone()
        };
        let attempted = decide(&once, job, 1, sent);
        self.log.put_all(&[&attempted.log]).await?;
        self.settle(&once, &[&attempted]).await?;
        Ok((attempted.log, answer))
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
            if let Some(queue) = &self.alerts {
                let disabled = crate::alerts::Disabled {
                    endpoint_id: endpoint.id.clone(),
                    reason: reason.to_string(),
                    consecutive_failures: consecutive,
                    disabled_at: crate::time::now_rfc3339(),
                };
                // The endpoint is disabled either way; an alert that cannot be queued is
                // logged rather than failing the delivery that was recorded.
                if let Err(e) = queue
                    .enqueue(&[disabled.job(&endpoint.tenant_id)], Duration::ZERO)
                    .await
                {
                    tracing::error!(endpoint_id = %endpoint.id, error = %e, "failure alert not queued");
                }
            }
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

fn event_gone() -> Outcome {
    Outcome::Missing("the event is no longer stored".into())
}

fn missing() -> Outcome {
    Outcome::Missing("endpoint deleted or disabled".into())
}

/// The attempt's log entry and what comes next: a retry after a backoff, or not.
fn decide(endpoint: &Endpoint, job: &DeliveryJob, attempt: u32, sent: Sent) -> Attempted {
    let Sent {
        url,
        result,
        request_headers,
    } = sent;
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
        response_body: result.body.map(|b| within(b, MAX_LOGGED_BODY)),
        error,
        will_retry: may_retry,
        next_attempt_at: wait.map(|w| {
            crate::time::rfc3339(
                chrono::Utc::now() + chrono::Duration::from_std(w).unwrap_or_default(),
            )
        }),
        url,
        created_at: crate::time::now_rfc3339(),
        request_headers,
        response_headers: result.headers,
    };
    Attempted { log, next, gone }
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn within(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// A delivery dropped (its endpoint disabled, its tenant suspended), logged with the reason
/// so that recovery finds it.
pub(crate) fn not_sent(
    endpoint: &Endpoint,
    job: &DeliveryJob,
    attempt: u32,
    reason: &str,
) -> AttemptLog {
    let never = Endpoint {
        retry_attempts: 0,
        ..endpoint.clone()
    };
    decide(&never, job, attempt, Sent::refused(&endpoint.url, reason)).log
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
    fn a_waiting_call_ends_within_api_gateways_limit() {
        let with_timeout = |timeout_ms: i64| -> Endpoint {
            serde_json::from_value(serde_json::json!({
                "id": "wf_1", "tenantId": "ten_1", "name": "orders", "url": "/webhook/orders",
                "events": [], "isActive": true, "retryAttempts": 0, "retryDelay": 1,
                "timeoutMs": timeout_ms, "secrets": [], "createdAt": "", "updatedAt": ""
            }))
            .unwrap()
        };
        assert_eq!(call_timeout(&with_timeout(30_000)), MAX_TEST_WAIT);
        assert_eq!(
            call_timeout(&with_timeout(5_000)),
            Duration::from_secs(5),
            "a shorter timeout of the workflow's own stands"
        );
    }

    #[test]
    fn retry_rules() {
        let r = |status: Option<u16>| SendResult {
            status,
            elapsed_ms: 1,
            headers: BTreeMap::new(),
            body: None,
            truncated: false,
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
