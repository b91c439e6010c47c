//! Tenant endpoints (`/api/v1/webhooks`): where events are delivered, which ones, and how.

use crate::integrations::IntegrationService;
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::catalog;
use super::subscriptions::{Subscription, SubscriptionIndex};
use super::target::{check_registration, TargetError, TargetPolicy};
use crate::crypto::{EnvelopeCipher, SecretContext};
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{self, new_id, IdKind};
use crate::masking::mask;
use crate::quotas::{Quota, Quotas};
use crate::signing::standard_webhooks::SigningSecret;
use crate::store::{from_item, keys, to_item, Index, Key, Query, Table};
use crate::validation::Fields;

pub const DEFAULT_RETRY_ATTEMPTS: i64 = 3;
/// hookhub's own limit; a tenant's quota may lower it.
pub const MAX_RETRY_ATTEMPTS: i64 = 10;
pub const DEFAULT_RETRY_DELAY_SECS: i64 = 1;
pub const DEFAULT_TIMEOUT_MS: i64 = 30_000;
/// The longest an endpoint may take to answer. The worker's Lambda timeout in `template.yaml`
/// leaves room for a whole batch of sends this slow and the writes after them (checked by
/// `functions/delivery-worker/tests/it/template_limits.rs`).
pub const MAX_TIMEOUT_MS: i64 = 30_000;
pub const DEFAULT_GRACE_HOURS: i64 = 24;
/// Secrets that sign at once, the newest included: each adds a signature to every delivery's
/// header and a decrypt to the worker's first use, so rotating again and again within a
/// grace period retires the oldest instead of growing without bound.
pub const MAX_LIVE_SECRETS: usize = 5;
const SECRET_FIELD: &str = "endpointSigningSecret";
const TOKEN_FIELD: &str = "workflowAuthToken";
/// Custom header values share one context, so a tenant's headers cost one data key.
const HEADER_FIELD: &str = "endpointHeader";

/// Headers an endpoint's custom headers may not set: the ones hookhub signs or owns.
const RESERVED_HEADERS: &[&str] = &[
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "x-webhook-signature",
    "x-webhook-event",
    "user-agent",
    "content-type",
    "content-length",
    "host",
    "authorization",
    "transfer-encoding",
    "connection",
];

/// A signing secret as stored: sealed, with its mask, and an expiry once rotated out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSecret {
    pub sealed: String,
    pub mask: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// A custom header's value, sealed, with the mask the API shows for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedHeader {
    pub sealed: String,
    pub mask: String,
}

impl StoredSecret {
    pub fn is_live(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.expires_at
            .as_deref()
            .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
            .is_none_or(|e| e > now)
    }
}

/// Tenant endpoints (`/api/v1/webhooks`) and n8n workflow webhooks (platform
/// admins) are delivered to by the same engine; they differ in who manages them and in a
/// workflow's unique name and optional bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    Endpoint,
    Workflow,
}

impl EndpointKind {
    pub fn of_id(id: &str) -> Self {
        if id.starts_with("wf_") {
            Self::Workflow
        } else {
            Self::Endpoint
        }
    }

    fn id_kind(self) -> IdKind {
        match self {
            Self::Endpoint => IdKind::Endpoint,
            Self::Workflow => IdKind::Workflow,
        }
    }

    fn sort_prefix(self) -> &'static str {
        match self {
            Self::Endpoint => keys::ENDPOINT_PREFIX,
            Self::Workflow => keys::WORKFLOW_PREFIX,
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Self::Endpoint => "webhook",
            Self::Workflow => "workflow webhook",
        }
    }

    /// Request field names: a workflow's name and URL are called differently.
    fn name_field(self) -> &'static str {
        match self {
            Self::Endpoint => "name",
            Self::Workflow => "workflowName",
        }
    }

    fn url_field(self) -> &'static str {
        match self {
            Self::Endpoint => "url",
            Self::Workflow => "webhookUrl",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub is_active: bool,
    pub retry_attempts: i64,
    /// Seconds before the first retry; each further retry doubles it.
    pub retry_delay: i64,
    pub timeout_ms: i64,
    /// Custom headers stored before values were sealed, in clear; the next change of the
    /// endpoint's headers seals them.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Custom headers sent with every delivery: receivers' credentials go there
    /// (`x-api-key`…), so values are sealed like secrets and shown masked.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub sealed_headers: std::collections::BTreeMap<String, SealedHeader>,
    /// Newest first; during a rotation the previous one keeps signing until it expires.
    pub secrets: Vec<StoredSecret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// Workflows: sent as `Authorization: Bearer`, sealed like the signing secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<StoredSecret>,
    pub created_at: String,
    pub updated_at: String,
}

/// What endpoints and workflow webhooks share as the API shows them: how deliveries are
/// made, and their secrets and header values masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DeliveryTargetView {
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<catalog::openapi::EventPattern>))]
    pub events: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub description: Option<String>,
    pub is_active: bool,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10))]
    pub retry_attempts: i64,
    /// seconds before the first retry; doubles each retry
    pub retry_delay: i64,
    pub timeout_ms: i64,
    /// custom headers sent with every delivery; values sealed and shown masked
    pub headers: std::collections::BTreeMap<String, String>,
    /// the secrets signing deliveries, newest first: during a rotation the previous one
    /// signs too until it expires
    pub secrets: Vec<SecretView>,
    /// why hookhub disabled it (ten consecutive failures, or a 410)
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub disabled_reason: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
}

