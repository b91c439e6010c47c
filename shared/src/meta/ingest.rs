//! Receiving a signed Meta POST: verify, split, store each item once, enqueue, count.
//!
//! Durability is store-then-enqueue. Each new item is written with one conditional put in
//! status `received`, then a `meta.process` job is enqueued for it; 200 is answered only
//! after both. If a write or the enqueue fails the answer is 503 and Meta sends the batch
//! again: items already stored are found by natural id, and those still `received` (a
//! previous attempt may have stored them without enqueuing) are enqueued again. Processing
//! is idempotent (the hookhub event id is derived from the Meta event id), so a second job
//! for the same event is harmless. The sweep (`MetaSweep`) re-enqueues events left
//! `received` for longer than Meta would keep retrying.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use serde::Serialize;
use serde_json::json;

use super::split::{split, Channel, MetaItem};
use super::stats::{self, MetaStats};
use super::store::{MetaEvent, MetaEventStore, ProcessingStatus};
use crate::error::{ServiceError, ServiceResult};
use crate::integrations::{IntegrationKind, IntegrationRecord, IntegrationService};
use crate::jobs::{enqueue_concurrently, Job, JobQueue};
use crate::signing::meta as meta_signature;
use crate::store::{from_item, keys, Table};

pub const PROCESS_JOB: &str = "meta.process";

/// Conditional writes in flight at once for one POST.
const PUT_CONCURRENCY: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("unknown tenant")]
    UnknownTenant,
    #[error("signature missing or invalid")]
    BadSignature,
    #[error("{0}")]
    Malformed(String),
    /// Meta retries on 5xx, which is what a failed write or enqueue needs.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The tenant is suspended: nothing is stored; Meta retries until it is reactivated.
    #[error("the tenant is suspended")]
    Suspended,
}

