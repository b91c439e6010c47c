//! The event-type catalog: every type a tenant can subscribe to, with a description and a
//! realistic sample payload (what `POST /webhooks/{id}/test` sends).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

pub struct EventType {
    pub name: &'static str,
    pub description: &'static str,
}

const fn t(name: &'static str, description: &'static str) -> EventType {
    EventType { name, description }
}

pub const EVENT_TYPES: &[EventType] = &[
    t(
        "message.received",
        "An inbound WhatsApp, Instagram or Messenger message",
    ),
    t(
        "message.sent",
        "An outbound message was accepted by the provider",
    ),
    t(
        "message.delivered",
        "An outbound message reached the recipient's device",
    ),
    t("message.read", "The recipient read an outbound message"),
    t(
        "message.failed",
        "An outbound message could not be delivered",
    ),
    t(
        "message.reaction",
        "A reaction was added to or removed from a message",
    ),
    t("message.postback", "A button or quick reply was tapped"),
    t(
        "message.referral",
        "A conversation started from an ad, link or shop",
    ),
    t(
        "message.seen",
        "The recipient saw the conversation (Instagram/Messenger read)",
    ),
    t("comment.created", "A comment on a post or reel"),
    t("live_comment.created", "A comment during a live broadcast"),
    t(
        "mention.created",
        "The account was mentioned in a comment or story",
    ),
    t(
        "meta.unknown",
        "A Meta webhook item of a kind hookhub does not normalise",
    ),
    t("conversation.created", "A conversation was opened"),
    t("conversation.updated", "A conversation changed"),
    t(
        "conversation.assigned",
        "A conversation was assigned to an agent",
    ),
    t(
        "conversation.resolved",
        "A conversation was marked resolved",
    ),
    t("conversation.closed", "A conversation was closed"),
    t("contact.created", "A contact was created or first seen"),
    t("contact.updated", "A contact changed"),
    t("contact.deleted", "A contact was deleted"),
    t("campaign.started", "A broadcast campaign started sending"),
    t("campaign.completed", "A broadcast campaign finished"),
    t("campaign.failed", "A broadcast campaign failed"),
    t("flow.started", "A chatbot flow started for a contact"),
    t("flow.completed", "A chatbot flow finished"),
    t("flow.failed", "A chatbot flow failed"),
    t("automation.triggered", "An automation rule fired"),
    t(
        "automation.completed",
        "An automation rule finished its actions",
    ),
    t(
        "template.approved",
        "A WhatsApp message template was approved",
    ),
    t(
        "template.rejected",
        "A WhatsApp message template was rejected",
    ),
    t(
        "template.status_updated",
        "A WhatsApp message template's status changed otherwise (paused, disabled, flagged, pending deletion, reinstated…)",
    ),
    t("user.created", "A user was created"),
    t("user.updated", "A user changed"),
    t("user.deleted", "A user was deleted"),
    t("booking.created", "A booking was made"),
    t("booking.updated", "A booking changed"),
    t("booking.cancelled", "A booking was cancelled"),
    t("booking.completed", "A booking was completed"),
    t("qr.scanned", "A QR code was scanned"),
    t("qr.validated", "A QR code was validated"),
    t("tag.added", "A tag was added to a contact"),
    t("tag.removed", "A tag was removed from a contact"),
    t("customfield.updated", "A custom field value changed"),
    t("transaction.created", "A transaction was created"),
    t("transaction.updated", "A transaction changed"),
    t("transaction.deleted", "A transaction was deleted"),
    t("property.created", "A property was created"),
    t("property.updated", "A property changed"),
    t("property.deleted", "A property was deleted"),
    t("webhook.test", "A test delivery sent from the API"),
    t(
        "endpoint.disabled",
        "An endpoint was disabled after consecutive failures",
    ),
    t(
        "workflow.call",
        "A direct call of an n8n workflow webhook (by id, by name, or broadcast)",
    ),
];

/// Types hookhub emits about its own state: a tenant cannot publish them, so a receiver can
/// trust that `endpoint.disabled` means an endpoint was disabled.
const HOOKHUB_ONLY: &[&str] = &["endpoint.disabled", "webhook.test", "workflow.call"];

/// Who besides the tenant's own publishes makes events of the type: `meta` (hookhub makes
/// them from Meta's webhooks) and `hookhub` (hookhub emits them: message statuses it learns
/// from providers, contact changes, its own state). Types with neither come only from the
/// tenant's publishes (`api`).
pub fn emitted_by(name: &str) -> &'static [&'static str] {
    match name {
        "message.received"
        | "message.reaction"
        | "message.postback"
        | "message.referral"
        | "message.seen"
        | "message.read"
        | "message.delivered"
        | "comment.created"
        | "live_comment.created"
        | "mention.created"
        | "meta.unknown"
        | "template.approved"
        | "template.rejected"
        | "template.status_updated" => &["meta"],
        "message.sent" | "message.failed" => &["meta", "hookhub"],
        "contact.created"
        | "contact.updated"
        | "contact.deleted"
        | "tag.added"
        | "tag.removed"
        | "customfield.updated"
        | "endpoint.disabled" => &["hookhub"],
        _ => &[],
    }
}