/// An endpoint as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Endpoint))]
pub struct EndpointView {
    #[cfg_attr(feature = "openapi", schema(pattern = "^wh_[0-9A-Z]{26}$"))]
    pub id: String,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(format = "uri"))]
    pub url: String,
    #[serde(flatten)]
    pub target: DeliveryTargetView,
}

/// An n8n workflow webhook as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Workflow))]
#[serde(rename_all = "camelCase")]
pub struct WorkflowView {
    #[cfg_attr(feature = "openapi", schema(pattern = "^wf_[0-9A-Z]{26}$"))]
    pub id: String,
    pub workflow_name: String,
    /// an absolute https URL, or a path (/webhook/…) on the tenant's n8n baseUrl
    pub webhook_url: String,
    /// sent as Authorization: Bearer; masked
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub auth_token: Option<String>,
    #[serde(flatten)]
    pub target: DeliveryTargetView,
}

/// A workflow webhook as created, with the signing secret its owner sees this once.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = WorkflowWithSecret))]
pub struct WorkflowWithSecretView {
    #[serde(flatten)]
    pub workflow: WorkflowView,
    /// shown once
    #[cfg_attr(feature = "openapi", schema(pattern = "^whsec_"))]
    pub secret: String,
}

/// A signing secret, masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = EndpointSecret))]
#[serde(rename_all = "camelCase")]
pub struct SecretView {
    /// masked
    pub secret: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// set once rotated out: it stops signing then
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub expires_at: Option<String>,
}

/// An endpoint as created or rotated, with the signing secret its owner sees this once.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = EndpointWithSecret))]
pub struct EndpointWithSecretView {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    /// shown once
    #[cfg_attr(feature = "openapi", schema(pattern = "^whsec_"))]
    pub secret: String,
}

impl WithSecret {
    pub fn view(&self) -> EndpointWithSecretView {
        EndpointWithSecretView {
            endpoint: self.endpoint.view(),
            secret: self.secret.clone(),
        }
    }

    pub fn workflow_view(&self) -> WorkflowWithSecretView {
        WorkflowWithSecretView {
            workflow: self.endpoint.workflow_view(),
            secret: self.secret.clone(),
        }
    }
}

/// An endpoint with its delivery counters, and its recent attempts when asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = EndpointDetail))]
#[serde(rename_all = "camelCase")]
pub struct EndpointDetailView {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    pub stats: super::logs::StatsView,
    /// with ?include=recentDeliveries: the last 50 attempts, newest first
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, max_items = 50))]
    pub recent_deliveries: Option<Vec<super::logs::AttemptView>>,
}

/// An endpoint's counters, its state, and its last 24 hours hour by hour.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = EndpointStats))]
#[serde(rename_all = "camelCase")]
pub struct EndpointStatsView {
    #[serde(flatten)]
    pub stats: super::logs::StatsView,
    pub webhook_id: String,
    pub is_active: bool,
    pub disabled_reason: Option<String>,
    /// the hours of the last 24 with attempts, oldest first
    #[serde(rename = "last24Hours")]
    pub last_24_hours: Vec<super::logs::HourCounters>,
}

impl Endpoint {
    /// How long a send waits for the receiver: `timeoutMs`, within the limits the API
    /// enforces (an item written otherwise still gets a sane wait).
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.timeout_ms.clamp(1000, MAX_TIMEOUT_MS) as u64)
    }

    /// What endpoints and workflows show alike: secrets as masks only.
    fn target_view(&self) -> DeliveryTargetView {
        let now = chrono::Utc::now();
        DeliveryTargetView {
            events: self.events.clone(),
            description: self.description.clone(),
            is_active: self.is_active,
            retry_attempts: self.retry_attempts,
            retry_delay: self.retry_delay,
            timeout_ms: self.timeout_ms,
            headers: self.masked_headers(),
            secrets: self
                .secrets
                .iter()
                .filter(|s| s.is_live(now))
                .map(|s| SecretView {
                    secret: s.mask.clone(),
                    created_at: s.created_at.clone(),
                    expires_at: s.expires_at.clone(),
                })
                .collect(),
            disabled_reason: self.disabled_reason.clone(),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
        }
    }

    /// An endpoint as the endpoint routes show it.
    pub fn view(&self) -> EndpointView {
        EndpointView {
            id: self.id.clone(),
            name: self.name.clone(),
            url: self.url.clone(),
            target: self.target_view(),
        }
    }

    /// A workflow webhook as the workflow routes show it.
    pub fn workflow_view(&self) -> WorkflowView {
        WorkflowView {
            id: self.id.clone(),
            workflow_name: self.name.clone(),
            webhook_url: self.url.clone(),
            auth_token: self.auth_token.as_ref().map(|t| t.mask.clone()),
            target: self.target_view(),
        }
    }

    /// Every custom header with its value masked.
    pub fn masked_headers(&self) -> std::collections::BTreeMap<String, String> {
        self.headers
            .iter()
            .map(|(name, value)| (name.clone(), mask(value)))
            .chain(
                self.sealed_headers
                    .iter()
                    .map(|(name, sealed)| (name.clone(), sealed.mask.clone())),
            )
            .collect()
    }

    pub fn subscribes_to(&self, event_type: &str) -> bool {
        catalog::subscribed(&self.events, event_type)
    }
}

