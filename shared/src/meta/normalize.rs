//! Splitting a verified Meta webhook body into items, and normalising each.
//!
//! One item per WhatsApp message or status, per Instagram/Messenger messaging item, per
//! change. Each keeps its exact bytes from the body (`raw`), a natural id for deduplication
//! and a normalised `data` document for subscribers. Anything not recognised becomes
//! `meta.unknown` with a content hash as its natural id: stored, never dropped.
//!
//! The envelope and entries are parsed into borrowed `RawValue`s, so only the items
//! themselves are parsed into values: a 1,000-item batch is walked once, not copied.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub const UNKNOWN: &str = "meta.unknown";

/// Raw items larger than this are not copied into `data` (an unknown item's `value`): the
/// event must fit a delivery job.
const MAX_INLINE_RAW_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SplitError {
    #[error("body is not valid JSON: {0}")]
    NotJson(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
pub struct ContactSeen {
    pub channel: Channel,
    pub external_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
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

#[derive(Debug, Clone, PartialEq)]
pub struct MetaItem<'a> {
    pub natural_id: String,
    pub event_type: &'static str,
    pub channel: Channel,
    pub object: String,
    pub field: Option<String>,
    pub account_id: Option<String>,
    /// Epoch milliseconds, when Meta says it happened.
    pub occurred_at: Option<i64>,
    /// The item exactly as it appeared in the body.
    pub raw: &'a str,
    pub data: Value,
    pub contact: Option<ContactSeen>,
    pub status_report: Option<StatusReport>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    object: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    entry: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    time: Option<Value>,
    #[serde(borrow, default)]
    changes: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    messaging: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    standby: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Change<'a> {
    #[serde(borrow, default)]
    field: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    value: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct WhatsappValue<'a> {
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    contacts: Vec<Value>,
    #[serde(borrow, default)]
    messages: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    statuses: Vec<&'a RawValue>,
}

/// Splits a body that has already passed the signature check.
pub fn split(body: &[u8]) -> Result<Vec<MetaItem<'_>>, SplitError> {
    let text = std::str::from_utf8(body).map_err(|e| SplitError::NotJson(e.to_string()))?;
    let whole: &RawValue =
        serde_json::from_str(text).map_err(|e| SplitError::NotJson(e.to_string()))?;
    let envelope = whole
        .get()
        .trim_start()
        .starts_with('{')
        .then(|| serde_json::from_str::<Envelope>(text).ok())
        .flatten();
    let Some(Envelope {
        object,
        entry: Some(entries),
    }) = envelope
    else {
        return Ok(vec![unknown("", None, None, None, text)]);
    };
    let object = object.unwrap_or_default();
    let mut items = Vec::new();
    for raw_entry in entries {
        split_entry(&object, raw_entry, &mut items);
    }
    Ok(items)
}

fn split_entry<'a>(object: &str, raw_entry: &'a RawValue, items: &mut Vec<MetaItem<'a>>) {
    let channel = Channel::of_object(object);
    let Ok(entry) = serde_json::from_str::<Entry>(raw_entry.get()) else {
        items.push(unknown(object, None, None, None, raw_entry.get()));
        return;
    };
    let account_id = entry.id.as_ref().and_then(id_text);
    let entry_time = entry.time.as_ref().and_then(epoch_millis);
    if entry.changes.is_empty() && entry.messaging.is_empty() && entry.standby.is_empty() {
        items.push(unknown(
            object,
            None,
            account_id.as_deref(),
            entry_time,
            raw_entry.get(),
        ));
        return;
    }
    for raw_change in entry.changes {
        let change = serde_json::from_str::<Change>(raw_change.get()).ok();
        let field = change.as_ref().and_then(|c| c.field.as_deref());
        let value = change.as_ref().and_then(|c| c.value);
        match (channel, field, value) {
            (Channel::Whatsapp, Some("messages"), Some(value)) => {
                split_whatsapp(object, account_id.as_deref(), value, items)
            }
            (Channel::Instagram | Channel::Messenger, Some(field), Some(value)) => {
                let ctx = Ctx {
                    object,
                    channel,
                    account_id: account_id.as_deref(),
                    field: Some(field),
                };
                items.push(instagram_change(&ctx, field, value, entry_time));
            }
            _ => items.push(unknown(
                object,
                field,
                account_id.as_deref(),
                entry_time,
                raw_change.get(),
            )),
        }
    }
    for raw in entry.messaging.into_iter().chain(entry.standby) {
        let ctx = Ctx {
            object,
            channel,
            account_id: account_id.as_deref(),
            field: None,
        };
        items.push(messaging_item(&ctx, raw));
    }
}

