//! Failure alerts: when an endpoint or a workflow is disabled for failing, its tenant's
//! contact email is told which one, why, its last errors and how to turn it back on. At most
//! one email per endpoint per day; a tenant setting (`failureAlerts`) turns them off.
//!
//! Disabling happens in the middle of a delivery (in the worker, or in the admin API for a
//! test send): it only enqueues an [`ALERT_JOB`], and the worker sends the email, so a slow
//! or failing mail service delays nothing else and is retried like any job.

pub mod mail;
pub mod ses;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{ServiceError, ServiceResult};
use crate::jobs::{Job, JobError, JobHandler, Outcome};
use crate::store::{keys, to_item, StoreError, Table};
use crate::tenants::TenantService;
use crate::webhooks::endpoint::{Endpoint, EndpointKind, EndpointService};
use crate::webhooks::logs::{AttemptLog, DeliveryLog, LogFilter, LogScope};
pub use mail::{Email, MailError, Mailer};

/// The job that emails a tenant about a disabled endpoint or workflow.
pub const ALERT_JOB: &str = "alert.disabled";

/// How long after one email about an endpoint no other goes out.
const QUIET_PERIOD: Duration = Duration::from_secs(24 * 3600);
/// Errors quoted in the email.
const LAST_ERRORS: usize = 5;
/// Tries at a mail service that is down before the alert is given up.
const MAX_ATTEMPTS: u32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error(transparent)]
    Mail(#[from] MailError),
}

impl From<StoreError> for AlertError {
    fn from(err: StoreError) -> Self {
        Self::Service(err.into())
    }
}

/// What the disabling recorded, carried by the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disabled {
    pub endpoint_id: String,
    pub reason: String,
    pub consecutive_failures: u64,
    pub disabled_at: String,
}

impl Disabled {
    pub fn job(&self, tenant_id: &str) -> Job {
        Job::new(ALERT_JOB, tenant_id, json!(self))
    }
}

/// What became of one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertResult {
    Sent {
        message_id: String,
        to: String,
    },
    /// Not sent, and not to be: why.
    Skipped(&'static str),
}

/// The record kept for a day after an email, so that no second one goes out.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SentRecord<'a> {
    endpoint_id: &'a str,
    to: &'a str,
    reason: &'a str,
    sent_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<&'a str>,
}

#[derive(Clone)]
pub struct FailureAlerts {
    table: Table,
    tenants: TenantService,
    endpoints: EndpointService,
    log: DeliveryLog,
    mailer: Option<Arc<dyn Mailer>>,
    console_url: Option<String>,
}

impl FailureAlerts {
    pub fn new(
        table: Table,
        endpoints: EndpointService,
        log: DeliveryLog,
        mailer: Option<Arc<dyn Mailer>>,
        console_url: Option<String>,
    ) -> Self {
        Self {
            tenants: TenantService::new(table.clone()),
            table,
            endpoints,
            log,
            mailer,
            console_url,
        }
    }

    /// Emails the tenant about `disabled`, unless alerts are off, nobody is there to tell,
    /// the endpoint is back on, or it was the subject of an email in the last day.
    pub async fn alert(
        &self,
        tenant_id: &str,
        disabled: &Disabled,
    ) -> Result<AlertResult, AlertError> {
        let Some(mailer) = &self.mailer else {
            return Ok(AlertResult::Skipped("no alert sender is configured"));
        };
        let tenant = self.tenants.get(tenant_id).await?;
        if !tenant.failure_alerts {
            return Ok(AlertResult::Skipped("the tenant turned failure alerts off"));
        }
        let Some(to) = tenant.contact_email.clone() else {
            return Ok(AlertResult::Skipped("the tenant has no contact email"));
        };
        let kind = EndpointKind::of_id(&disabled.endpoint_id);
        let endpoint = self
            .endpoints
            .with_kind(kind)
            .get(tenant_id, &disabled.endpoint_id)
            .await?;
        if endpoint.is_active {
            return Ok(AlertResult::Skipped("it was enabled again"));
        }
        let key = keys::disabled_alert(tenant_id, &endpoint.id);
        let mut record = SentRecord {
            endpoint_id: &endpoint.id,
            to: &to,
            reason: &disabled.reason,
            sent_at: crate::time::now_rfc3339(),
            message_id: None,
        };
        let expires = AttributeValue::N(crate::time::ttl_after(QUIET_PERIOD).to_string());
        let mut item = to_item(&key, &record)?;
        item.insert(keys::TTL.into(), expires.clone());
        // Claimed before sending: two workers never both send, and a crash after the send
        // errs on the side of one email too few rather than two.
        match self.table.put_new(item).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Ok(AlertResult::Skipped(
                    "an email about it went out in the last day",
                ))
            }
            Err(e) => return Err(e.into()),
        }
        let errors = self.last_errors(tenant_id, &endpoint.id).await?;
        let email = disabled_email(
            &to,
            &tenant.name,
            &endpoint,
            disabled,
            &errors,
            self.console_url.as_deref(),
        );
        match mailer.send(&email).await {
            Ok(message_id) => {
                record.message_id = Some(&message_id);
                let mut item = to_item(&key, &record)?;
                item.insert(keys::TTL.into(), expires);
                self.table.put(item).await?;
                Ok(AlertResult::Sent { message_id, to })
            }
            Err(e) => {
                // Released, so that a later try (or the next disabling) may send.
                self.table.delete(&key).await?;
                Err(e.into())
            }
        }
    }

    /// The newest failed attempts, newest first.
    async fn last_errors(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
    ) -> ServiceResult<Vec<AttemptLog>> {
        let filter = LogFilter {
            scope: LogScope::Endpoint(endpoint_id.to_string()),
            status: Some("failed".into()),
            ..LogFilter::default()
        };
        let (mut logs, _) = self.log.list(tenant_id, &filter, Some(25), None).await?;
        logs.truncate(LAST_ERRORS);
        Ok(logs)
    }
}