impl From<ServiceError> for IngestError {
    fn from(err: ServiceError) -> Self {
        IngestError::Unavailable(err.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemOutcome {
    Stored,
    /// Already stored and processed (or being processed): nothing to do.
    Duplicate,
    /// Already stored but never processed: enqueued again.
    Requeued,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestedItem {
    pub id: String,
    pub natural_id: String,
    pub event_type: String,
    pub outcome: ItemOutcome,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IngestReport {
    /// Items in the body, duplicates inside it included.
    pub items: usize,
    pub stored: usize,
    pub duplicates: usize,
    pub requeued: usize,
    /// Items for an account that is not the tenant's (another business's phone number,
    /// Instagram account or WhatsApp Business Account): counted, never stored.
    pub foreign: usize,
    pub events: Vec<IngestedItem>,
    /// AWS calls this POST made (for the benchmark's calls-per-POST figure).
    pub aws_calls: usize,
}

#[derive(Clone)]
pub struct MetaIngest {
    table: Table,
    queue: Arc<dyn JobQueue>,
    integrations: IntegrationService,
    store: MetaEventStore,
    stats: MetaStats,
}

impl MetaIngest {
    pub fn new(
        table: Table,
        queue: Arc<dyn JobQueue>,
        integrations: IntegrationService,
        store: MetaEventStore,
    ) -> Self {
        Self {
            stats: MetaStats::new(table.clone()),
            table,
            queue,
            integrations,
            store,
        }
    }

    /// The app secrets a POST for this tenant may be signed with (its enabled WhatsApp and
    /// Instagram integrations), read with the tenant in one BatchGetItem and opened through
    /// the cached envelope; an unknown tenant is `UnknownTenant`.
    pub async fn app_secrets(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<(IntegrationKind, zeroize::Zeroizing<String>)>, IngestError> {
        Ok(self.tenant_integrations(tenant_id).await?.secrets)
    }

    /// What a POST is checked against, from the one BatchGetItem of the tenant and its
    /// WhatsApp and Instagram integrations.
    pub(crate) async fn tenant_integrations(
        &self,
        tenant_id: &str,
    ) -> Result<Receiving, IngestError> {
        if !crate::ids::is_valid(crate::ids::IdKind::Tenant, tenant_id) {
            return Err(IngestError::UnknownTenant);
        }
        let kinds = [IntegrationKind::Whatsapp, IntegrationKind::Instagram];
        let mut wanted = vec![keys::tenant(tenant_id)];
        wanted.extend(kinds.map(|k| keys::integration(tenant_id, k.as_str())));
        let items = self
            .table
            .batch_get(&wanted)
            .await
            .map_err(|e| IngestError::Unavailable(e.to_string()))?;
        let sk = |item: &crate::store::Item| {
            item.get(keys::SK)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let suspended = match items.iter().find(|i| sk(i) == wanted[0].sk) {
            Some(tenant) => crate::tenants::is_suspended_item(tenant),
            None => return Err(IngestError::UnknownTenant),
        };
        let mut receiving = Receiving {
            suspended,
            secrets: Vec::new(),
            accounts: Accounts::default(),
        };
        for kind in kinds {
            let own_sk = keys::integration(tenant_id, kind.as_str()).sk;
            let Some(item) = items.iter().find(|i| sk(i) == own_sk) else {
                continue;
            };
            let record: IntegrationRecord =
                from_item(item.clone()).map_err(|e| IngestError::Unavailable(e.to_string()))?;
            if !record.enabled {
                continue;
            }
            receiving.accounts.learn(kind, &record);
            if let Some(secret) = self
                .integrations
                .open_secret(tenant_id, kind, &record, "appSecret")
                .await?
            {
                receiving.secrets.push((kind, secret));
            }
        }
        Ok(receiving)
    }

    /// A POST as Meta sends it: `signature` is the `X-Hub-Signature-256` header, checked
    /// over `body` exactly as received. Nothing is stored unless it verifies.
    pub async fn receive(
        &self,
        tenant_id: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<IngestReport, IngestError> {
        let receiving = self.tenant_integrations(tenant_id).await?;
        let verified = receiving
            .secrets
            .iter()
            .any(|(_, secret)| meta_signature::verify(secret, body, signature).is_ok());
        if !verified {
            return Err(IngestError::BadSignature);
        }
        // Told only to a sender that proved it holds the app secret.
        if receiving.suspended {
            return Err(IngestError::Suspended);
        }
        let (own, foreign): (Vec<MetaItem<'_>>, Vec<MetaItem<'_>>) = split(body)
            .map_err(|e| IngestError::Malformed(e.to_string()))?
            .into_iter()
            .partition(|item| receiving.accounts.own(item));
        if !foreign.is_empty() {
            tracing::warn!(%tenant_id, items = foreign.len(), "Meta items for other accounts not stored");
        }
        let mut report = self.store_items(tenant_id, &own, foreign.len()).await?;
        report.aws_calls += 1;
        Ok(report)
    }

    /// Stores every item not seen before, enqueues what needs processing, counts what was
    /// received. Only the counting may fail without failing the POST.
    pub async fn store_items(
        &self,
        tenant_id: &str,
        items: &[MetaItem<'_>],
        foreign: usize,
    ) -> Result<IngestReport, IngestError> {
        let received_at = crate::time::now();
        let received_at_text = crate::time::rfc3339(received_at);
        let mut report = IngestReport {
            items: items.len() + foreign,
            foreign,
            ..Default::default()
        };
        let events: Vec<MetaEvent> = items
            .iter()
            .map(|item| MetaEvent::new(tenant_id, item, &received_at_text))
            .collect();
        let mut seen = HashSet::new();
        let first: Vec<bool> = events
            .iter()
            .map(|event| seen.insert(event.natural_id.as_str()))
            .collect();
        drop(seen);
        report.duplicates = first.iter().filter(|first| !**first).count();
        let fresh: Vec<MetaEvent> = events
            .into_iter()
            .zip(first)
            .filter_map(|(event, first)| first.then_some(event))
            .collect();
        let results: Vec<_> = futures::stream::iter(fresh)
            .map(|event| async move {
                let existing = self.store.put_new(&event).await;
                (event, existing)
            })
            .buffered(PUT_CONCURRENCY)
            .collect()
            .await;
        report.aws_calls += results.len();
        let mut jobs = Vec::new();
        let mut counters: BTreeMap<String, i64> = BTreeMap::new();
        if foreign > 0 {
            counters.insert(stats::FOREIGN.into(), foreign as i64);
        }
        let mut failure = None;
        for (event, existing) in results {
            let (outcome, stored) = match existing {
                Ok(None) => (ItemOutcome::Stored, event),
                Ok(Some(old)) if old.status == ProcessingStatus::Received => {
                    (ItemOutcome::Requeued, old)
                }
                Ok(Some(old)) => (ItemOutcome::Duplicate, old),
                Err(e) => {
                    failure.get_or_insert(e);
                    continue;
                }
            };
            match outcome {
                ItemOutcome::Stored => {
                    report.stored += 1;
                    count_received(&stored, &mut counters);
                }
                ItemOutcome::Duplicate => report.duplicates += 1,
                ItemOutcome::Requeued => report.requeued += 1,
            }
            if outcome != ItemOutcome::Duplicate {
                jobs.push(process_job(tenant_id, &stored.natural_id));
            }
            report.events.push(IngestedItem {
                id: stored.id,
                natural_id: stored.natural_id,
                event_type: stored.event_type,
                outcome,
            });
        }
        // Whatever was stored is enqueued even when another write failed: the retry then
        // has less to redo.
        let enqueued = enqueue_concurrently(self.queue.as_ref(), &jobs).await;
        report.aws_calls += jobs.len().div_ceil(10);
        // Counted even when the answer is a 503: what was stored stays stored, and Meta's
        // retry finds it requeued, not stored, so it would never be counted otherwise.
        if !counters.is_empty() {
            report.aws_calls += 1;
            if let Err(e) = self.stats.add(tenant_id, received_at, counters).await {
                tracing::warn!(%tenant_id, error = %e, "Meta counters not updated");
            }
        }
        if let Some(e) = failure {
            return Err(e.into());
        }
        enqueued.map_err(|e| IngestError::Unavailable(e.to_string()))?;
        Ok(report)
    }
}

/// What a POST for a tenant is checked against.
pub(crate) struct Receiving {
    pub(crate) suspended: bool,
    pub(crate) secrets: Vec<(IntegrationKind, zeroize::Zeroizing<String>)>,
    pub(crate) accounts: Accounts,
}

/// The Meta accounts a tenant's enabled integrations name. An app secret can be shared by
/// several businesses (one Meta app serving many), so a signature proves who sent a POST,
/// not whose it is: each item must also be for one of these.
#[derive(Debug, Default)]
pub(crate) struct Accounts {
    pub(crate) whatsapp_phone_number: Option<String>,
    pub(crate) whatsapp_business_account: Option<String>,
    pub(crate) instagram_account: Option<String>,
}

impl Accounts {
    fn learn(&mut self, kind: IntegrationKind, record: &IntegrationRecord) {
        let field = |name: &str| record.field(name).map(str::to_string);
        match kind {
            IntegrationKind::Whatsapp => {
                self.whatsapp_phone_number = field("phoneNumberId");
                self.whatsapp_business_account = field("businessAccountId");
            }
            IntegrationKind::Instagram => self.instagram_account = field("accountId"),
            _ => {}
        }
    }

    /// An item is the tenant's unless it names an account the tenant's integration does
    /// not: a WhatsApp phone number id or Business Account id, an Instagram account id.
    /// Messenger pages and items that name none are not checked (nothing to compare).
    fn own(&self, item: &MetaItem<'_>) -> bool {
        let matches = |named: Option<&str>, configured: &Option<String>| match (named, configured) {
            (Some(named), Some(configured)) => named == configured,
            _ => true,
        };
        match item.channel {
            Channel::Whatsapp => {
                matches(
                    item.business.phone_number_id.as_deref(),
                    &self.whatsapp_phone_number,
                ) && matches(item.account_id.as_deref(), &self.whatsapp_business_account)
            }
            Channel::Instagram => matches(item.account_id.as_deref(), &self.instagram_account),
            Channel::Messenger | Channel::Unknown => true,
        }
    }
}

/// Processes a Meta event again: a failed one is put back to `received` and queued; one
/// still waiting is queued again (a second job for it does nothing while the first holds
/// it); a processed one is left alone (409). Processing is idempotent, so a repeated
/// reprocess publishes nothing twice.
pub async fn reprocess(
    store: &MetaEventStore,
    queue: &dyn JobQueue,
    tenant_id: &str,
    id: &str,
) -> ServiceResult<MetaEvent> {
    let event = store.get(tenant_id, id).await?;
    match event.status {
        ProcessingStatus::Processed => {
            return Err(ServiceError::Conflict(format!(
                "Meta event {id} was processed; there is nothing to reprocess"
            )))
        }
        ProcessingStatus::Failed => {
            // The run that failed may still hold its claim on the event; it is over.
            if store.reopen_failed(&event).await? {
                store
                    .release_processing(tenant_id, &event.natural_id)
                    .await?;
            }
        }
        ProcessingStatus::Received => {}
    }
    queue
        .enqueue(
            &[process_job(tenant_id, &event.natural_id)],
            std::time::Duration::ZERO,
        )
        .await?;
    store.get(tenant_id, id).await
}

pub fn process_job(tenant_id: &str, natural_id: &str) -> Job {
    Job::new(PROCESS_JOB, tenant_id, json!({ "naturalId": natural_id }))
}

fn count_received(event: &MetaEvent, counters: &mut BTreeMap<String, i64>) {
    let mut add = |name: String| *counters.entry(name).or_insert(0) += 1;
    add(stats::RECEIVED.into());
    add(format!("{}{}", stats::TYPE_PREFIX, event.event_type));
    add(format!(
        "{}{}",
        stats::CHANNEL_PREFIX,
        event.channel.as_str()
    ));
    if let Some(code) = event
        .status_report
        .as_ref()
        .and_then(|r| r.error_code.as_deref())
    {
        add(format!("{}{code}", stats::META_ERROR_PREFIX));
    }
}