fn secret_context(tenant_id: &str) -> ServiceResult<SecretContext> {
    Ok(SecretContext::new(tenant_id, SECRET_FIELD)?)
}

fn target_message(e: TargetError) -> String {
    match e {
        TargetError::Private(_) => {
            "must not point at a private, loopback, link-local or metadata address".into()
        }
        other => other.to_string(),
    }
}

/// The limits `read_input` applies, which the request schemas state.
const MAX_NEW_NAME: usize = 100;
const MAX_NAME: usize = 200;
const MAX_URL: usize = 2048;
const MAX_EVENTS: usize = 100;
const MAX_DESCRIPTION: usize = 500;
const RETRY_DELAY_SECS: (i64, i64) = (1, 3600);
const MIN_TIMEOUT_MS: i64 = 1000;
const MAX_HEADERS: usize = 20;
const MAX_HEADER_VALUE: usize = 1024;
const MAX_AUTH_TOKEN: usize = 4096;

/// The fields shared by create and update; `None` where the input left a field out.
#[derive(Default)]
struct EndpointInput {
    name: Option<String>,
    url: Option<String>,
    events: Option<Vec<String>>,
    description: Option<Option<String>>,
    is_active: Option<bool>,
    retry_attempts: Option<i64>,
    retry_delay: Option<i64>,
    timeout_ms: Option<i64>,
    headers: Option<std::collections::BTreeMap<String, String>>,
}

async fn read_input(
    f: &mut Fields,
    policy: TargetPolicy,
    creating: bool,
    kind: EndpointKind,
) -> EndpointInput {
    let name_field = kind.name_field();
    let url_field = kind.url_field();
    f.alias("active", "isActive");
    let mut input = EndpointInput::default();
    if creating {
        input.name = f.required_string(name_field, MAX_NEW_NAME);
    } else if kind == EndpointKind::Endpoint && f.present(name_field) {
        input.name = f.required_string(name_field, MAX_NAME);
    } else if f.present(name_field) {
        f.error(
            name_field,
            "cannot be changed; delete and recreate the workflow webhook",
        );
    }
    if let (EndpointKind::Workflow, Some(name)) = (kind, &input.name) {
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        {
            f.error(name_field, "may contain letters, digits, _, - and . only");
        }
    }
    if creating || f.present(url_field) {
        if let Some(url) = f.required_string(url_field, MAX_URL) {
            if kind == EndpointKind::Workflow && super::n8n::is_path(&url) {
                match super::n8n::check_path(&url) {
                    Ok(()) => input.url = Some(url),
                    Err(e) => f.error(url_field, e),
                }
            } else {
                match check_registration(&url, policy).await {
                    Ok(_) => input.url = Some(url),
                    Err(e) => f.error(url_field, target_message(e)),
                }
            }
        }
    }
    if creating && kind == EndpointKind::Endpoint && !f.present("events") {
        f.error(
            "events",
            "is required: event types, prefix.* patterns, or *",
        );
    }
    if let Some(events) = f.string_list("events", MAX_EVENTS, 100) {
        let events: Vec<String> = events
            .iter()
            .map(|e| catalog::canonical(e).to_string())
            .collect();
        let mut ok = true;
        for (i, e) in events.iter().enumerate() {
            if !catalog::is_valid_pattern(e) {
                f.error(
                    &format!("events[{i}]"),
                    format!("unknown event type {e:?}; see GET /api/v1/webhooks/events"),
                );
                ok = false;
            }
        }
        if events.is_empty() && kind == EndpointKind::Endpoint {
            f.error("events", "must name at least one event type");
            ok = false;
        }
        if ok {
            let mut events = events;
            events.sort();
            events.dedup();
            input.events = Some(events);
        }
    }
    if f.present("description") {
        input.description = Some(
            f.string("description", MAX_DESCRIPTION)
                .filter(|d| !d.is_empty()),
        );
    }
    input.is_active = f.bool("isActive");
    input.retry_attempts = f.integer("retryAttempts", 0, MAX_RETRY_ATTEMPTS);
    input.retry_delay = f.integer("retryDelay", RETRY_DELAY_SECS.0, RETRY_DELAY_SECS.1);
    input.timeout_ms = f.integer("timeoutMs", MIN_TIMEOUT_MS, MAX_TIMEOUT_MS);
    if let Some(headers) = f.string_map("headers", MAX_HEADERS, MAX_HEADER_VALUE) {
        let mut out = std::collections::BTreeMap::new();
        for (name, value) in headers {
            let lower = name.to_ascii_lowercase();
            if RESERVED_HEADERS.contains(&lower.as_str()) || lower.starts_with("webhook-") {
                f.error(
                    &format!("headers.{name}"),
                    "is set by hookhub and cannot be overridden",
                );
            } else if http::HeaderName::from_bytes(lower.as_bytes()).is_err()
                || http::HeaderValue::from_str(&value).is_err()
            {
                f.error(&format!("headers.{name}"), "is not a valid HTTP header");
            } else {
                out.insert(lower, value);
            }
        }
        input.headers = Some(out);
    }
    input
}

