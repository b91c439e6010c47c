//! The tenant's subscription index: one item listing every endpoint and workflow of the
//! tenant with its event filters and whether it is active, changed in the same transaction
//! as the endpoint itself. Publishing reads it in one GetItem instead of querying every
//! endpoint item: one round trip and a few read units whatever the number of endpoints.
//! Tenants created before the index existed have none; their publishes query the endpoints
//! as before, and their endpoint writes leave the (absent) index alone.
//!
//! Each line is one string, `1 message.* contact.created` (active flag, then the filters):
//! filters are catalog names and patterns, which never hold a space. A string per line
//! rather than a nested map keeps the item small and cheap to decode, on both sides of the
//! wire, on the one read every publish makes.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::catalog;
use super::endpoint::{Endpoint, EndpointKind};
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{self, IdKind};
use crate::quotas::{Quota, QuotaOverrides};
use crate::store::{keys, Item, StoreError, Table, Transaction};

const TARGETS: &str = "targets";
/// Whether the tenant is suspended, copied from the tenant by `TenantService::update`.
const SUSPENDED: &str = "tenantSuspended";
/// The tenant's own quotas, copied from the tenant likewise: publishing checks the event's
/// size and the publish rate against them without reading the tenant.
const QUOTAS: &str = "quotaOverrides";

/// How many lines of each kind the index holds, kept in the same transactions that add and
/// remove lines, so that a quota on endpoints holds however many are created at once.
/// Indexes written before the counts existed start from their lines.
fn count_attribute(kind: EndpointKind) -> &'static str {
    match kind {
        EndpointKind::Endpoint => "endpointCount",
        EndpointKind::Workflow => "workflowCount",
    }
}

/// Beyond this the index would near DynamoDB's 400 KB item limit; endpoint writes that would
/// grow it further are refused with a clear error instead of failing inside the database.
pub const MAX_INDEX_BYTES: usize = 300 * 1024;

/// One endpoint's line in the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub events: Vec<String>,
    pub active: bool,
}

impl Subscription {
    pub fn of(endpoint: &Endpoint) -> Self {
        Self {
            events: endpoint.events.clone(),
            active: endpoint.is_active,
        }
    }

    /// What the line adds to the item's size (DynamoDB counts names and values).
    fn stored_bytes(&self, id: &str) -> usize {
        id.len() + 1 + self.events.iter().map(|e| e.len() + 1).sum::<usize>()
    }

    fn encode(&self) -> String {
        let mut line = String::from(if self.active { "1" } else { "0" });
        for pattern in &self.events {
            line.push(' ');
            line.push_str(pattern);
        }
        line
    }

    fn decode(line: &str) -> Option<Self> {
        let mut parts = line.split(' ');
        let active = match parts.next()? {
            "1" => true,
            "0" => false,
            _ => return None,
        };
        let events: Vec<String> = parts.map(str::to_string).collect();
        events
            .iter()
            .all(|p| catalog::is_valid_pattern(p))
            .then_some(Self { events, active })
    }
}

/// The index as read: endpoint id → its line.
#[derive(Debug, Default, Clone)]
pub struct Subscriptions {
    pub lines: HashMap<String, Subscription>,
}

