//! Splitting a verified Meta webhook body into items, on the request path.
//!
//! One item per WhatsApp message or status, per Instagram/Messenger messaging item, per
//! change. Each keeps its exact bytes from the body (`raw`), a natural id for deduplication,
//! its event type and what the contact book and message statuses need. Anything not
//! recognised becomes `meta.unknown` with a content hash as its natural id: stored, never
//! dropped.
//!
//! The body is read once into a [`Tape`]; items borrow from it. The normalised document
//! subscribers receive is built later, off the request path, from the raw item
//! ([`MetaItem::data`], [`super::normalize`]).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::normalize::{self, DataContext};
use super::tape::{Kind, NodeId, Tape};

pub const UNKNOWN: &str = "meta.unknown";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SplitError {
    #[error("body is not valid JSON: {0}")]
    NotJson(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Whatsapp,
    Instagram,
    Messenger,
    Unknown,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Whatsapp => "whatsapp",
            Channel::Instagram => "instagram",
            Channel::Messenger => "messenger",
            Channel::Unknown => "unknown",
        }
    }

    fn id_prefix(self) -> &'static str {
        match self {
            Channel::Whatsapp => "wa",
            Channel::Instagram => "ig",
            Channel::Messenger => "fb",
            Channel::Unknown => "meta",
        }
    }

    fn of_object(object: &str) -> Self {
        match object {
            "whatsapp_business_account" => Channel::Whatsapp,
            "instagram" => Channel::Instagram,
            "page" => Channel::Messenger,
            _ => Channel::Unknown,
        }
    }
}

/// Someone who wrote to the tenant, for the contact book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactSeen<'a> {
    pub channel: Channel,
    pub external_id: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<Cow<'a, str>>,
}

impl ContactSeen<'_> {
    pub fn into_owned(self) -> ContactSeen<'static> {
        ContactSeen {
            channel: self.channel,
            external_id: Cow::Owned(self.external_id.into_owned()),
            name: self.name.map(|n| Cow::Owned(n.into_owned())),
            username: self.username.map(|u| Cow::Owned(u.into_owned())),
        }
    }
}

/// A WhatsApp delivery status for a message the tenant sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub provider_message_id: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

/// The WhatsApp business number an item came to (from its change's `metadata`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BusinessNumber<'a> {
    pub phone_number_id: Option<Cow<'a, str>>,
    pub display_number: Option<Cow<'a, str>>,
}

/// What an item is deduplicated by, `{channel}:{key}[:{qualifier}]` (`wa:wamid.HBg…`,
/// `wa:wamid.HBg…:delivered`, `ig:comment:1790…`), its parts borrowed from the body where
/// they can be: a 1,000-message body is split without an allocation per message.
#[derive(Debug, Clone)]
pub struct NaturalId<'a> {
    channel: Channel,
    key: Cow<'a, str>,
    qualifier: Option<Cow<'a, str>>,
}

impl std::fmt::Display for NaturalId<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.channel.id_prefix(), self.key)?;
        match &self.qualifier {
            Some(qualifier) => write!(f, ":{qualifier}"),
            None => Ok(()),
        }
    }
}

impl NaturalId<'_> {
    /// The part after the channel: the Meta id, or what stands in for one.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether `text` is this id written out, without writing it out.
    pub fn is(&self, text: &str) -> bool {
        let rest = text
            .strip_prefix(self.channel.id_prefix())
            .and_then(|rest| rest.strip_prefix(':'))
            .and_then(|rest| rest.strip_prefix(&*self.key));
        match (rest, &self.qualifier) {
            (Some(rest), None) => rest.is_empty(),
            (Some(rest), Some(qualifier)) => rest.strip_prefix(':') == Some(&**qualifier),
            (None, _) => false,
        }
    }
}

/// Two ids are equal when they are written the same (`wa:a:b` whichever part holds `:b`).
impl PartialEq for NaturalId<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.is(&other.to_string())
    }
}

impl PartialEq<&str> for NaturalId<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.is(other)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetaItem<'a> {
    pub natural_id: NaturalId<'a>,
    pub event_type: &'static str,
    pub channel: Channel,
    pub object: Cow<'a, str>,
    pub field: Option<Cow<'a, str>>,
    pub account_id: Option<Cow<'a, str>>,
    pub business: BusinessNumber<'a>,
    /// Epoch milliseconds, when Meta says it happened.
    pub occurred_at: Option<i64>,
    /// The item exactly as it appeared in the body.
    pub raw: &'a str,
    pub contact: Option<ContactSeen<'a>>,
    /// Boxed: rare, and items are moved around by the thousand.
    pub status_report: Option<Box<StatusReport>>,
}