struct Ctx<'c> {
    object: &'c str,
    channel: Channel,
    account_id: Option<&'c str>,
    field: Option<&'c str>,
}

impl Ctx<'_> {
    fn item<'a>(
        &self,
        natural_id: String,
        event_type: &'static str,
        occurred_at: Option<i64>,
        raw: &'a str,
        mut data: Map<String, Value>,
    ) -> MetaItem<'a> {
        data.insert("channel".into(), json!(self.channel.as_str()));
        data.insert("accountId".into(), json!(self.account_id));
        if let Some(at) = occurred_at.and_then(rfc3339_millis) {
            data.insert("occurredAt".into(), json!(at));
        }
        MetaItem {
            natural_id: format!("{}:{natural_id}", self.channel.id_prefix()),
            event_type,
            channel: self.channel,
            object: self.object.to_string(),
            field: self.field.map(str::to_string),
            account_id: self.account_id.map(str::to_string),
            occurred_at,
            raw,
            data: Value::Object(data),
            contact: None,
            status_report: None,
        }
    }
}

fn split_whatsapp<'a>(
    object: &str,
    account_id: Option<&str>,
    raw_value: &'a RawValue,
    items: &mut Vec<MetaItem<'a>>,
) {
    let Ok(value) = serde_json::from_str::<WhatsappValue>(raw_value.get()) else {
        items.push(unknown(
            object,
            Some("messages"),
            account_id,
            None,
            raw_value.get(),
        ));
        return;
    };
    let metadata = value.metadata.unwrap_or(Value::Null);
    let phone_number_id = metadata.get("phone_number_id").and_then(id_text);
    let business_number = metadata.get("display_phone_number").and_then(id_text);
    let ctx = Ctx {
        object,
        channel: Channel::Whatsapp,
        account_id,
        field: Some("messages"),
    };
    if value.messages.is_empty() && value.statuses.is_empty() {
        items.push(unknown(
            object,
            Some("messages"),
            account_id,
            None,
            raw_value.get(),
        ));
    }
    for raw in value.messages {
        let message: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
        let Some(wamid) = message.get("id").and_then(id_text) else {
            items.push(unknown(
                object,
                Some("messages"),
                account_id,
                None,
                raw.get(),
            ));
            continue;
        };
        let from = message.get("from").and_then(id_text);
        let profile = value
            .contacts
            .iter()
            .find(|c| c.get("wa_id").and_then(id_text) == from)
            .or(value.contacts.first());
        let name = profile
            .and_then(|c| c.pointer("/profile/name"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let kind = message
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let event_type = match kind {
            "reaction" => "message.reaction",
            "button" | "interactive" => "message.postback",
            _ => "message.received",
        };
        let occurred_at = message.get("timestamp").and_then(epoch_millis);
        let mut body = Map::new();
        body.insert("id".into(), json!(wamid));
        body.insert("direction".into(), json!("inbound"));
        body.insert("from".into(), json!(from));
        body.insert("to".into(), json!(business_number));
        body.insert("type".into(), json!(kind));
        body.insert("text".into(), json!(whatsapp_text(&message, kind)));
        body.insert(
            "content".into(),
            message.get(kind).cloned().unwrap_or(Value::Null),
        );
        for extra in ["context", "referral", "errors"] {
            if let Some(v) = message.get(extra) {
                body.insert(extra.into(), v.clone());
            }
        }
        let mut data = Map::new();
        data.insert("phoneNumberId".into(), json!(phone_number_id));
        data.insert("message".into(), Value::Object(body));
        data.insert("contact".into(), json!({"waId": from, "name": name}));
        let mut item = ctx.item(wamid, event_type, occurred_at, raw.get(), data);
        item.contact = from.map(|external_id| ContactSeen {
            channel: Channel::Whatsapp,
            external_id,
            name,
            username: None,
        });
        items.push(item);
    }
    for raw in value.statuses {
        let status: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
        let id = status.get("id").and_then(id_text);
        let state = status.get("status").and_then(Value::as_str);
        let event_type = match state {
            Some("sent") => "message.sent",
            Some("delivered") => "message.delivered",
            Some("read") => "message.read",
            Some("failed") => "message.failed",
            _ => UNKNOWN,
        };
        let (Some(id), Some(state)) = (id, state) else {
            items.push(unknown(
                object,
                Some("messages"),
                account_id,
                None,
                raw.get(),
            ));
            continue;
        };
        let errors = status.get("errors").cloned().unwrap_or(Value::Null);
        let first_error = errors.get(0);
        let error_code = first_error.and_then(|e| e.get("code")).and_then(id_text);
        let occurred_at = status.get("timestamp").and_then(epoch_millis);
        let mut body = Map::new();
        body.insert("id".into(), json!(id));
        body.insert("direction".into(), json!("outbound"));
        body.insert("from".into(), json!(business_number));
        body.insert("to".into(), status.get("recipient_id").cloned().into());
        body.insert("status".into(), json!(state));
        for extra in ["conversation", "pricing", "biz_opaque_callback_data"] {
            if let Some(v) = status.get(extra) {
                body.insert(extra.into(), v.clone());
            }
        }
        let mut data = Map::new();
        data.insert("phoneNumberId".into(), json!(phone_number_id));
        data.insert("message".into(), Value::Object(body));
        if let Some(error) = first_error {
            data.insert(
                "error".into(),
                json!({
                    "code": error_code,
                    "title": error.get("title"),
                    "message": error.get("message"),
                    "details": error.pointer("/error_data/details"),
                }),
            );
        }
        let mut item = ctx.item(
            format!("{id}:{state}"),
            event_type,
            occurred_at,
            raw.get(),
            data,
        );
        item.status_report = Some(StatusReport {
            provider_message_id: id,
            status: state.to_string(),
            error_code,
        });
        items.push(item);
    }
}

fn whatsapp_text(message: &Value, kind: &str) -> Option<String> {
    let pointer = match kind {
        "text" => "/text/body",
        "image" | "video" | "document" => return caption(message, kind),
        "button" => "/button/text",
        "reaction" => "/reaction/emoji",
        "location" => "/location/name",
        "interactive" => {
            return [
                "/interactive/button_reply/title",
                "/interactive/list_reply/title",
            ]
            .iter()
            .find_map(|p| message.pointer(p).and_then(Value::as_str))
            .map(str::to_string)
        }
        _ => return None,
    };
    message
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn caption(message: &Value, kind: &str) -> Option<String> {
    message
        .get(kind)
        .and_then(|m| m.get("caption"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Instagram and Messenger changes: comments, live comments, mentions; and the messaging
/// fields that the app dashboard's test button sends as changes.
fn instagram_change<'a>(
    ctx: &Ctx<'_>,
    field: &str,
    raw_value: &'a RawValue,
    entry_time: Option<i64>,
) -> MetaItem<'a> {
    let value: Value = serde_json::from_str(raw_value.get()).unwrap_or(Value::Null);
    match field {
        "comments" | "live_comments" => {
            let Some(id) = value.get("id").and_then(id_text) else {
                return unknown(
                    ctx.object,
                    Some(field),
                    ctx.account_id,
                    entry_time,
                    raw_value.get(),
                );
            };
            let from_id = value.pointer("/from/id").and_then(id_text);
            let username = value
                .pointer("/from/username")
                .and_then(Value::as_str)
                .map(str::to_string);
            let comment = json!({
                "id": id,
                "text": value.get("text"),
                "mediaId": value.pointer("/media/id").and_then(id_text),
                "mediaProductType": value.pointer("/media/media_product_type"),
                "parentId": value.get("parent_id").and_then(id_text),
                "from": {"id": from_id, "username": username},
            });
            let (event_type, kind) = if field == "comments" {
                ("comment.created", "comment")
            } else {
                ("live_comment.created", "live_comment")
            };
            let mut data = Map::new();
            data.insert("comment".into(), comment);
            let mut item = ctx.item(
                format!("{kind}:{id}"),
                event_type,
                entry_time,
                raw_value.get(),
                data,
            );
            item.contact = from_id.map(|external_id| ContactSeen {
                channel: ctx.channel,
                external_id,
                name: None,
                username,
            });
            item
        }
        "mentions" => {
            let comment_id = value.get("comment_id").and_then(id_text);
            let media_id = value.get("media_id").and_then(id_text);
            let Some(key) = comment_id.clone().or(media_id.clone()) else {
                return unknown(
                    ctx.object,
                    Some(field),
                    ctx.account_id,
                    entry_time,
                    raw_value.get(),
                );
            };
            let mut data = Map::new();
            data.insert(
                "mention".into(),
                json!({"commentId": comment_id, "mediaId": media_id}),
            );
            ctx.item(
                format!("mention:{key}"),
                "mention.created",
                entry_time,
                raw_value.get(),
                data,
            )
        }
        "messages"
        | "message_reactions"
        | "messaging_postbacks"
        | "messaging_referral"
        | "messaging_seen"
        | "message_echoes"
            if value.get("sender").is_some() =>
        {
            messaging_item(ctx, raw_value)
        }
        _ => unknown(
            ctx.object,
            Some(field),
            ctx.account_id,
            entry_time,
            raw_value.get(),
        ),
    }
}

/// One Instagram or Messenger messaging item.
fn messaging_item<'a>(ctx: &Ctx<'_>, raw: &'a RawValue) -> MetaItem<'a> {
    let item: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
    let sender = item.pointer("/sender/id").and_then(id_text);
    let recipient = item.pointer("/recipient/id").and_then(id_text);
    let occurred_at = item.get("timestamp").and_then(epoch_millis);
    let at = occurred_at.unwrap_or_default();
    let who = sender.clone().unwrap_or_default();
    let inbound_contact = |channel: Channel, id: &Option<String>| {
        id.clone().map(|external_id| ContactSeen {
            channel,
            external_id,
            name: None,
            username: None,
        })
    };
    let mut data = Map::new();
    let (natural_id, event_type, contact) = if let Some(message) = item.get("message") {
        let mid = message.get("mid").and_then(id_text);
        let echo = message.get("is_echo").and_then(Value::as_bool) == Some(true);
        let deleted = message.get("is_deleted").and_then(Value::as_bool) == Some(true);
        let Some(mid) = mid else {
            return unknown(
                ctx.object,
                ctx.field,
                ctx.account_id,
                occurred_at,
                raw.get(),
            );
        };
        data.insert(
            "message".into(),
            json!({
                "id": mid,
                "direction": if echo { "outbound" } else { "inbound" },
                "from": sender,
                "to": recipient,
                "text": message.get("text"),
                "attachments": message.get("attachments"),
                "quickReply": message.get("quick_reply"),
                "replyTo": message.get("reply_to"),
                "referral": message.get("referral"),
                "deleted": deleted,
            }),
        );
        if deleted {
            (format!("{mid}:deleted"), UNKNOWN, None)
        } else if echo {
            (mid, "message.sent", None)
        } else {
            (
                mid,
                "message.received",
                inbound_contact(ctx.channel, &sender),
            )
        }
    } else if let Some(reaction) = item.get("reaction") {
        let mid = reaction.get("mid").and_then(id_text).unwrap_or_default();
        data.insert(
            "reaction".into(),
            json!({
                "messageId": mid,
                "action": reaction.get("action"),
                "reaction": reaction.get("reaction"),
                "emoji": reaction.get("emoji"),
                "from": sender,
            }),
        );
        (
            format!("reaction:{mid}:{who}:{at}"),
            "message.reaction",
            inbound_contact(ctx.channel, &sender),
        )
    } else if let Some(postback) = item.get("postback") {
        let mid = postback.get("mid").and_then(id_text);
        data.insert(
            "postback".into(),
            json!({
                "messageId": mid,
                "title": postback.get("title"),
                "payload": postback.get("payload"),
                "referral": postback.get("referral"),
                "from": sender,
            }),
        );
        let key = mid.unwrap_or_else(|| format!("{who}:{at}"));
        (
            format!("postback:{key}"),
            "message.postback",
            inbound_contact(ctx.channel, &sender),
        )
    } else if let Some(referral) = item.get("referral") {
        data.insert(
            "referral".into(),
            json!({
                "ref": referral.get("ref"),
                "source": referral.get("source"),
                "type": referral.get("type"),
                "adId": referral.get("ad_id"),
                "from": sender,
            }),
        );
        let reference = referral.get("ref").and_then(id_text).unwrap_or_default();
        (
            format!("referral:{who}:{at}:{reference}"),
            "message.referral",
            inbound_contact(ctx.channel, &sender),
        )
    } else if let Some(read) = item.get("read") {
        let mark = read
            .get("mid")
            .and_then(id_text)
            .or_else(|| read.get("watermark").and_then(id_text))
            .unwrap_or_else(|| at.to_string());
        data.insert(
            "seen".into(),
            json!({"messageId": read.get("mid"), "watermark": read.get("watermark"), "from": sender}),
        );
        (format!("read:{mark}:{who}"), "message.seen", None)
    } else {
        return unknown(
            ctx.object,
            ctx.field,
            ctx.account_id,
            occurred_at,
            raw.get(),
        );
    };
    if event_type == UNKNOWN {
        return unknown(
            ctx.object,
            ctx.field,
            ctx.account_id,
            occurred_at,
            raw.get(),
        );
    }
    let mut out = ctx.item(natural_id, event_type, occurred_at, raw.get(), data);
    out.contact = contact;
    out
}

/// Anything not recognised: kept whole, keyed by a hash of where it came from and its bytes
/// (Meta's retries carry the same bytes, so they still deduplicate).
fn unknown<'a>(
    object: &str,
    field: Option<&str>,
    account_id: Option<&str>,
    occurred_at: Option<i64>,
    raw: &'a str,
) -> MetaItem<'a> {
    let mut hasher = Sha256::new();
    for part in [object, field.unwrap_or(""), account_id.unwrap_or(""), raw] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hex::encode(&hasher.finalize()[..16]);
    let value = if raw.len() <= MAX_INLINE_RAW_BYTES {
        serde_json::from_str(raw).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let channel = Channel::of_object(object);
    let mut data = Map::new();
    data.insert("object".into(), json!(object));
    data.insert("field".into(), json!(field));
    data.insert("value".into(), value);
    data.insert("truncated".into(), json!(raw.len() > MAX_INLINE_RAW_BYTES));
    let ctx = Ctx {
        object,
        channel,
        account_id,
        field,
    };
    ctx.item(format!("unknown:{digest}"), UNKNOWN, occurred_at, raw, data)
}

/// Meta ids are strings, but some test tools send numbers.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Meta mixes epoch seconds (WhatsApp, as strings) and milliseconds (messaging).
fn epoch_millis(v: &Value) -> Option<i64> {
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?,
        Value::String(s) => s.parse::<i64>().ok()?,
        _ => return None,
    };
    // Anything before 1970 or past chrono's range is not a time Meta sent.
    match n {
        ..=-1 => None,
        0..100_000_000_000 => Some(n * 1000),
        _ => Some(n).filter(|ms| chrono::DateTime::from_timestamp_millis(*ms).is_some()),
    }
}

fn rfc3339_millis(millis: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(millis).map(crate::time::rfc3339)
}