/// Whether tenants may publish the type through `POST /api/v1/events`.
pub fn is_publishable(name: &str) -> bool {
    is_known(name) && !HOOKHUB_ONLY.contains(&name)
}

/// Where a delivered event came from, as its payload's `source` says: `api` (published by
/// the tenant, or a test it sent), `meta` (made from a Meta webhook) or `hookhub` (emitted
/// by hookhub: message statuses, contact changes, its own state).
pub fn origin(stored_source: &str) -> &'static str {
    match stored_source {
        "api" | "test" => "api",
        "meta" => "meta",
        _ => "hookhub",
    }
}

/// The stored sources an origin covers, for filtering events by origin.
pub fn sources_of(origin: &str) -> &'static [&'static str] {
    match origin {
        "api" => &["api", "test"],
        "meta" => &["meta"],
        "hookhub" => &["system", "messages", "contacts"],
        _ => &[],
    }
}

/// Every delivered payload's fields, described for the catalog.
pub const PAYLOAD: &[(&str, &str)] = &[
    (
        "id",
        "the event's id, also the webhook-id header: deduplicate on it",
    ),
    ("event", "the event's type"),
    ("timestamp", "when the event happened (RFC 3339)"),
    ("tenantId", "the tenant the event belongs to"),
    ("source", "where the event came from: api, meta or hookhub"),
    (
        "data",
        "the event's data, as published (a type's sample shows its shape)",
    ),
    (
        "metadata",
        "about this delivery: attempt (1 for the first, then each retry), tenantId, source",
    ),
];

/// The values of [`origin`], described for the catalog.
pub const ORIGINS: &[(&str, &str)] = &[
    (
        "api",
        "published by the tenant through the API, or a test delivery it sent",
    ),
    ("meta", "made by hookhub from a verified Meta webhook"),
    (
        "hookhub",
        "emitted by hookhub: message statuses, contact changes and its own state",
    ),
];

/// Hookhub's name for a type another product's documents spell otherwise.
pub fn canonical(name: &str) -> &str {
    match name {
        "message.new" => "message.received",
        other => other,
    }
}

pub fn is_known(name: &str) -> bool {
    EVENT_TYPES.iter().any(|e| e.name == name)
}

fn is_known_prefix(prefix: &str) -> bool {
    EVENT_TYPES
        .iter()
        .any(|e| e.name.split_once('.').is_some_and(|(p, _)| p == prefix))
}

/// A subscription pattern: an exact type, `prefix.*`, or `*`.
pub fn is_valid_pattern(pattern: &str) -> bool {
    pattern == "*" || is_known(pattern) || pattern.strip_suffix(".*").is_some_and(is_known_prefix)
}

pub fn matches(pattern: &str, event_type: &str) -> bool {
    pattern == "*"
        || pattern == event_type
        || pattern
            .strip_suffix(".*")
            .is_some_and(|prefix| event_type.split_once('.').is_some_and(|(p, _)| p == prefix))
}

pub fn subscribed(patterns: &[String], event_type: &str) -> bool {
    patterns.iter().any(|p| matches(p, event_type))
}