impl MetaItem<'_> {
    /// The normalised document subscribers receive (built from `raw`, not kept).
    pub fn data(&self) -> Value {
        let occurred_at = self.occurred_at.and_then(rfc3339_millis);
        normalize::data(
            &DataContext {
                channel: self.channel,
                event_type: self.event_type,
                object: &self.object,
                field: self.field.as_deref(),
                account_id: self.account_id.as_deref(),
                occurred_at: occurred_at.as_deref(),
                phone_number_id: self.business.phone_number_id.as_deref(),
                business_number: self.business.display_number.as_deref(),
                contact_name: self.contact.as_ref().and_then(|c| c.name.as_deref()),
            },
            self.raw,
        )
    }
}

/// Splits a body that has already passed the signature check.
pub fn split(body: &[u8]) -> Result<Vec<MetaItem<'_>>, SplitError> {
    let text = std::str::from_utf8(body).map_err(|e| SplitError::NotJson(e.to_string()))?;
    let tape = Tape::parse(text).map_err(|e| SplitError::NotJson(e.to_string()))?;
    let root = Tape::ROOT;
    let object = match tape.get(root, "object") {
        Some(node) if tape.kind(node) != Kind::Null => tape.str(node),
        _ => Some(Cow::Borrowed("")),
    };
    let entries = tape
        .get(root, "entry")
        .filter(|&e| tape.kind(e) == Kind::Array);
    let (Some(object), Some(entries)) = (object, entries) else {
        let whole = Ctx::new("".into(), None, None);
        return Ok(vec![whole.unknown(None, text)]);
    };
    let splitter = Splitter {
        tape: &tape,
        channel: Channel::of_object(&object),
        object,
    };
    // A WhatsApp message or status takes some 200 bytes of a body.
    let mut items = Vec::with_capacity(text.len() / 256 + 1);
    for entry in tape.elements(entries) {
        splitter.entry(entry, &mut items);
    }
    Ok(items)
}

struct Splitter<'t, 'a> {
    tape: &'t Tape<'a>,
    object: Cow<'a, str>,
    channel: Channel,
}

/// Where an item sits: what every item of one entry (or change) shares.
#[derive(Clone)]
struct Ctx<'a> {
    object: Cow<'a, str>,
    channel: Channel,
    account_id: Option<Cow<'a, str>>,
    field: Option<Cow<'a, str>>,
    business: BusinessNumber<'a>,
}

impl<'a> Ctx<'a> {
    fn new(
        object: Cow<'a, str>,
        account_id: Option<Cow<'a, str>>,
        field: Option<Cow<'a, str>>,
    ) -> Self {
        Self {
            channel: Channel::of_object(&object),
            object,
            account_id,
            field,
            business: BusinessNumber::default(),
        }
    }

    fn item(
        &self,
        key: Cow<'a, str>,
        event_type: &'static str,
        occurred_at: Option<i64>,
        raw: &'a str,
    ) -> MetaItem<'a> {
        MetaItem {
            natural_id: NaturalId {
                channel: self.channel,
                key,
                qualifier: None,
            },
            event_type,
            channel: self.channel,
            object: self.object.clone(),
            field: self.field.clone(),
            account_id: self.account_id.clone(),
            business: self.business.clone(),
            occurred_at,
            raw,
            contact: None,
            status_report: None,
        }
    }

    /// Anything not recognised: kept whole, keyed by a hash of where it came from and its
    /// bytes (Meta's retries carry the same bytes, so they still deduplicate).
    fn unknown(&self, occurred_at: Option<i64>, raw: &'a str) -> MetaItem<'a> {
        let field = self.field.as_deref().unwrap_or("");
        let account_id = self.account_id.as_deref().unwrap_or("");
        let mut parts: Vec<&[u8]> = Vec::with_capacity(8);
        for part in [&*self.object, field, account_id, raw] {
            parts.extend([part.as_bytes(), b"\0"]);
        }
        let digest = hex::encode(&crate::digest::sha256(&parts)[..16]);
        let mut item = self.item(
            format!("unknown:{digest}").into(),
            UNKNOWN,
            occurred_at,
            raw,
        );
        item.business = BusinessNumber::default();
        item
    }
}