/// The email about a disabled endpoint or workflow: plain text, with what happened, the
/// last errors, and how to turn it back on and recover what it missed.
pub fn disabled_email(
    to: &str,
    tenant_name: &str,
    endpoint: &Endpoint,
    disabled: &Disabled,
    errors: &[AttemptLog],
    console_url: Option<&str>,
) -> Email {
    let kind = EndpointKind::of_id(&endpoint.id);
    let noun = match kind {
        EndpointKind::Endpoint => "webhook endpoint",
        EndpointKind::Workflow => "n8n workflow webhook",
    };
    let name = one_line(&endpoint.name);
    let mut text = format!(
        "hookhub stopped sending to the {noun} \"{name}\" of {tenant} at {at}.\n\n\
         {label:<9}{name} ({id})\n{url_label:<9}{url}\n{reason_label:<9}{reason}\n",
        tenant = one_line(tenant_name),
        at = disabled.disabled_at,
        label = "Name:",
        id = endpoint.id,
        url_label = "URL:",
        url = without_query(&endpoint.url),
        reason_label = "Reason:",
        reason = disabled.reason,
    );
    if !errors.is_empty() {
        text.push_str("\nLast errors, newest first:\n");
        for log in errors {
            let error = log.error.as_deref().unwrap_or("failed");
            text.push_str(&format!(
                "  {}  {}  attempt {}  {}\n",
                log.created_at,
                log.event_type,
                log.attempt,
                one_line(error)
            ));
        }
    }
    text.push_str(
        "\nNothing is sent to it while it is disabled; the events it missed stay in its \
         delivery log.\n\nTo turn it back on once the receiver is fixed:\n",
    );
    match kind {
        EndpointKind::Endpoint => {
            if let Some(console) = console_url {
                text.push_str(&format!(
                    "  - in the console: {}/#/endpoints, open \"{name}\" and press Enable;\n",
                    console.trim_end_matches('/')
                ));
            }
            text.push_str(&format!(
                "  - or with the API: PATCH /api/v1/webhooks/{id} with {{\"isActive\": true}}.\n\
                 Then re-deliver what failed meanwhile: POST /api/v1/webhooks/{id}/recover?since={at}\n",
                id = endpoint.id,
                at = disabled.disabled_at,
            ));
        }
        EndpointKind::Workflow => {
            if let Some(console) = console_url {
                text.push_str(&format!(
                    "  - in the console: {}/#/tenants, open the tenant, n8n, and enable \"{name}\";\n",
                    console.trim_end_matches('/')
                ));
            }
            text.push_str(&format!(
                "  - or with the API (platform admins): PUT /api/platform/tenants/{tenant}/webhooks/{id} \
                 with {{\"isActive\": true}}.\n",
                tenant = endpoint.tenant_id,
                id = endpoint.id,
            ));
        }
    }
    text.push_str(&format!(
        "\nYou receive this because {to} is the contact email of {tenant}; hookhub sends at \
         most one such email per endpoint a day. A platform admin can turn these emails off \
         with the tenant's failureAlerts setting.\n",
        tenant = one_line(tenant_name),
    ));
    Email {
        to: to.to_string(),
        subject: format!("hookhub: {noun} \"{name}\" was disabled"),
        text,
    }
}

/// Names and errors on one line of at most 200 characters: nothing a receiver or a tenant
/// typed can add lines to the email.
fn one_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

/// The URL without its query and fragment, where receivers' tokens tend to be.
fn without_query(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let cut = &url[..end];
    if end < url.len() {
        format!("{cut}?…")
    } else {
        cut.to_string()
    }
}

