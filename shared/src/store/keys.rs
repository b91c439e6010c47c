//! The single-table key scheme: the one place where keys are built.
//!
//! Every partition key starts with `T#{tenantId}` except the platform-wide tenant list and the
//! API-key-hash lookup, so a query built here can only ever reach one tenant's items.
//!
//! A delivery attempt is written once, to its endpoint's partition, and to an index only when
//! it failed: the tenant-wide listing merges the endpoints' partitions, so a successful
//! delivery costs one write unit for its log.
//!
//! A Meta event is stored under its natural Meta id, so the one conditional write that
//! stores it is also its deduplication.
//!
//! | item                 | pk                         | sk                          | gsi1pk / gsi1sk                       | gsi2pk / gsi2sk                        |
//! |----------------------|----------------------------|-----------------------------|---------------------------------------|----------------------------------------|
//! | tenant               | `T#{t}`                    | `TENANT`                    | `TENANTS` / `{t}`                     |                                        |
//! | integration          | `T#{t}`                    | `INTEGRATION#{kind}`        |                                       |                                        |
//! | audit entry          | `T#{t}#AUDIT`              | `{audId}`                   |                                       |                                        |
//! | endpoint             | `T#{t}`                    | `ENDPOINT#{whId}`           |                                       |                                        |
//! | workflow webhook     | `T#{t}`                    | `WORKFLOW#{wfId}`           |                                       |                                        |
//! | workflow name claim  | `T#{t}`                    | `WFNAME#{workflowName}`     |                                       |                                        |
//! | API key              | `T#{t}`                    | `APIKEY#{keyId}`            | (keys made before the lookup item: `APIKEYHASH#{sha256}` / `APIKEY`) |  |
//! | API key lookup       | `APIKEYHASH#{sha256}`      | `APIKEY`                    |                                       |                                        |
//! | rate window          | `T#{t}#RATE`               | `{keyId}#{minute}` (TTL)    |                                       |                                        |
//! | publish window       | `T#{t}#RATE`               | `PUBLISH#{minute}` (TTL)    |                                       |                                        |
//! | idempotency record   | `T#{t}#IDEM`               | `{scope}#{key}` (TTL)       |                                       |                                        |
//! | event                | `T#{t}#EVENTS`             | `{evtId}`                   | `T#{t}#EVENTTYPE#{type}` / `{evtId}`  |                                        |
//! | delivery attempt     | `T#{t}#EP#{whId}`          | `ATTEMPT#{delId}` (TTL)     |                                       | failed only: `T#{t}#ATTEMPTS#failed` / `{delId}` |
//! |   (to a workflow)    | `T#{t}#EP#{wfId}`          | `ATTEMPT#{delId}` (TTL)     |                                       | failed only: `T#{t}#WFATTEMPTS#failed` / `{delId}`|
//! |   (by event, gsi4)   |                            |                             | gsi4: `T#{t}#EVENTATTEMPTS#{evtId}` / `{delId}`, a summary ([`GSI4_INCLUDED`]) |      |
//! | endpoint counters    | `T#{t}#EP#{whId}`          | `STATS`                     |                                       |                                        |
//! | hourly counters      | `T#{t}#EP#{whId}`          | `HOUR#{yyyy-mm-ddThh}`      |                                       |                                        |
//! | Meta event           | `T#{t}#METAID`             | `{naturalId}` (TTL)         | `T#{t}#META` / `{mevId}`              | `T#{t}#METATYPE#{type}` / `{mevId}`    |
//! |   (status, gsi3)     |                            |                             | gsi3: `T#{t}#METASTATUS#{status}` / `{mevId}`                                  |
//! |   (person, gsi4)     |                            |                             | gsi4: `T#{t}#CONTACTMETA#{channel}#{externalId}` / `{mevId}` (erased with the person) |
//! | Meta hourly counters | `T#{t}#METASTATS`          | `HOUR#{yyyy-mm-ddThh}` (TTL)|                                       |                                        |
//! | Meta test suite      | `T#{t}#METASUITES`         | `{tsId}` (TTL)              |                                       |                                        |
//! | Meta subscription    | `T#{t}#METAGRAPH`          | `SUB#{channel}`             |                                       |                                        |
//! | Graph health check   | `T#{t}#METAGRAPH`          | `HEALTH#{channel}` (the last) |                                     |                                        |
//! | message              | `T#{t}#MESSAGES`           | `{msgId}`                   | `PROVIDERMSG#{provider}#{id}` / `{t}` |                                        |
//! | contact              | `T#{t}#CONTACTS`           | `{channel}#{externalId}`    | `T#{t}#CONTACTIDS` / `{conId}`        |                                        |
//! | erasure              | `T#{t}#ERASURES`           | `{ersId}`                   |                                       |                                        |
//! | export audit         | `T#{t}#EXPORTS`            | `{expId}`                   |                                       |                                        |
//! | failure alert sent   | `T#{t}#ALERTS`             | `DISABLED#{whId or wfId}` (TTL, a day) |                            |                                        |
//! | person (directory)   | `T#{t}#USERS`              | `{userId}` (TTL once removed) |                                     |                                        |
//! | sign-in failures     | `SIGNIN#{sha256(subject)}` | `{windowStart}` (TTL)       |                                       |                                        |
//!
//! Platform admins are people of the `platform` scope (`T#platform#USERS`), and changes to
//! them are audited under `T#platform#AUDIT`; tenant ids (`ten_…`) never collide with it.

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
pub const GSI2_PK: &str = "gsi2pk";
pub const GSI2_SK: &str = "gsi2sk";
pub const GSI3_PK: &str = "gsi3pk";
pub const GSI3_SK: &str = "gsi3sk";
pub const GSI4_PK: &str = "gsi4pk";
pub const GSI4_SK: &str = "gsi4sk";
/// Epoch seconds after which DynamoDB may delete the item.
pub const TTL: &str = "ttl";