impl<'a> Splitter<'_, 'a> {
    fn ctx(&self, account_id: Option<Cow<'a, str>>, field: Option<Cow<'a, str>>) -> Ctx<'a> {
        Ctx::new(self.object.clone(), account_id, field)
    }

    /// Present and not an array: the entry (or value) is not the shape Meta documents.
    fn not_array(&self, node: Option<NodeId>) -> bool {
        node.is_some_and(|n| self.tape.kind(n) != Kind::Array)
    }

    fn entry(&self, entry: NodeId, items: &mut Vec<MetaItem<'a>>) {
        let tape = self.tape;
        let raw_entry = tape.raw(entry);
        if tape.kind(entry) != Kind::Object {
            items.push(self.ctx(None, None).unknown(None, raw_entry));
            return;
        }
        let [changes, messaging, standby] =
            ["changes", "messaging", "standby"].map(|key| tape.get(entry, key));
        if [changes, messaging, standby]
            .iter()
            .any(|&n| self.not_array(n))
        {
            items.push(self.ctx(None, None).unknown(None, raw_entry));
            return;
        }
        let account_id = tape.get(entry, "id").and_then(|n| id_text(tape, n));
        let entry_time = tape.get(entry, "time").and_then(|n| epoch_millis(tape, n));
        let elements = |node: Option<NodeId>| node.into_iter().flat_map(|n| tape.elements(n));
        if elements(changes)
            .chain(elements(messaging))
            .chain(elements(standby))
            .next()
            .is_none()
        {
            items.push(self.ctx(account_id, None).unknown(entry_time, raw_entry));
            return;
        }
        for change in elements(changes) {
            // A change that is not an object, or whose field is not text, has neither.
            let field_node = tape.get(change, "field");
            let field = field_node.and_then(|n| tape.str(n));
            let shaped =
                tape.kind(change) == Kind::Object && field_node.is_none_or(|_| field.is_some());
            let (field, value) = if shaped {
                let value = tape.get(change, "value");
                (field, value.filter(|&v| tape.kind(v) != Kind::Null))
            } else {
                (None, None)
            };
            let ctx = self.ctx(account_id.clone(), field.clone());
            match (self.channel, field.as_deref(), value) {
                (Channel::Whatsapp, Some("messages"), Some(value)) => {
                    self.whatsapp(ctx, value, items)
                }
                (Channel::Whatsapp, Some("message_template_status_update"), Some(value)) => {
                    items.push(self.template_status(&ctx, value, entry_time))
                }
                (Channel::Instagram | Channel::Messenger, Some(field), Some(value)) => {
                    items.push(self.instagram_change(&ctx, field, value, entry_time))
                }
                _ => items.push(ctx.unknown(entry_time, tape.raw(change))),
            }
        }
        let ctx = self.ctx(account_id, None);
        for item in elements(messaging).chain(elements(standby)) {
            items.push(self.messaging_item(&ctx, item));
        }
    }

    /// A message template's review or status change: `APPROVED` and `REJECTED` have types
    /// of their own, every other status (`PAUSED`, `DISABLED`, `FLAGGED`,
    /// `PENDING_DELETION`…) is `template.status_updated`. The change has no id of its own,
    /// so its natural id is a hash of the account and the change, the same for Meta's
    /// retries of it.
    fn template_status(
        &self,
        ctx: &Ctx<'a>,
        value: NodeId,
        entry_time: Option<i64>,
    ) -> MetaItem<'a> {
        let tape = self.tape;
        let raw = tape.raw(value);
        let status = tape.get(value, "event").and_then(|n| tape.str(n));
        let event_type = match status.as_deref() {
            Some("APPROVED") => "template.approved",
            Some("REJECTED") => "template.rejected",
            Some(_) => "template.status_updated",
            None => return ctx.unknown(entry_time, raw),
        };
        let account_id = ctx.account_id.as_deref().unwrap_or("");
        let digest = hex::encode(
            &crate::digest::sha256(&[account_id.as_bytes(), b"\0", raw.as_bytes()])[..16],
        );
        ctx.item(
            format!("template:{digest}").into(),
            event_type,
            entry_time,
            raw,
        )
    }

    fn whatsapp(&self, mut ctx: Ctx<'a>, value: NodeId, items: &mut Vec<MetaItem<'a>>) {
        let tape = self.tape;
        let [contacts, messages, statuses] =
            ["contacts", "messages", "statuses"].map(|key| tape.get(value, key));
        if tape.kind(value) != Kind::Object
            || [contacts, messages, statuses]
                .iter()
                .any(|&n| self.not_array(n))
        {
            items.push(ctx.unknown(None, tape.raw(value)));
            return;
        }
        let elements = |node: Option<NodeId>| node.into_iter().flat_map(|n| tape.elements(n));
        if elements(messages)
            .chain(elements(statuses))
            .next()
            .is_none()
        {
            items.push(ctx.unknown(None, tape.raw(value)));
        }
        let metadata = tape.get(value, "metadata");
        let metadata_id = |key| {
            metadata
                .and_then(|m| tape.get(m, key))
                .and_then(|n| id_text(tape, n))
        };
        ctx.business = BusinessNumber {
            phone_number_id: metadata_id("phone_number_id"),
            display_number: metadata_id("display_phone_number"),
        };
        items.reserve(elements(messages).count() + elements(statuses).count());
        // Who wrote: each `contacts` entry's wa_id and profile name, read once for all messages.
        let profiles: Vec<_> = elements(contacts)
            .map(|c| {
                let wa_id = tape.get(c, "wa_id").and_then(|n| id_text(tape, n));
                let name = tape.path(c, &["profile", "name"]).and_then(|n| tape.str(n));
                (wa_id, name)
            })
            .collect();
        for message in elements(messages) {
            let [id, from, kind, timestamp] =
                tape.fields(message, ["id", "from", "type", "timestamp"]);
            let Some(wamid) = id.and_then(|n| id_text(tape, n)) else {
                items.push(ctx.unknown(None, tape.raw(message)));
                continue;
            };
            let from = from.and_then(|n| id_text(tape, n));
            // A profile names its own wa_id's sender only; one without a wa_id can only be
            // the sender's when it is the only one.
            let name = profiles
                .iter()
                .find(|(wa_id, _)| wa_id.is_some() && *wa_id == from)
                .or(match profiles.as_slice() {
                    [only @ (None, _)] => Some(only),
                    _ => None,
                })
                .and_then(|(_, name)| name.clone());
            let kind = kind.and_then(|n| tape.str(n));
            let event_type = match kind.as_deref() {
                Some("reaction") => "message.reaction",
                Some("button" | "interactive") => "message.postback",
                _ => "message.received",
            };
            let occurred_at = timestamp.and_then(|n| epoch_millis(tape, n));
            let mut item = ctx.item(wamid, event_type, occurred_at, tape.raw(message));
            item.contact = from.map(|external_id| ContactSeen {
                channel: Channel::Whatsapp,
                external_id,
                name,
                username: None,
            });
            items.push(item);
        }
        for status in elements(statuses) {
            let [id, state, errors, timestamp] =
                tape.fields(status, ["id", "status", "errors", "timestamp"]);
            let id = id.and_then(|n| id_text(tape, n));
            let state = state.and_then(|n| tape.str(n));
            let (Some(id), Some(state)) = (id, state) else {
                items.push(ctx.unknown(None, tape.raw(status)));
                continue;
            };
            let event_type = match &*state {
                "sent" => "message.sent",
                "delivered" => "message.delivered",
                "read" => "message.read",
                "failed" => "message.failed",
                _ => UNKNOWN,
            };
            let error_code = errors
                .and_then(|errors| tape.elements(errors).next())
                .and_then(|first| tape.get(first, "code"))
                .and_then(|n| id_text(tape, n))
                .map(Cow::into_owned);
            let occurred_at = timestamp.and_then(|n| epoch_millis(tape, n));
            let mut item = ctx.item(id.clone(), event_type, occurred_at, tape.raw(status));
            item.status_report = Some(Box::new(StatusReport {
                provider_message_id: id.into_owned(),
                status: state.to_string(),
                error_code,
            }));
            item.natural_id.qualifier = Some(state);
            items.push(item);
        }
    }

    /// Instagram and Messenger changes: comments, live comments, mentions; and the messaging
    /// fields that the app dashboard's test button sends as changes.
    fn instagram_change(
        &self,
        ctx: &Ctx<'a>,
        field: &str,
        value: NodeId,
        entry_time: Option<i64>,
    ) -> MetaItem<'a> {
        let tape = self.tape;
        let raw = tape.raw(value);
        let text_at = |path: &[&str]| tape.path(value, path).and_then(|n| id_text(tape, n));
        match field {
            "comments" | "live_comments" => {
                let Some(id) = text_at(&["id"]) else {
                    return ctx.unknown(entry_time, raw);
                };
                let kind = if field == "comments" {
                    "comment"
                } else {
                    "live_comment"
                };
                let event_type = if field == "comments" {
                    "comment.created"
                } else {
                    "live_comment.created"
                };
                let key = format!("{kind}:{id}").into();
                let mut item = ctx.item(key, event_type, entry_time, raw);
                let username = tape
                    .path(value, &["from", "username"])
                    .and_then(|n| tape.str(n));
                item.contact = text_at(&["from", "id"]).map(|external_id| ContactSeen {
                    channel: ctx.channel,
                    external_id,
                    name: None,
                    username,
                });
                item
            }
            "mentions" => match text_at(&["comment_id"]).or_else(|| text_at(&["media_id"])) {
                Some(key) => ctx.item(
                    format!("mention:{key}").into(),
                    "mention.created",
                    entry_time,
                    raw,
                ),
                None => ctx.unknown(entry_time, raw),
            },
            "messages"
            | "message_reactions"
            | "messaging_postbacks"
            | "messaging_referral"
            | "messaging_seen"
            | "message_echoes"
                if tape.get(value, "sender").is_some() =>
            {
                self.messaging_item(ctx, value)
            }
            _ => ctx.unknown(entry_time, raw),
        }
    }

    /// One Instagram or Messenger messaging item.
    fn messaging_item(&self, ctx: &Ctx<'a>, item: NodeId) -> MetaItem<'a> {
        let tape = self.tape;
        let raw = tape.raw(item);
        let text_at = |path: &[&str]| tape.path(item, path).and_then(|n| id_text(tape, n));
        let sender = text_at(&["sender", "id"]);
        let occurred_at = tape
            .get(item, "timestamp")
            .and_then(|n| epoch_millis(tape, n));
        let at = occurred_at.unwrap_or_default();
        let who = sender.as_deref().unwrap_or_default();
        let inbound = || {
            sender.clone().map(|external_id| ContactSeen {
                channel: ctx.channel,
                external_id,
                name: None,
                username: None,
            })
        };
        let is_true =
            |path: &[&str]| tape.path(item, path).and_then(|n| tape.bool(n)) == Some(true);
        let (natural_id, event_type, contact) = if tape.get(item, "message").is_some() {
            let Some(mid) = text_at(&["message", "mid"]) else {
                return ctx.unknown(occurred_at, raw);
            };
            if is_true(&["message", "is_deleted"]) {
                return ctx.unknown(occurred_at, raw);
            } else if is_true(&["message", "is_echo"]) {
                (mid, "message.sent", None)
            } else {
                (mid, "message.received", inbound())
            }
        } else if tape.get(item, "reaction").is_some() {
            let mid = text_at(&["reaction", "mid"]).unwrap_or_default();
            (
                format!("reaction:{mid}:{who}:{at}").into(),
                "message.reaction",
                inbound(),
            )
        } else if tape.get(item, "postback").is_some() {
            let key = text_at(&["postback", "mid"]).unwrap_or_else(|| format!("{who}:{at}").into());
            (
                format!("postback:{key}").into(),
                "message.postback",
                inbound(),
            )
        } else if tape.get(item, "referral").is_some() {
            let reference = text_at(&["referral", "ref"]).unwrap_or_default();
            (
                format!("referral:{who}:{at}:{reference}").into(),
                "message.referral",
                inbound(),
            )
        } else if tape.get(item, "read").is_some() {
            let mark = text_at(&["read", "mid"])
                .or_else(|| text_at(&["read", "watermark"]))
                .unwrap_or_else(|| at.to_string().into());
            (format!("read:{mark}:{who}").into(), "message.seen", None)
        } else {
            return ctx.unknown(occurred_at, raw);
        };
        let mut out = ctx.item(natural_id, event_type, occurred_at, raw);
        out.contact = contact;
        out
    }
}