/// A realistic sample of `data` for the type.
pub fn sample(name: &str) -> Value {
    let (resource, action) = name.split_once('.').unwrap_or((name, ""));
    let contact = json!({
        "id": "con_01JDQ7Y3ZK5V8X9W2M4N6P8R0T", "name": "Sheena Nelson", "phone": "+16505551234",
        "email": "sheena@example.com", "tags": ["vip"], "customFields": {"favorite_drink": "Cappuccino"}
    });
    match resource {
        "message" => json!({
            "message": {
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                "channel": "whatsapp", "direction": if action == "received" { "inbound" } else { "outbound" },
                "from": "+16505551234", "to": "+15550783881", "type": "text",
                "text": "Does it come in another color?", "status": action,
                "timestamp": "2026-11-22T10:30:00.000Z"
            },
            "contact": contact
        }),
        "comment" | "live_comment" | "mention" => json!({
            "comment": {"id": "17865799348089039", "mediaId": "17895695668004550", "text": "Love this!",
                        "from": {"id": "17841405309211844", "username": "sheena.nelson"}},
            "channel": "instagram"
        }),
        "meta" => {
            json!({"object": "instagram", "field": "story_insights", "raw": {"media_id": "17887498072083520"}})
        }
        "conversation" => {
            json!({"conversation": {"id": "cnv_01JDQ7Y3ZK5V8X9W2M4N6P8R0T", "channel": "whatsapp",
                                  "status": action, "assignee": "agent@example.com"}, "contact": contact})
        }
        "contact" | "user" => {
            json!({ resource: contact, "changes": if action == "updated" { json!(["email"]) } else { json!([]) } })
        }
        "campaign" => {
            json!({"campaign": {"id": "cmp_01JDQ7Y3ZK5V8X9W2M4N6P8R0T", "name": "Black Friday", "status": action,
                              "recipients": 1200, "sent": 1187, "failed": 13}})
        }
        "flow" => {
            json!({"flow": {"id": "flw_01JDQ7Y3ZK5V8X9W2M4N6P8R0T", "name": "Welcome", "status": action}, "contact": contact})
        }
        "automation" => {
            json!({"automation": {"id": "aut_01JDQ7Y3ZK5V8X9W2M4N6P8R0T", "name": "Tag buyers", "trigger": "message.received"}})
        }
        "template" => {
            json!({"template": {"id": "1234567890123456", "name": "order_update", "language": "en_US",
                              "status": if action == "status_updated" { "paused" } else { action }, "reason": null},
                   "accountId": "102290129340398"})
        }
        "booking" => {
            json!({"booking": {"id": "bkg_01JDQ7Y3ZK5V8X9W2M4N6P8R0T", "startsAt": "2026-12-01T18:00:00Z",
                             "partySize": 4, "status": action}, "contact": contact})
        }
        "qr" => {
            json!({"qrCode": {"id": "qr_01JDQ7Y3ZK5V8X9W2M4N6P8R0T", "code": "FK-7731"}, "contact": contact, "scannedBy": "staff@example.com"})
        }
        "tag" => {
            json!({"contact": contact, "tag": {"name": "vip", "at": "2026-11-22T09:00:00.000Z"}})
        }
        "customfield" => {
            json!({"contact": contact, "field": {"name": "loyalty_points", "oldValue": "140", "newValue": "150"}})
        }
        "transaction" => {
            json!({"transaction": {"id": "trx_01JDQ7Y3ZK5V8X9W2M4N6P8R0T", "amount": 4250, "currency": "USD", "status": "closed"}})
        }
        "property" => {
            json!({"property": {"id": "prp_01JDQ7Y3ZK5V8X9W2M4N6P8R0T", "address": "1 Main St", "price": 525000}})
        }
        "webhook" => {
            json!({"message": "This is a test delivery from hookhub", "triggeredBy": "api"})
        }
        "workflow" => {
            json!({"name": "Jane Smith", "email": "jane@example.com", "message": "Hello!"})
        }
        "endpoint" => {
            json!({"endpoint": {"id": "wh_01JDQ7Y3ZK5V8X9W2M4N6P8R0T", "url": "https://example.com/hooks"},
                              "reason": "10 consecutive failed delivery attempts", "consecutiveFailures": 10})
        }
        _ => json!({}),
    }
}

/// Every subscription pattern: `*`, each `prefix.*`, then each type.
pub fn patterns() -> Vec<String> {
    let mut prefixes: Vec<&str> = Vec::new();
    for e in EVENT_TYPES {
        let prefix = e.name.split_once('.').map_or(e.name, |(p, _)| p);
        if !prefixes.contains(&prefix) {
            prefixes.push(prefix);
        }
    }
    std::iter::once("*".to_string())
        .chain(prefixes.iter().map(|p| format!("{p}.*")))
        .chain(EVENT_TYPES.iter().map(|e| e.name.to_string()))
        .collect()
}

/// The catalog as `GET /api/v1/webhooks/events` shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Catalog))]
pub struct CatalogView {
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub data: Vec<EventTypeView>,
    /// the patterns besides exact types: * and <prefix>.*
    pub wildcards: Vec<&'static str>,
    /// the values of a delivered payload's source field: api, meta, hookhub
    pub sources: BTreeMap<&'static str, &'static str>,
    /// every delivered payload's fields: id, event, timestamp, tenantId, source, data, and
    /// metadata (attempt, tenantId, source)
    pub payload: BTreeMap<&'static str, &'static str>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventTypeView {
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(value_type = EventType))]
    pub name: &'static str,
    pub description: &'static str,
    /// what POST /api/v1/webhooks/{webhookId}/test sends as data
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub sample: Value,
    /// false for the types hookhub emits about its own state (endpoint.disabled,
    /// webhook.test, workflow.call): POST /api/v1/events refuses them
    pub publishable: bool,
    /// who besides the tenant's own publishes makes events of this type: meta (hookhub makes
    /// them from Meta's webhooks) or hookhub (message statuses, contact, tag and custom field
    /// changes, its own state); empty when only tenants publish it
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::emitters))]
    pub emitted_by: &'static [&'static str],
}