pub const GSI1: &str = "gsi1";
pub const GSI2: &str = "gsi2";
pub const GSI3: &str = "gsi3";
/// Attempts by event. Unlike the other indexes it holds only a summary of each attempt
/// (these attributes besides the keys), so indexing an attempt costs one small write
/// however large its logged request and response.
pub const GSI4: &str = "gsi4";
pub const GSI4_INCLUDED: &[&str] = &[
    "endpointId",
    "deliveryId",
    "attempt",
    "success",
    "status",
    "statusCode",
    "responseTimeMs",
    "error",
    "willRetry",
    "nextAttemptAt",
    "createdAt",
];

/// Which key a query runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Primary,
    Gsi1,
    Gsi2,
    Gsi3,
    Gsi4,
}

impl Index {
    pub fn name(self) -> Option<&'static str> {
        match self {
            Index::Primary => None,
            Index::Gsi1 => Some(GSI1),
            Index::Gsi2 => Some(GSI2),
            Index::Gsi3 => Some(GSI3),
            Index::Gsi4 => Some(GSI4),
        }
    }

    pub fn partition_attr(self) -> &'static str {
        match self {
            Index::Primary => PK,
            Index::Gsi1 => GSI1_PK,
            Index::Gsi2 => GSI2_PK,
            Index::Gsi3 => GSI3_PK,
            Index::Gsi4 => GSI4_PK,
        }
    }

    pub fn sort_attr(self) -> &'static str {
        match self {
            Index::Primary => SK,
            Index::Gsi1 => GSI1_SK,
            Index::Gsi2 => GSI2_SK,
            Index::Gsi3 => GSI3_SK,
            Index::Gsi4 => GSI4_SK,
        }
    }
}

/// A table key (pk, sk).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    fn new(pk: String, sk: impl Into<String>) -> Self {
        Self { pk, sk: sk.into() }
    }

    /// The key of an item as read (from the table or from an index, which always carries
    /// the table's key).
    pub fn of_item(item: &super::Item) -> Result<Self, super::StoreError> {
        let part = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .ok_or_else(|| super::StoreError::Corrupt(format!("an item without {name}")))
        };
        Ok(Self::new(part(PK)?, part(SK)?))
    }
}

pub fn tenant_partition(tenant_id: &str) -> String {
    format!("T#{tenant_id}")
}

pub fn tenant(tenant_id: &str) -> Key {
    Key::new(tenant_partition(tenant_id), "TENANT")
}

pub const TENANT_LIST_PARTITION: &str = "TENANTS";

/// The tenant's subscription index: which endpoints and workflows want which events.
pub fn subscriptions(tenant_id: &str) -> Key {
    Key::new(tenant_partition(tenant_id), "SUBSCRIPTIONS")
}

pub fn integration(tenant_id: &str, kind: &str) -> Key {
    Key::new(tenant_partition(tenant_id), format!("INTEGRATION#{kind}"))
}

pub const ENDPOINT_PREFIX: &str = "ENDPOINT#";

/// Endpoints and n8n workflow webhooks share one shape; the id's prefix says which.
pub fn endpoint(tenant_id: &str, endpoint_id: &str) -> Key {
    let prefix = if endpoint_id.starts_with("wf_") {
        WORKFLOW_PREFIX
    } else {
        ENDPOINT_PREFIX
    };
    Key::new(
        tenant_partition(tenant_id),
        format!("{prefix}{endpoint_id}"),
    )
}