impl Subscriptions {
    /// A line that cannot be read is an error, never skipped: a skipped line would be an
    /// endpoint silently left out of every delivery.
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        let corrupt = |what: String| StoreError::Corrupt(format!("subscription index: {what}"));
        let targets = item
            .get(TARGETS)
            .and_then(|t| t.as_m().ok())
            .ok_or_else(|| corrupt("no targets map".into()))?;
        let lines = targets
            .iter()
            .map(|(id, value)| {
                value
                    .as_s()
                    .ok()
                    .and_then(|line| Subscription::decode(line))
                    .map(|line| (id.clone(), line))
                    .ok_or_else(|| corrupt(format!("unreadable line for {id}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { lines })
    }

    /// The active endpoints and workflows subscribed to `event_type`, in a stable order.
    pub fn targets(&self, event_type: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .lines
            .iter()
            .filter(|(_, s)| s.active && catalog::subscribed(&s.events, event_type))
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    fn stored_bytes(&self) -> usize {
        self.lines.iter().map(|(id, s)| s.stored_bytes(id)).sum()
    }

    /// The endpoints (or workflows) listed.
    pub fn count(&self, kind: EndpointKind) -> usize {
        self.lines
            .keys()
            .filter(|id| EndpointKind::of_id(id) == kind)
            .count()
    }
}

/// What a publish learns in its one read.
pub enum Lookup {
    /// The tenant has an index: these are the targets.
    Indexed(Vec<String>),
    /// The tenant is suspended: these would be the targets, and nothing goes to them.
    Suspended(Vec<String>),
    /// The tenant predates the index: the endpoints must be queried.
    NotIndexed,
}

#[derive(Clone)]
pub struct SubscriptionIndex {
    table: Table,
}

impl SubscriptionIndex {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// The empty index of a new tenant, written in the same transaction as the tenant.
    pub fn empty_item(tenant_id: &str, quotas: &QuotaOverrides) -> Item {
        let key = keys::subscriptions(tenant_id);
        HashMap::from([
            (keys::PK.to_string(), AttributeValue::S(key.pk)),
            (keys::SK.to_string(), AttributeValue::S(key.sk)),
            (TARGETS.to_string(), AttributeValue::M(HashMap::new())),
            (QUOTAS.to_string(), quotas.to_attribute()),
        ])
    }

    /// The targets of `event_type`. With `check_tenant`, a missing tenant is `NotFound`, as
    /// everywhere else. The index itself proves the tenant: it is written in the tenant's
    /// creating transaction and deleted before the tenant item. So the tenant item is read
    /// only when there is no index (a missing or an older tenant).
    pub async fn lookup(
        &self,
        tenant_id: &str,
        event_type: &str,
        check_tenant: bool,
    ) -> ServiceResult<(Lookup, QuotaOverrides)> {
        if check_tenant && !ids::is_valid(IdKind::Tenant, tenant_id) {
            return Err(ServiceError::NotFound("tenant"));
        }
        if let Some(item) = self.table.get(&keys::subscriptions(tenant_id)).await? {
            let targets = Subscriptions::from_item(&item)?.targets(event_type);
            let suspended = item
                .get(SUSPENDED)
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false);
            let quotas = QuotaOverrides::from_attribute(item.get(QUOTAS));
            return Ok(match suspended {
                true => (Lookup::Suspended(targets), quotas),
                false => (Lookup::Indexed(targets), quotas),
            });
        }
        // A tenant from before the index: its own record says what the index would.
        let tenant: Option<crate::tenants::Tenant> =
            self.table.get_record(&keys::tenant(tenant_id)).await?;
        match tenant {
            None if check_tenant => Err(ServiceError::NotFound("tenant")),
            Some(t) if check_tenant && t.is_suspended() => Err(ServiceError::TenantSuspended),
            t => Ok((
                Lookup::NotIndexed,
                t.map(|t| t.quota_overrides).unwrap_or_default(),
            )),
        }
    }

    /// Copies the tenant's own quotas onto its index, which publishing reads instead of the
    /// tenant; a tenant without an index has its quotas read from its record.
    pub async fn set_quotas(&self, tenant_id: &str, quotas: &QuotaOverrides) -> ServiceResult<()> {
        self.table
            .update_existing(
                &keys::subscriptions(tenant_id),
                &[(QUOTAS, Some(quotas.to_attribute()))],
            )
            .await?;
        Ok(())
    }

    /// Copies the tenant's status onto its index, which publishing reads instead of the
    /// tenant; a tenant without an index has nothing to mark.
    pub async fn set_suspended(&self, tenant_id: &str, suspended: bool) -> ServiceResult<()> {
        self.table
            .update_existing(
                &keys::subscriptions(tenant_id),
                &[(SUSPENDED, Some(AttributeValue::Bool(suspended)))],
            )
            .await?;
        Ok(())
    }

    /// The index as stored, or `None` for a tenant that predates it.
    pub async fn read(&self, tenant_id: &str) -> ServiceResult<Option<Subscriptions>> {
        Ok(self
            .table
            .get(&keys::subscriptions(tenant_id))
            .await?
            .map(|item| Subscriptions::from_item(&item))
            .transpose()?)
    }

    /// Adds to `tx` the write of a new endpoint's line, counted against `limit` endpoints
    /// (or workflows) for the tenant. The count is checked as read, and again by DynamoDB
    /// when the transaction commits, so endpoints created at the same moment cannot pass
    /// the limit together. A tenant without an index is counted from its endpoint items.
    pub async fn with_new_line<'t>(
        &self,
        tx: Transaction<'t>,
        endpoint: &Endpoint,
        limit: u32,
        count_unindexed: impl std::future::Future<Output = ServiceResult<usize>>,
    ) -> ServiceResult<Transaction<'t>> {
        let kind = EndpointKind::of_id(&endpoint.id);
        let Some(index) = self.read(&endpoint.tenant_id).await? else {
            if count_unindexed.await? >= limit as usize {
                return Err(too_many(kind, limit));
            }
            return Ok(tx);
        };
        let seen = index.count(kind);
        if seen >= limit as usize {
            return Err(too_many(kind, limit));
        }
        self.check_room(&index, endpoint)?;
        let line = Subscription::of(endpoint);
        Ok(tx.update(
            &keys::subscriptions(&endpoint.tenant_id),
            "SET #targets.#id = :line, #count = if_not_exists(#count, :seen) + :one",
            Some("attribute_not_exists(#count) OR #count < :limit"),
            &[
                ("#targets", TARGETS),
                ("#id", &endpoint.id),
                ("#count", count_attribute(kind)),
            ],
            vec![
                (":line", AttributeValue::S(line.encode())),
                (":seen", AttributeValue::N(seen.to_string())),
                (":one", AttributeValue::N("1".into())),
                (":limit", AttributeValue::N(limit.to_string())),
            ],
        ))
    }

    /// Whether the tenant already has `limit` endpoints (or workflows): after a create's
    /// transaction was refused, tells a full quota from another conflict.
    pub async fn is_full(
        &self,
        tenant_id: &str,
        kind: EndpointKind,
        limit: u32,
    ) -> ServiceResult<bool> {
        let Some(item) = self.table.get(&keys::subscriptions(tenant_id)).await? else {
            return Ok(false);
        };
        let counted = item
            .get(count_attribute(kind))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<usize>().ok());
        let count = match counted {
            Some(c) => c,
            None => Subscriptions::from_item(&item)?.count(kind),
        };
        Ok(count >= limit as usize)
    }

    fn check_room(&self, index: &Subscriptions, endpoint: &Endpoint) -> ServiceResult<()> {
        let line = Subscription::of(endpoint);
        let current = index.lines.get(&endpoint.id);
        let grows_by = line
            .stored_bytes(&endpoint.id)
            .saturating_sub(current.map_or(0, |c| c.stored_bytes(&endpoint.id)));
        if grows_by > 0 && index.stored_bytes() + grows_by > MAX_INDEX_BYTES {
            return Err(ServiceError::FailedPrecondition(format!(
                "this tenant's endpoints and their event filters fill its subscription index \
                 ({} KB at most); remove unused endpoints or use wildcard filters such as \"message.*\"",
                MAX_INDEX_BYTES / 1024
            )));
        }
        Ok(())
    }

    /// Adds to `tx` the rewrite of an existing endpoint's line, when the tenant has an
    /// index; refuses a line that would make the index too big.
    pub async fn with_line<'t>(
        &self,
        tx: Transaction<'t>,
        endpoint: &Endpoint,
    ) -> ServiceResult<Transaction<'t>> {
        let Some(index) = self.read(&endpoint.tenant_id).await? else {
            return Ok(tx);
        };
        self.check_room(&index, endpoint)?;
        let line = Subscription::of(endpoint);
        Ok(tx.update(
            &keys::subscriptions(&endpoint.tenant_id),
            "SET #targets.#id = :line",
            None,
            &[("#targets", TARGETS), ("#id", &endpoint.id)],
            vec![(":line", AttributeValue::S(line.encode()))],
        ))
    }

    /// Adds to `tx` the removal of an endpoint's line, when the tenant has an index.
    pub async fn without_line<'t>(
        &self,
        tx: Transaction<'t>,
        tenant_id: &str,
        endpoint_id: &str,
    ) -> ServiceResult<Transaction<'t>> {
        let Some(index) = self.read(tenant_id).await? else {
            return Ok(tx);
        };
        if !index.lines.contains_key(endpoint_id) {
            return Ok(tx);
        }
        let kind = EndpointKind::of_id(endpoint_id);
        // The line must still be there, so that two deletes of one endpoint count it once.
        Ok(tx.update(
            &keys::subscriptions(tenant_id),
            "REMOVE #targets.#id SET #count = if_not_exists(#count, :seen) - :one",
            Some("attribute_exists(#targets.#id)"),
            &[
                ("#targets", TARGETS),
                ("#id", endpoint_id),
                ("#count", count_attribute(kind)),
            ],
            vec![
                (":seen", AttributeValue::N(index.count(kind).to_string())),
                (":one", AttributeValue::N("1".into())),
            ],
        ))
    }
}