/// Meta ids are strings, but some test tools send numbers.
fn id_text<'a>(tape: &Tape<'a>, node: NodeId) -> Option<Cow<'a, str>> {
    match tape.kind(node) {
        Kind::String | Kind::EscapedString => tape.str(node).filter(|s| !s.is_empty()),
        // Written as serde_json writes the number it reads.
        Kind::Number => serde_json::from_str::<serde_json::Number>(tape.number(node)?)
            .ok()
            .map(|n| Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// Meta mixes epoch seconds (WhatsApp, as strings) and milliseconds (messaging).
fn epoch_millis(tape: &Tape<'_>, node: NodeId) -> Option<i64> {
    let n = match tape.kind(node) {
        Kind::Number => {
            let text = tape.number(node)?;
            text.parse::<i64>()
                .ok()
                .or_else(|| text.parse::<f64>().ok().map(|f| f as i64))?
        }
        Kind::String | Kind::EscapedString => tape.str(node)?.parse::<i64>().ok()?,
        _ => return None,
    };
    // Anything before 1970 or past chrono's range is not a time Meta sent.
    match n {
        ..=-1 => None,
        0..100_000_000_000 => Some(n * 1000),
        _ => Some(n).filter(|ms| chrono::DateTime::from_timestamp_millis(*ms).is_some()),
    }
}

pub(super) fn rfc3339_millis(millis: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(millis).map(crate::time::rfc3339)
}