#[derive(Clone)]
pub struct EndpointService {
    table: Table,
    cipher: std::sync::Arc<EnvelopeCipher>,
    policy: TargetPolicy,
    kind: EndpointKind,
    subscriptions: SubscriptionIndex,
    quota_defaults: Quotas,
}

/// A signing secret given in a request: `whsec_` and a key; blank or absent generates one.
fn read_secret(f: &mut Fields) -> Option<SigningSecret> {
    let raw = f.string("secret", 200).filter(|s| !s.is_empty())?;
    match SigningSecret::parse(&raw) {
        Ok(s) => Some(s),
        Err(e) => {
            f.error("secret", e.to_string());
            None
        }
    }
}

/// `POST .../rotate-secret`, validated: the new secret, and how long the old ones still sign.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Rotate))]
#[cfg_attr(
    feature = "openapi",
    serde(rename_all = "camelCase", deny_unknown_fields)
)]
pub struct Rotation {
    /// whsec_ and the base64 of a 24 to 64 byte key; null, blank or absent generates one
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, pattern = "^(whsec_.*|\\s*)$")
    )]
    pub secret: Option<SigningSecret>,
    /// how long the secrets rotated out keep signing beside the new one
    #[cfg_attr(feature = "openapi", serde(rename = "gracePeriodHours"))]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 0, maximum = 168, required = false)
    )]
    pub grace_hours: i64,
}

impl Rotation {
    /// The body, if any: every field may be left out.
    pub fn read(body: Option<Fields>) -> Result<Self, crate::validation::InputError> {
        let mut f = body.unwrap_or_else(|| Fields::new(Default::default()));
        let secret = read_secret(&mut f);
        let grace_hours = f
            .integer("gracePeriodHours", 0, 168)
            .unwrap_or(DEFAULT_GRACE_HOURS);
        f.finish()?;
        Ok(Self {
            secret,
            grace_hours,
        })
    }
}

/// An endpoint as created or rotated, with the secret its owner sees once.
pub struct WithSecret {
    pub endpoint: Endpoint,
    pub secret: String,
}