pub(super) fn too_many(kind: EndpointKind, limit: u32) -> ServiceError {
    let (quota, what) = match kind {
        EndpointKind::Endpoint => (Quota::MaxEndpoints, "webhook endpoints"),
        EndpointKind::Workflow => (Quota::MaxWorkflows, "workflow webhooks"),
    };
    crate::quotas::exceeded(
        quota,
        limit,
        format!(
            "this tenant may have {limit} {what} (quota {}); delete one, or ask a platform admin to raise the quota",
            quota.name()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(events: &[&str], active: bool) -> Subscription {
        Subscription {
            events: events.iter().map(|e| e.to_string()).collect(),
            active,
        }
    }

    #[test]
    fn targets_are_the_active_matching_lines() {
        let index = Subscriptions {
            lines: HashMap::from([
                ("ep_b".to_string(), line(&["message.*"], true)),
                ("ep_a".to_string(), line(&["*"], true)),
                ("ep_c".to_string(), line(&["message.received"], false)),
                ("ep_d".to_string(), line(&["contact.created"], true)),
            ]),
        };
        assert_eq!(index.targets("message.received"), ["ep_a", "ep_b"]);
        assert_eq!(index.targets("contact.created"), ["ep_a", "ep_d"]);
        assert_eq!(index.targets("webhook.test"), ["ep_a"]);
    }

    fn stored(lines: &[(&str, AttributeValue)]) -> Item {
        let mut item = SubscriptionIndex::empty_item("tn_x", &QuotaOverrides::default());
        item.insert(
            TARGETS.into(),
            AttributeValue::M(
                lines
                    .iter()
                    .map(|(id, v)| (id.to_string(), v.clone()))
                    .collect(),
            ),
        );
        item
    }

    #[test]
    fn a_line_survives_its_stored_form() {
        for original in [
            line(&["message.*", "contact.created"], false),
            line(&["*"], true),
            line(&[], true),
        ] {
            let item = stored(&[("ep_1", AttributeValue::S(original.encode()))]);
            let index = Subscriptions::from_item(&item).unwrap();
            assert_eq!(index.lines.get("ep_1"), Some(&original));
            assert!(original.stored_bytes("ep_1") >= "ep_1".len() + original.encode().len());
        }
        assert!(Subscriptions::from_item(&SubscriptionIndex::empty_item(
            "tn_x",
            &QuotaOverrides::default()
        ))
        .unwrap()
        .lines
        .is_empty());
    }

    #[test]
    fn an_unreadable_line_is_an_error_not_a_missing_endpoint() {
        for bad in [
            AttributeValue::S("yes message.*".into()),
            AttributeValue::S("1 not.a.type".into()),
            AttributeValue::S("1  message.*".into()),
            AttributeValue::S(String::new()),
            AttributeValue::Bool(true),
        ] {
            let item = stored(&[("ep_ok", AttributeValue::S("1 *".into())), ("ep_bad", bad)]);
            let err = Subscriptions::from_item(&item).unwrap_err();
            assert!(err.to_string().contains("ep_bad"), "{err}");
        }
        assert!(Subscriptions::from_item(&SubscriptionIndex::empty_item(
            "tn_x",
            &QuotaOverrides::default()
        ))
        .is_ok());
        let mut no_map = SubscriptionIndex::empty_item("tn_x", &QuotaOverrides::default());
        no_map.remove(TARGETS);
        assert!(Subscriptions::from_item(&no_map).is_err());
    }
}