/// The claim that makes a workflow name unique within a tenant.
pub fn workflow_name(tenant_id: &str, name: &str) -> Key {
    Key::new(tenant_partition(tenant_id), format!("WFNAME#{name}"))
}

pub fn api_key(tenant_id: &str, key_id: &str) -> Key {
    Key::new(
        tenant_partition(tenant_id),
        format!("{API_KEY_PREFIX}{key_id}"),
    )
}

pub fn api_key_hash_partition(hash_hex: &str) -> String {
    format!("APIKEYHASH#{hash_hex}")
}

/// A copy of an API key's record under the hash of its secret, so that authenticating a
/// presented key is one strongly consistent read of a base item.
pub fn api_key_by_hash(hash_hex: &str) -> Key {
    Key::new(api_key_hash_partition(hash_hex), "APIKEY")
}

pub fn audit_partition(tenant_id: &str) -> String {
    format!("T#{tenant_id}#AUDIT")
}

pub fn events_partition(tenant_id: &str) -> String {
    format!("T#{tenant_id}#EVENTS")
}

/// gsi4 partition: the attempts at delivering one event, to every endpoint and workflow.
pub fn event_attempts(tenant_id: &str, event_id: &str) -> String {
    format!("T#{tenant_id}#EVENTATTEMPTS#{event_id}")
}

pub fn endpoint_partition(tenant_id: &str, endpoint_id: &str) -> String {
    format!("T#{tenant_id}#EP#{endpoint_id}")
}

/// A Meta event, keyed by its natural id (wamid, mid, comment id, status id + status).
pub fn meta_event(tenant_id: &str, natural_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#METAID"), natural_id)
}

/// The lease of the job processing a Meta event: a small item of its own, so taking it does
/// not rewrite the event and its three index entries.
pub fn meta_processing_lease(tenant_id: &str, natural_id: &str) -> Key {
    Key::new(format!("T#{tenant_id}#METALEASE"), natural_id)
}

/// gsi1 partition: a tenant's Meta events by id (time order).
pub fn meta_events_by_id(tenant_id: &str) -> String {
    format!("T#{tenant_id}#META")
}

/// gsi2 partition: a tenant's Meta events of one type.
pub fn meta_events_by_type(tenant_id: &str, event_type: &str) -> String {
    format!("T#{tenant_id}#METATYPE#{event_type}")
}

/// gsi3 partition: a tenant's Meta events in one processing status.
pub fn meta_events_by_status(tenant_id: &str, status: &str) -> String {
    format!("T#{tenant_id}#METASTATUS#{status}")
}

pub fn meta_stats_partition(tenant_id: &str) -> String {
    format!("T#{tenant_id}#METASTATS")
}

/// `hour` is `yyyy-mm-ddThh` (UTC).
pub fn meta_stats_hour(tenant_id: &str, hour: &str) -> Key {
    Key::new(meta_stats_partition(tenant_id), format!("HOUR#{hour}"))
}

/// A person's Meta events (gsi4), by the channel and id Meta knows them by.
pub fn meta_events_by_contact(tenant_id: &str, channel: &str, external_id: &str) -> String {
    format!("T#{tenant_id}#CONTACTMETA#{channel}#{external_id}")
}

/// A tenant's Meta subscriptions and the last Graph health check of each channel.
pub fn meta_graph_partition(tenant_id: &str) -> String {
    format!("T#{tenant_id}#METAGRAPH")
}

pub const META_SUBSCRIPTION_PREFIX: &str = "SUB#";
pub const META_GRAPH_HEALTH_PREFIX: &str = "HEALTH#";

pub fn meta_subscription(tenant_id: &str, channel: &str) -> Key {
    Key::new(
        meta_graph_partition(tenant_id),
        format!("{META_SUBSCRIPTION_PREFIX}{channel}"),
    )
}

pub fn meta_graph_health(tenant_id: &str, channel: &str) -> Key {
    Key::new(
        meta_graph_partition(tenant_id),
        format!("{META_GRAPH_HEALTH_PREFIX}{channel}"),
    )
}

pub fn meta_test_suites_partition(tenant_id: &str) -> String {
    format!("T#{tenant_id}#METASUITES")
}

pub fn meta_test_suite(tenant_id: &str, suite_id: &str) -> Key {
    Key::new(meta_test_suites_partition(tenant_id), suite_id)
}

pub fn contacts_partition(tenant_id: &str) -> String {
    format!("T#{tenant_id}#CONTACTS")
}

/// gsi1 partition: a tenant's contacts by id.
pub fn contacts_by_id(tenant_id: &str) -> String {
    format!("T#{tenant_id}#CONTACTIDS")
}