impl CatalogView {
    pub fn new() -> Self {
        Self {
            data: EVENT_TYPES
                .iter()
                .map(|e| EventTypeView {
                    name: e.name,
                    description: e.description,
                    sample: sample(e.name),
                    publishable: is_publishable(e.name),
                    emitted_by: emitted_by(e.name),
                })
                .collect(),
            wildcards: vec!["*", "<prefix>.*"],
            sources: ORIGINS.iter().copied().collect(),
            payload: PAYLOAD.iter().copied().collect(),
        }
    }
}

impl Default for CatalogView {
    fn default() -> Self {
        Self::new()
    }
}

/// The catalog's enums, from the catalog itself.
#[cfg(feature = "openapi")]
pub mod openapi {
    use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, ObjectBuilder, Type};
    use utoipa::openapi::{Deprecated, Ref, RefOr, Schema};

    use super::{EventType, EVENT_TYPES, ORIGINS};

    fn strings(values: impl IntoIterator<Item = String>) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values))
    }

    /// `EventType`: a type of the catalog.
    impl utoipa::PartialSchema for EventType {
        fn schema() -> RefOr<Schema> {
            strings(EVENT_TYPES.iter().map(|e| e.name.to_string()))
                .description(Some("A type of the catalog (GET /api/v1/webhooks/events)"))
                .into()
        }
    }

    impl utoipa::ToSchema for EventType {}

    /// What a subscription matches: a type of the catalog, `prefix.*` or `*`.
    pub struct EventPattern;

    impl utoipa::PartialSchema for EventPattern {
        fn schema() -> RefOr<Schema> {
            strings(super::patterns())
                .description(Some(
                    "What a subscription matches: a type of the catalog, prefix.* or *",
                ))
                .into()
        }
    }

    impl utoipa::ToSchema for EventPattern {}

    /// A type to publish: one of the catalog, or `message.new`, another spelling.
    pub fn publishable_type() -> AnyOfBuilder {
        AnyOfBuilder::new()
            .item(Ref::from_schema_name("EventType"))
            .item(
                strings(["message.new".to_string()])
                    .deprecated(Some(Deprecated::True))
                    .description(Some("another spelling of message.received")),
            )
    }

    /// A type to send as a test; null or absent: webhook.test.
    pub fn test_type() -> AnyOfBuilder {
        AnyOfBuilder::new()
            .item(Ref::from_schema_name("EventType"))
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .description(Some("null or absent: webhook.test"))
    }

    /// An event's origin, as its payload's `source` says.
    pub fn origin_schema() -> ObjectBuilder {
        strings(ORIGINS.iter().map(|(name, _)| name.to_string())).description(Some(
            "where it came from, as its payload says: api (published by the tenant, or a test it sent), meta (made from a Meta webhook), hookhub (emitted by hookhub)",
        ))
    }

    /// Who emits a type besides the tenant.
    pub fn emitters() -> ArrayBuilder {
        ArrayBuilder::new().items(strings(["meta".to_string(), "hookhub".to_string()]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hookhub_only_types_are_known_and_not_publishable() {
        for name in HOOKHUB_ONLY {
            assert!(is_known(name), "{name}");
            assert!(!is_publishable(name), "{name}");
        }
        assert!(is_publishable("contact.created"));
        assert!(!is_publishable("nope.nope"));
        assert_eq!(origin("test"), "api");
        assert_eq!(origin("contacts"), "hookhub");
        assert_eq!(origin("system"), "hookhub");
    }

    #[test]
    fn patterns() {
        assert!(is_valid_pattern("*"));
        assert!(is_valid_pattern("message.*"));
        assert!(is_valid_pattern("booking.created"));
        assert!(!is_valid_pattern("nope.*"));
        assert!(!is_valid_pattern("message.exploded"));
        assert!(!is_valid_pattern("message*"));
        assert!(matches("message.*", "message.read"));
        assert!(!matches("message.*", "messages.read"));
        assert!(!matches("message.*", "comment.created"));
        assert!(matches("*", "webhook.test"));
    }

    #[test]
    fn every_type_has_a_non_empty_sample() {
        for e in EVENT_TYPES {
            let s = sample(e.name);
            assert!(s.as_object().is_some_and(|o| !o.is_empty()), "{}", e.name);
        }
        let names: std::collections::HashSet<_> = EVENT_TYPES.iter().map(|e| e.name).collect();
        assert_eq!(names.len(), EVENT_TYPES.len(), "no duplicates");
    }
}