#[async_trait]
impl JobHandler for FailureAlerts {
    async fn handle(&self, job: &Job) -> Result<Outcome, JobError> {
        let disabled: Disabled = match serde_json::from_value(job.payload.clone()) {
            Ok(d) => d,
            Err(e) => return Ok(Outcome::Poison(format!("not an alert: {e}"))),
        };
        match self.alert(&job.tenant_id, &disabled).await {
            Ok(AlertResult::Sent { message_id, .. }) => {
                tracing::info!(endpoint_id = %disabled.endpoint_id, %message_id, "failure alert sent");
                Ok(Outcome::Done)
            }
            Ok(AlertResult::Skipped(why)) => {
                tracing::info!(endpoint_id = %disabled.endpoint_id, why, "no failure alert");
                Ok(Outcome::Done)
            }
            Err(AlertError::Service(ServiceError::NotFound(what))) => {
                Ok(Outcome::Missing(format!("{what} is gone")))
            }
            Err(AlertError::Mail(e @ MailError::Refused(_))) => {
                tracing::warn!(endpoint_id = %disabled.endpoint_id, error = %e, "failure alert refused");
                Ok(Outcome::GiveUp(e.to_string()))
            }
            Err(e) if job.attempt < MAX_ATTEMPTS => {
                tracing::warn!(endpoint_id = %disabled.endpoint_id, error = %e, "failure alert not sent yet");
                Ok(Outcome::RetryAfter(Duration::from_secs(
                    60 * u64::from(job.attempt),
                )))
            }
            Err(e) => Ok(Outcome::GiveUp(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(id: &str, name: &str, url: &str) -> Endpoint {
        serde_json::from_value(json!({
            "id": id, "tenantId": "ten_1", "name": name, "url": url, "events": ["*"],
            "isActive": false, "retryAttempts": 3, "retryDelay": 60, "timeoutMs": 10000,
            "secrets": [], "createdAt": "2026-01-01T00:00:00.000Z",
            "updatedAt": "2026-01-01T00:00:00.000Z"
        }))
        .unwrap()
    }

    fn failed(at: &str, error: &str) -> AttemptLog {
        serde_json::from_value(json!({
            "id": "del_1", "tenantId": "ten_1", "endpointId": "wh_1", "deliveryId": "dlv_1",
            "eventId": "evt_1", "eventType": "booking.created", "attempt": 1,
            "success": false, "status": "failed", "statusCode": 500, "responseTimeMs": 12,
            "error": error, "willRetry": false, "url": "https://x", "createdAt": at
        }))
        .unwrap()
    }

    fn disabled(id: &str) -> Disabled {
        Disabled {
            endpoint_id: id.into(),
            reason: "10 consecutive failed delivery attempts".into(),
            consecutive_failures: 10,
            disabled_at: "2026-12-07T11:00:00.000Z".into(),
        }
    }

    #[test]
    fn the_email_names_the_endpoint_the_reason_the_errors_and_the_way_back() {
        let e = endpoint("wh_1", "Orders", "https://shop.example/hook?token=s3cret#x");
        let errors = [
            failed("2026-12-07T10:59:59.000Z", "receiver answered 500"),
            failed("2026-12-07T10:59:58.000Z", "connection refused"),
        ];
        let email = disabled_email(
            "ops@acme.example",
            "Acme",
            &e,
            &disabled("wh_1"),
            &errors,
            Some("https://api.example/console/"),
        );
        assert_eq!(email.to, "ops@acme.example");
        assert_eq!(
            email.subject,
            "hookhub: webhook endpoint \"Orders\" was disabled"
        );
        for expected in [
            "\"Orders\" of Acme at 2026-12-07T11:00:00.000Z",
            "wh_1",
            "https://shop.example/hook?…",
            "10 consecutive failed delivery attempts",
            "2026-12-07T10:59:59.000Z  booking.created  attempt 1  receiver answered 500",
            "connection refused",
            "https://api.example/console/#/endpoints",
            "PATCH /api/v1/webhooks/wh_1 with {\"isActive\": true}",
            "POST /api/v1/webhooks/wh_1/recover?since=2026-12-07T11:00:00.000Z",
            "failureAlerts",
        ] {
            assert!(
                email.text.contains(expected),
                "{expected:?} in\n{}",
                email.text
            );
        }
        assert!(!email.text.contains("s3cret"), "{}", email.text);
    }

    #[test]
    fn a_workflow_email_says_how_a_platform_admin_turns_it_back_on() {
        let e = endpoint("wf_1", "lead-intake", "https://n8n.example/webhook/x");
        let email = disabled_email("ops@acme.example", "Acme", &e, &disabled("wf_1"), &[], None);
        assert_eq!(
            email.subject,
            "hookhub: n8n workflow webhook \"lead-intake\" was disabled"
        );
        assert!(email
            .text
            .contains("PUT /api/platform/tenants/ten_1/webhooks/wf_1"));
        assert!(!email.text.contains("Last errors"));
        assert!(!email.text.contains("console"));
    }

    #[test]
    fn names_and_errors_cannot_add_lines_and_are_bounded() {
        let e = endpoint("wh_1", "Evil\r\nBcc: x@y.z", "https://x.example/");
        let errors = [failed("t", &format!("line\nbreak{}", "x".repeat(500)))];
        let email = disabled_email("a@b.co", "T", &e, &disabled("wh_1"), &errors, None);
        assert!(!email.subject.contains('\n') && !email.subject.contains('\r'));
        assert!(email.text.lines().all(|l| !l.starts_with("Bcc:")));
        assert!(email.text.lines().all(|l| l.chars().count() < 300));
    }
}