impl EndpointService {
    pub fn new(table: Table, cipher: std::sync::Arc<EnvelopeCipher>, policy: TargetPolicy) -> Self {
        Self {
            subscriptions: SubscriptionIndex::new(table.clone()),
            table,
            cipher,
            policy,
            kind: EndpointKind::Endpoint,
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

    /// The quotas in force for the tenant.
    async fn quotas(&self, tenant_id: &str) -> ServiceResult<Quotas> {
        let tenant: Option<crate::tenants::Tenant> =
            self.table.get_record(&keys::tenant(tenant_id)).await?;
        Ok(match tenant {
            Some(t) => self.quota_defaults.with(&t.quota_overrides),
            None => self.quota_defaults,
        })
    }

    fn check_retry_quota(quotas: &Quotas, retry_attempts: Option<i64>) -> ServiceResult<()> {
        let limit = quotas.max_retry_attempts;
        match retry_attempts {
            Some(n) if n > i64::from(limit) => Err(crate::quotas::exceeded(
                Quota::MaxRetryAttempts,
                limit,
                format!("retryAttempts is {n}, and this tenant's endpoints may retry at most {limit} times (quota maxRetryAttempts)"),
            )),
            _ => Ok(()),
        }
    }

    /// The same service for the other kind of delivery target.
    pub fn with_kind(&self, kind: EndpointKind) -> Self {
        Self {
            kind,
            ..self.clone()
        }
    }

    /// Seals the custom headers given; a value equal to the stored one's mask keeps it
    /// (as a blank secret does), so a client can send back what it was shown.
    async fn seal_headers(
        &self,
        tenant_id: &str,
        given: std::collections::BTreeMap<String, String>,
        current: Option<&Endpoint>,
    ) -> ServiceResult<std::collections::BTreeMap<String, SealedHeader>> {
        let context = SecretContext::new(tenant_id, HEADER_FIELD)?;
        let mut sealed = std::collections::BTreeMap::new();
        for (name, value) in given {
            let kept = current
                .and_then(|c| c.sealed_headers.get(&name))
                .filter(|stored| stored.mask == value);
            let header = match kept {
                Some(stored) => stored.clone(),
                None => SealedHeader {
                    sealed: self.cipher.seal(&context, &value).await?,
                    mask: mask(&value),
                },
            };
            sealed.insert(name, header);
        }
        Ok(sealed)
    }

    /// An endpoint's custom headers, opened for a delivery. Never for API responses.
    pub async fn custom_headers(
        &self,
        endpoint: &Endpoint,
    ) -> ServiceResult<Vec<(String, zeroize::Zeroizing<String>)>> {
        let mut out: Vec<(String, zeroize::Zeroizing<String>)> = endpoint
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), zeroize::Zeroizing::new(value.clone())))
            .collect();
        if !endpoint.sealed_headers.is_empty() {
            let context = SecretContext::new(&endpoint.tenant_id, HEADER_FIELD)?;
            for (name, header) in &endpoint.sealed_headers {
                out.push((
                    name.clone(),
                    self.cipher.open(&context, &header.sealed).await?,
                ));
            }
        }
        Ok(out)
    }

    fn read_token(f: &mut Fields) -> Option<String> {
        f.string("authToken", MAX_AUTH_TOKEN)
            .filter(|t| !t.is_empty())
    }

    async fn seal_token(&self, tenant_id: &str, token: &str) -> ServiceResult<StoredSecret> {
        Ok(StoredSecret {
            sealed: self
                .cipher
                .seal(&SecretContext::new(tenant_id, TOKEN_FIELD)?, token)
                .await?,
            mask: mask(token),
            created_at: crate::time::now_rfc3339(),
            expires_at: None,
        })
    }

    /// A workflow's bearer token, opened for a call.
    pub async fn auth_token(
        &self,
        endpoint: &Endpoint,
    ) -> ServiceResult<Option<zeroize::Zeroizing<String>>> {
        match &endpoint.auth_token {
            Some(t) => Ok(Some(
                self.cipher
                    .open(
                        &SecretContext::new(&endpoint.tenant_id, TOKEN_FIELD)?,
                        &t.sealed,
                    )
                    .await?,
            )),
            None => Ok(None),
        }
    }

    /// A workflow by its unique name.
    pub async fn by_name(&self, tenant_id: &str, name: &str) -> ServiceResult<Endpoint> {
        let claim = self
            .table
            .get(&keys::workflow_name(tenant_id, name))
            .await?
            .ok_or(ServiceError::NotFound("workflow webhook"))?;
        let id = claim
            .get("workflowId")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or_else(|| {
                ServiceError::Store(crate::store::StoreError::Corrupt(
                    "workflow name claim without id".into(),
                ))
            })?;
        self.with_kind(EndpointKind::Workflow)
            .get(tenant_id, &id)
            .await
    }

    async fn seal(&self, tenant_id: &str, secret: &SigningSecret) -> ServiceResult<StoredSecret> {
        Ok(StoredSecret {
            sealed: self
                .cipher
                .seal(&secret_context(tenant_id)?, secret.expose())
                .await?,
            mask: mask(secret.expose()),
            created_at: crate::time::now_rfc3339(),
            expires_at: None,
        })
    }

    /// A workflow URL given as a path needs the tenant's n8n base URL to go anywhere.
    async fn check_path_has_base(
        &self,
        tenant_id: &str,
        input: &EndpointInput,
        f: &mut Fields,
    ) -> ServiceResult<()> {
        let Some(url) = input.url.as_deref() else {
            return Ok(());
        };
        if self.kind != EndpointKind::Workflow || !super::n8n::is_path(url) {
            return Ok(());
        }
        let integrations = IntegrationService::new(self.table.clone(), self.cipher.clone());
        if !super::n8n::has_base_url(&integrations, tenant_id).await? {
            f.error(
                self.kind.url_field(),
                "is a path, and the tenant's n8n integration has no baseUrl (or is disabled): set it first with PUT /api/platform/tenants/{tenantId}/integrations/n8n",
            );
        }
        Ok(())
    }

    pub async fn create(&self, tenant_id: &str, mut f: Fields) -> ServiceResult<WithSecret> {
        let input = read_input(&mut f, self.policy, true, self.kind).await;
        self.check_path_has_base(tenant_id, &input, &mut f).await?;
        let given = read_secret(&mut f);
        let token = match self.kind {
            EndpointKind::Workflow => Self::read_token(&mut f),
            EndpointKind::Endpoint => None,
        };
        f.finish()?;
        let quotas = self.quotas(tenant_id).await?;
        Self::check_retry_quota(&quotas, input.retry_attempts)?;
        let limit = match self.kind {
            EndpointKind::Endpoint => quotas.max_endpoints,
            EndpointKind::Workflow => quotas.max_workflows,
        };
        let auth_token = match &token {
            Some(t) => Some(self.seal_token(tenant_id, t).await?),
            None => None,
        };
        let secret = given.unwrap_or_else(SigningSecret::generate);
        let now = crate::time::now_rfc3339();
        let endpoint = Endpoint {
            id: new_id(self.kind.id_kind()),
            tenant_id: tenant_id.into(),
            name: input.name.expect("validated"),
            url: input.url.expect("validated"),
            events: input.events.unwrap_or_default(),
            description: input.description.flatten(),
            is_active: input.is_active.unwrap_or(true),
            retry_attempts: input
                .retry_attempts
                .unwrap_or(DEFAULT_RETRY_ATTEMPTS.min(i64::from(quotas.max_retry_attempts))),
            retry_delay: input.retry_delay.unwrap_or(DEFAULT_RETRY_DELAY_SECS),
            timeout_ms: input.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS),
            headers: Default::default(),
            sealed_headers: self
                .seal_headers(tenant_id, input.headers.unwrap_or_default(), None)
                .await?,
            secrets: vec![self.seal(tenant_id, &secret).await?],
            disabled_reason: None,
            auth_token,
            created_at: now.clone(),
            updated_at: now,
        };
        // Built (and the index's room checked) before the name is claimed.
        let write = self.table.transaction().put_new(to_item(
            &keys::endpoint(tenant_id, &endpoint.id),
            &endpoint,
        )?);
        let unindexed = async { Ok(self.all(tenant_id).await?.len()) };
        let write = self
            .subscriptions
            .with_new_line(write, &endpoint, limit, unindexed)
            .await?;
        if self.kind == EndpointKind::Workflow {
            let claim = keys::workflow_name(tenant_id, &endpoint.name);
            let mut item = crate::store::Item::new();
            item.insert(
                keys::PK.into(),
                aws_sdk_dynamodb::types::AttributeValue::S(claim.pk),
            );
            item.insert(
                keys::SK.into(),
                aws_sdk_dynamodb::types::AttributeValue::S(claim.sk),
            );
            item.insert(
                "workflowId".into(),
                aws_sdk_dynamodb::types::AttributeValue::S(endpoint.id.clone()),
            );
            self.table.put_new(item).await.map_err(|e| match e {
                crate::store::StoreError::Conflict(_) => ServiceError::Conflict(format!(
                    "a workflow webhook named {:?} already exists",
                    endpoint.name
                )),
                other => other.into(),
            })?;
        }
        if let Err(e) = write.commit().await {
            if self.kind == EndpointKind::Workflow {
                // The name goes back to whoever comes next.
                let _ = self
                    .table
                    .delete(&keys::workflow_name(tenant_id, &endpoint.name))
                    .await;
            }
            // Refused by the count's condition: endpoints made at the same moment took the
            // last places.
            if matches!(e, crate::store::StoreError::Conflict(_))
                && self
                    .subscriptions
                    .is_full(tenant_id, self.kind, limit)
                    .await?
            {
                return Err(super::subscriptions::too_many(self.kind, limit));
            }
            return Err(e.into());
        }
        Ok(WithSecret {
            endpoint,
            secret: secret.expose().to_string(),
        })
    }

    pub async fn get(&self, tenant_id: &str, endpoint_id: &str) -> ServiceResult<Endpoint> {
        if !ids::is_valid(self.kind.id_kind(), endpoint_id) {
            return Err(ServiceError::NotFound(self.kind.noun()));
        }
        let item = self
            .table
            .get(&keys::endpoint(tenant_id, endpoint_id))
            .await?
            .ok_or(ServiceError::NotFound(self.kind.noun()))?;
        Ok(from_item(item)?)
    }

    /// Endpoints and workflows of any tenants at once, by (tenant, id), in consistent batch
    /// reads that also fetch their tenants: the ids of those that are suspended come back
    /// too, for one more read unit per tenant and no more calls. An id that is malformed or
    /// not stored is absent from the answer.
    pub async fn get_many(
        &self,
        wanted: &[(String, String)],
    ) -> ServiceResult<(HashMap<(String, String), Endpoint>, HashSet<String>)> {
        let mut seen = HashSet::new();
        let mut tenants = HashSet::new();
        let mut keys: Vec<Key> = Vec::new();
        for (tenant, id) in wanted {
            if !ids::is_valid(EndpointKind::of_id(id).id_kind(), id) {
                continue;
            }
            if tenants.insert(tenant.clone()) {
                keys.push(keys::tenant(tenant));
            }
            if seen.insert((tenant, id)) {
                keys.push(keys::endpoint(tenant, id));
            }
        }
        let mut found: HashMap<(String, String), Endpoint> = HashMap::new();
        let mut suspended = HashSet::new();
        let mut retry_caps: HashMap<String, i64> = HashMap::new();
        for chunk in keys.chunks(100) {
            for item in self.table.batch_get(chunk).await? {
                let is_tenant = item
                    .get(keys::SK)
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|sk| sk == &keys::tenant("").sk);
                if is_tenant {
                    let id = item
                        .get(keys::PK)
                        .and_then(|v| v.as_s().ok())
                        .and_then(|pk| pk.strip_prefix("T#"));
                    let Some(id) = id else { continue };
                    if crate::tenants::is_suspended_item(&item) {
                        suspended.insert(id.to_string());
                    }
                    let overrides =
                        crate::quotas::QuotaOverrides::from_attribute(item.get("quotaOverrides"));
                    let cap = self.quota_defaults.with(&overrides).max_retry_attempts;
                    retry_caps.insert(id.to_string(), i64::from(cap));
                } else {
                    let endpoint: Endpoint = from_item(item)?;
                    found.insert((endpoint.tenant_id.clone(), endpoint.id.clone()), endpoint);
                }
            }
        }
        // A quota lowered after an endpoint was made holds for its next deliveries too.
        for ((tenant, _), endpoint) in found.iter_mut() {
            if let Some(cap) = retry_caps.get(tenant) {
                endpoint.retry_attempts = endpoint.retry_attempts.min(*cap);
            }
        }
        Ok((found, suspended))
    }

    /// One page of the tenant's endpoints, newest first.
    pub async fn list(
        &self,
        tenant_id: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<Endpoint>, Option<String>)> {
        Ok(self
            .table
            .query_records::<Endpoint>(
                Query::new(Index::Primary, keys::tenant_partition(tenant_id))
                    .prefix(self.kind.sort_prefix())
                    .newest_first()
                    .page(limit, cursor),
            )
            .await?)
    }

    /// Every endpoint of the tenant (fan-out, analytics).
    pub async fn all(&self, tenant_id: &str) -> ServiceResult<Vec<Endpoint>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (mut page, next) = self.list(tenant_id, Some(1000), cursor.as_deref()).await?;
            out.append(&mut page);
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// Writes `next` if `current` is still what is stored; the subscription index changes in
    /// the same transaction when the filters or the active flag do.
    async fn replace(&self, current: &Endpoint, mut next: Endpoint) -> ServiceResult<Endpoint> {
        next.updated_at = crate::time::next_version(&current.updated_at);
        let item = to_item(&keys::endpoint(&next.tenant_id, &next.id), &next)?;
        if Subscription::of(current) == Subscription::of(&next) {
            self.table
                .put_if(item, "updatedAt", &current.updated_at)
                .await?;
        } else {
            let write = self
                .table
                .transaction()
                .put_if(item, "updatedAt", &current.updated_at);
            self.subscriptions
                .with_line(write, &next)
                .await?
                .commit()
                .await?;
        }
        Ok(next)
    }

    /// PATCH: re-enabling an endpoint clears its consecutive-failure count.
    pub async fn update(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        mut f: Fields,
    ) -> ServiceResult<(Endpoint, bool)> {
        let current = self.get(tenant_id, endpoint_id).await?;
        let input = read_input(&mut f, self.policy, false, self.kind).await;
        self.check_path_has_base(tenant_id, &input, &mut f).await?;
        // A blank token keeps the stored one, as with every secret.
        let token = match self.kind {
            EndpointKind::Workflow => Self::read_token(&mut f),
            EndpointKind::Endpoint => None,
        };
        f.finish()?;
        if input.retry_attempts.is_some() {
            Self::check_retry_quota(&self.quotas(tenant_id).await?, input.retry_attempts)?;
        }
        let mut next = current.clone();
        if let Some(t) = token {
            next.auth_token = Some(self.seal_token(tenant_id, &t).await?);
        }
        if let Some(v) = input.name {
            next.name = v;
        }
        if let Some(v) = input.url {
            next.url = v;
        }
        if let Some(v) = input.events {
            next.events = v;
        }
        if let Some(v) = input.description {
            next.description = v;
        }
        if let Some(v) = input.retry_attempts {
            next.retry_attempts = v;
        }
        if let Some(v) = input.retry_delay {
            next.retry_delay = v;
        }
        if let Some(v) = input.timeout_ms {
            next.timeout_ms = v;
        }
        if let Some(v) = input.headers {
            next.sealed_headers = self.seal_headers(tenant_id, v, Some(&current)).await?;
            next.headers.clear();
        }
        let reenabled = input.is_active == Some(true) && !current.is_active;
        if let Some(v) = input.is_active {
            next.is_active = v;
            if v {
                next.disabled_reason = None;
            }
        }
        Ok((self.replace(&current, next).await?, reenabled))
    }

    pub async fn delete(&self, tenant_id: &str, endpoint_id: &str) -> ServiceResult<()> {
        let endpoint = self.get(tenant_id, endpoint_id).await?;
        let write = self
            .table
            .transaction()
            .delete(&keys::endpoint(tenant_id, endpoint_id));
        self.subscriptions
            .without_line(write, tenant_id, endpoint_id)
            .await?
            .commit()
            .await?;
        if self.kind == EndpointKind::Workflow {
            self.table
                .delete(&keys::workflow_name(tenant_id, &endpoint.name))
                .await?;
        }
        self.table
            .delete_partition(&keys::endpoint_partition(tenant_id, endpoint_id))
            .await?;
        Ok(())
    }

    /// A new secret signs from now on; the previous ones keep signing for the grace period.
    pub async fn rotate(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        request: Rotation,
    ) -> ServiceResult<WithSecret> {
        let current = self.get(tenant_id, endpoint_id).await?;
        let Rotation {
            secret,
            grace_hours,
        } = request;
        let secret = secret.unwrap_or_else(SigningSecret::generate);
        let now = chrono::Utc::now();
        let until = crate::time::rfc3339(now + chrono::Duration::hours(grace_hours));
        let mut next = current.clone();
        next.secrets.retain(|s| s.is_live(now));
        for old in &mut next.secrets {
            let sooner = old
                .expires_at
                .as_deref()
                .is_some_and(|e| e < until.as_str());
            if !sooner {
                old.expires_at = Some(until.clone());
            }
        }
        // Newest first: what falls off the end is the oldest.
        next.secrets.truncate(MAX_LIVE_SECRETS - 1);
        next.secrets.insert(0, self.seal(tenant_id, &secret).await?);
        let endpoint = self.replace(&current, next).await?;
        Ok(WithSecret {
            endpoint,
            secret: secret.expose().to_string(),
        })
    }

    /// Marks an endpoint disabled; `false` when it already was (another worker got there).
    pub async fn disable(&self, endpoint: &Endpoint, reason: &str) -> ServiceResult<bool> {
        let current = self.get(&endpoint.tenant_id, &endpoint.id).await?;
        if !current.is_active {
            return Ok(false);
        }
        let mut next = current.clone();
        next.is_active = false;
        next.disabled_reason = Some(reason.into());
        match self.replace(&current, next).await {
            Ok(_) => Ok(true),
            Err(ServiceError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The live signing secrets, opened for signing; never for responses.
    pub async fn signing_secrets(&self, endpoint: &Endpoint) -> ServiceResult<Vec<SigningSecret>> {
        let now = chrono::Utc::now();
        let context = secret_context(&endpoint.tenant_id)?;
        let mut out = Vec::new();
        for stored in endpoint.secrets.iter().filter(|s| s.is_live(now)) {
            let text = self.cipher.open(&context, &stored.sealed).await?;
            out.push(
                SigningSecret::parse(&text).map_err(|e| {
                    ServiceError::Conflict(format!("stored secret unreadable: {e}"))
                })?,
            );
        }
        Ok(out)
    }
}

/// The request bodies' schemas, from the limits `read_input` applies. One reader serves
/// endpoints and workflow webhooks, whose fields are named apart; these say which each takes.
#[cfg(feature = "openapi")]
pub mod openapi {
    use utoipa::openapi::schema::{
        AdditionalProperties, AnyOfBuilder, ArrayBuilder, ObjectBuilder, SchemaType, Type,
    };
    use utoipa::openapi::{Deprecated, Ref, RefOr, Schema};

    use super::*;

    fn string() -> ObjectBuilder {
        ObjectBuilder::new().schema_type(Type::String)
    }

    fn nullable_string() -> ObjectBuilder {
        ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]))
    }

    fn integer(min: i64, max: i64) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(min as f64))
            .maximum(Some(max as f64))
    }

    fn body(kind: EndpointKind, creating: bool) -> ObjectBuilder {
        let url = string()
            .max_length(Some(MAX_URL))
            .description(Some(match kind {
                EndpointKind::Endpoint => {
                    "https (http only where the deployment allows); no private targets"
                }
                EndpointKind::Workflow => {
                    "an absolute https URL, or a path (/webhook/…) on the tenant's n8n baseUrl"
                }
            }));
        let pattern = AnyOfBuilder::new()
            .item(Ref::from_schema_name("EventPattern"))
            .item(
                string()
                    .enum_values(Some(["message.new"]))
                    .deprecated(Some(Deprecated::True))
                    .description(Some("another spelling of message.received")),
            );
        let mut events = ArrayBuilder::new()
            .items(pattern)
            .max_items(Some(MAX_EVENTS))
            .description(Some("event types, prefix.* or *"));
        if kind == EndpointKind::Endpoint {
            events = events.min_items(Some(1));
        }
        let mut object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        match (kind, creating) {
            (EndpointKind::Endpoint, _) => {
                let max = if creating { MAX_NEW_NAME } else { MAX_NAME };
                object =
                    object.property("name", string().min_length(Some(1)).max_length(Some(max)));
            }
            (EndpointKind::Workflow, true) => {
                object = object.property(
                    "workflowName",
                    string().pattern(Some(format!("^[A-Za-z0-9_.-]{{1,{MAX_NEW_NAME}}}$"))),
                );
            }
            (EndpointKind::Workflow, false) => {}
        }
        object = object
            .property(kind.url_field(), url)
            .property("events", events)
            .property(
                "description",
                nullable_string().max_length(Some(MAX_DESCRIPTION)),
            )
            .property("isActive", ObjectBuilder::new().schema_type(Type::Boolean))
            .property("retryAttempts", integer(0, MAX_RETRY_ATTEMPTS))
            .property(
                "retryDelay",
                integer(RETRY_DELAY_SECS.0, RETRY_DELAY_SECS.1)
                    .description(Some("seconds before the first retry; doubles each retry")),
            )
            .property("timeoutMs", integer(MIN_TIMEOUT_MS, MAX_TIMEOUT_MS))
            .property(
                "headers",
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .max_properties(Some(MAX_HEADERS))
                    .additional_properties(Some(AdditionalProperties::RefOr(
                        string().max_length(Some(MAX_HEADER_VALUE)).into(),
                    )))
                    .description(Some(
                        "custom headers sent with every delivery (receivers' credentials go here): values are sealed and shown masked; sending back a value's mask keeps the stored value",
                    )),
            )
            .property(
                "active",
                ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .deprecated(Some(Deprecated::True))
                    .description(Some("another spelling of isActive; give one of them")),
            );
        if creating {
            object = object.property(
                "secret",
                nullable_string()
                    .pattern(Some("^(whsec_.*|\\s*)$"))
                    .description(Some(
                        "whsec_ and the base64 of a 24 to 64 byte key; null, blank or absent generates one",
                    )),
            );
        }
        if kind == EndpointKind::Workflow {
            object = object.property(
                "authToken",
                nullable_string()
                    .max_length(Some(MAX_AUTH_TOKEN))
                    .description(Some(
                        "sent as Authorization: Bearer; blank keeps the stored token",
                    )),
            );
        }
        if creating {
            object = object
                .required(kind.name_field())
                .required(kind.url_field());
            if kind == EndpointKind::Endpoint {
                object = object.required("events");
            }
        }
        if kind == EndpointKind::Workflow && !creating {
            object = object.description(Some("workflowName is immutable"));
        }
        object
    }

    macro_rules! request_schema {
        ($name:ident, $kind:expr, $creating:expr) => {
            pub struct $name;

            impl utoipa::PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    body($kind, $creating).into()
                }
            }

            impl utoipa::ToSchema for $name {}
        };
    }

    request_schema!(EndpointCreate, EndpointKind::Endpoint, true);
    request_schema!(EndpointUpdate, EndpointKind::Endpoint, false);
    request_schema!(WorkflowCreate, EndpointKind::Workflow, true);
    request_schema!(WorkflowUpdate, EndpointKind::Workflow, false);
}