/// A contact, keyed by where it was seen, so that capture is an idempotent upsert.
pub fn contact(tenant_id: &str, channel: &str, external_id: &str) -> Key {
    Key::new(
        contacts_partition(tenant_id),
        format!("{channel}#{external_id}"),
    )
}

pub fn export_record(tenant_id: &str, export_id: &str) -> Key {
    Key::new(exports_partition(tenant_id), export_id)
}

pub fn exports_partition(tenant_id: &str) -> String {
    format!("T#{tenant_id}#EXPORTS")
}

pub fn rate_window(tenant_id: &str, key_id: &str, minute: i64) -> Key {
    Key::new(format!("T#{tenant_id}#RATE"), format!("{key_id}#{minute}"))
}

/// The tenant's publishes in one minute (a rate window, like an API key's).
pub fn publish_window(tenant_id: &str, minute: i64) -> Key {
    Key::new(format!("T#{tenant_id}#RATE"), format!("PUBLISH#{minute}"))
}

pub fn audit_entry(tenant_id: &str, audit_id: &str) -> Key {
    Key::new(audit_partition(tenant_id), audit_id)
}

/// The scope of platform-wide people and their audit entries, beside the tenants'.
pub const PLATFORM_SCOPE: &str = "platform";

/// A person in the directory of `scope`: a tenant id, or [`PLATFORM_SCOPE`].
pub fn person(scope: &str, user_id: &str) -> Key {
    Key::new(people_partition(scope), user_id)
}

pub fn people_partition(scope: &str) -> String {
    format!("T#{scope}#USERS")
}

/// Failed sign-ins of one subject (an email or an address, hashed) in one window.
pub fn sign_in_failures(subject_hash: &str, window_start: i64) -> Key {
    Key::new(format!("SIGNIN#{subject_hash}"), window_start.to_string())
}

pub const API_KEY_PREFIX: &str = "APIKEY#";
pub const WORKFLOW_PREFIX: &str = "WORKFLOW#";

/// Every partition holding a tenant's items, for erasing a tenant: the fixed ones, and one
/// per endpoint or workflow (their attempt logs and counters). Keep in step with the table
/// above.
pub fn tenant_partitions(tenant_id: &str, endpoint_ids: &[String]) -> Vec<String> {
    let mut partitions: Vec<String> = [
        "",
        "#AUDIT",
        "#RATE",
        "#IDEM",
        "#EVENTS",
        "#META",
        "#METAID",
        "#METASTATS",
        "#METASUITES",
        "#METAGRAPH",
        "#MESSAGES",
        "#CONTACTS",
        "#EXPORTS",
        "#USERS",
        "#ERASURES",
        "#ALERTS",
    ]
    .iter()
    .map(|suffix| format!("T#{tenant_id}{suffix}"))
    .collect();
    partitions.extend(
        endpoint_ids
            .iter()
            .map(|id| endpoint_partition(tenant_id, id)),
    );
    partitions
}

pub fn erasures_partition(tenant_id: &str) -> String {
    format!("T#{tenant_id}#ERASURES")
}

pub fn erasure(tenant_id: &str, erasure_id: &str) -> Key {
    Key::new(erasures_partition(tenant_id), erasure_id)
}

/// The record that a tenant was emailed about a disabled endpoint or workflow; while it
/// lives (a day) no other email about it goes out.
pub fn disabled_alert(tenant_id: &str, endpoint_id: &str) -> Key {
    Key::new(
        format!("T#{tenant_id}#ALERTS"),
        format!("DISABLED#{endpoint_id}"),
    )
}

pub fn idempotency(tenant_id: &str, scope: &str, key: &str) -> Key {
    Key::new(format!("T#{tenant_id}#IDEM"), format!("{scope}#{key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tenant_key_is_scoped_by_tenant() {
        let t = "ten_01";
        for key in [
            tenant(t),
            integration(t, "whatsapp"),
            endpoint(t, "wh_1"),
            api_key(t, "key_1"),
            meta_event(t, "wa:wamid.X"),
            meta_stats_hour(t, "2026-11-22T10"),
            meta_test_suite(t, "ts_1"),
            contact(t, "whatsapp", "16505551234"),
            idempotency(t, "events", "abc"),
            person(t, "user-1"),
        ] {
            assert!(key.pk.starts_with("T#ten_01"), "{key:?}");
        }
        for pk in [
            audit_partition(t),
            events_partition(t),
            endpoint_partition(t, "wh_1"),
            meta_events_by_id(t),
            meta_events_by_type(t, "message.received"),
            meta_events_by_status(t, "failed"),
            event_attempts(t, "evt_1"),
        ] {
            assert!(pk.starts_with("T#ten_01#"));
        }
    }
}
