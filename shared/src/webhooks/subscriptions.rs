//! The tenant's subscription index: one item listing every endpoint and workflow of the
//! tenant with its event filters and whether it is active, changed in the same transaction
//! as the endpoint itself. Publishing reads it, with the tenant, in one BatchGetItem instead
//! of querying every endpoint item: one round trip and a few read units whatever the number
//! of endpoints. Tenants created before the index existed have none; their publishes query
//! the endpoints as before, and their endpoint writes leave the (absent) index alone.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::catalog;
use super::endpoint::Endpoint;
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{self, IdKind};
use crate::store::{keys, Item, Table, Transaction};

const TARGETS: &str = "targets";
const EVENTS: &str = "events";
const ACTIVE: &str = "active";

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
        id.len()
            + EVENTS.len()
            + ACTIVE.len()
            + 8
            + self.events.iter().map(|e| e.len() + 3).sum::<usize>()
    }

    fn to_attribute(&self) -> AttributeValue {
        AttributeValue::M(HashMap::from([
            (
                EVENTS.to_string(),
                AttributeValue::L(self.events.iter().cloned().map(AttributeValue::S).collect()),
            ),
            (ACTIVE.to_string(), AttributeValue::Bool(self.active)),
        ]))
    }

    fn from_attribute(value: &AttributeValue) -> Option<Self> {
        let line = value.as_m().ok()?;
        let events = line
            .get(EVENTS)?
            .as_l()
            .ok()?
            .iter()
            .filter_map(|e| e.as_s().ok().cloned())
            .collect();
        let active = *line.get(ACTIVE)?.as_bool().ok()?;
        Some(Self { events, active })
    }
}

/// The index as read: endpoint id → its line.
#[derive(Debug, Default, Clone)]
pub struct Subscriptions {
    pub lines: HashMap<String, Subscription>,
}

impl Subscriptions {
    fn from_item(item: &Item) -> Self {
        let lines = item
            .get(TARGETS)
            .and_then(|t| t.as_m().ok())
            .map(|m| {
                m.iter()
                    .filter_map(|(id, v)| Some((id.clone(), Subscription::from_attribute(v)?)))
                    .collect()
            })
            .unwrap_or_default();
        Self { lines }
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
}

/// What a publish learns in its one read.
pub enum Lookup {
    /// The tenant has an index: these are the targets.
    Indexed(Vec<String>),
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
    pub fn empty_item(tenant_id: &str) -> Item {
        let key = keys::subscriptions(tenant_id);
        HashMap::from([
            (keys::PK.to_string(), AttributeValue::S(key.pk)),
            (keys::SK.to_string(), AttributeValue::S(key.sk)),
            (TARGETS.to_string(), AttributeValue::M(HashMap::new())),
        ])
    }

    /// The targets of `event_type`. With `check_tenant`, the tenant item is read in the same
    /// call and a missing tenant is `NotFound`, as everywhere else.
    pub async fn lookup(
        &self,
        tenant_id: &str,
        event_type: &str,
        check_tenant: bool,
    ) -> ServiceResult<Lookup> {
        let index_key = keys::subscriptions(tenant_id);
        let index = if check_tenant {
            if !ids::is_valid(IdKind::Tenant, tenant_id) {
                return Err(ServiceError::NotFound("tenant"));
            }
            let tenant_key = keys::tenant(tenant_id);
            let items = self
                .table
                .batch_get(&[tenant_key.clone(), index_key.clone()])
                .await?;
            let sort_key = |item: &Item| {
                item.get(keys::SK)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            };
            if !items.iter().any(|i| sort_key(i) == tenant_key.sk) {
                return Err(ServiceError::NotFound("tenant"));
            }
            items.into_iter().find(|i| sort_key(i) == index_key.sk)
        } else {
            self.table.get(&index_key).await?
        };
        Ok(match index {
            Some(item) => Lookup::Indexed(Subscriptions::from_item(&item).targets(event_type)),
            None => Lookup::NotIndexed,
        })
    }

    /// The index as stored, or `None` for a tenant that predates it.
    pub async fn read(&self, tenant_id: &str) -> ServiceResult<Option<Subscriptions>> {
        Ok(self
            .table
            .get(&keys::subscriptions(tenant_id))
            .await?
            .map(|item| Subscriptions::from_item(&item)))
    }

    /// Adds to `tx` the write of `endpoint`'s line, when the tenant has an index; refuses a
    /// line that would make the index too big.
    pub async fn with_line<'t>(
        &self,
        tx: Transaction<'t>,
        endpoint: &Endpoint,
    ) -> ServiceResult<Transaction<'t>> {
        let Some(index) = self.read(&endpoint.tenant_id).await? else {
            return Ok(tx);
        };
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
        Ok(tx.update(
            &keys::subscriptions(&endpoint.tenant_id),
            "SET #targets.#id = :line",
            None,
            &[("#targets", TARGETS), ("#id", &endpoint.id)],
            vec![(":line", line.to_attribute())],
        ))
    }

    /// Adds to `tx` the removal of an endpoint's line, when the tenant has an index.
    pub async fn without_line<'t>(
        &self,
        tx: Transaction<'t>,
        tenant_id: &str,
        endpoint_id: &str,
    ) -> ServiceResult<Transaction<'t>> {
        if self.read(tenant_id).await?.is_none() {
            return Ok(tx);
        }
        Ok(tx.update(
            &keys::subscriptions(tenant_id),
            "REMOVE #targets.#id",
            None,
            &[("#targets", TARGETS), ("#id", endpoint_id)],
            Vec::new(),
        ))
    }
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

    #[test]
    fn a_line_survives_its_stored_form() {
        let original = line(&["message.*", "contact.created"], false);
        let mut item = SubscriptionIndex::empty_item("tn_x");
        item.insert(
            TARGETS.into(),
            AttributeValue::M(HashMap::from([("ep_1".into(), original.to_attribute())])),
        );
        let index = Subscriptions::from_item(&item);
        assert_eq!(index.lines.get("ep_1"), Some(&original));
        assert!(
            Subscriptions::from_item(&SubscriptionIndex::empty_item("tn_x"))
                .lines
                .is_empty()
        );
    }
}
