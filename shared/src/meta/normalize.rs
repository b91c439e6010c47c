//! The normalised document of a Meta item, as subscribers receive it in `data`.
//!
//! Built from the item's raw bytes and where it sat in the body, when the event is processed
//! or read, so that receiving a POST only splits and stores.

use serde_json::{json, Map, Value};

use super::split::{Channel, UNKNOWN};

/// An unknown item's raw value is copied into `data` up to this size: the event must fit a
/// delivery job.
const MAX_INLINE_RAW_BYTES: usize = 64 * 1024;

/// What an item's document needs besides its raw bytes.
pub struct DataContext<'c> {
    pub channel: Channel,
    pub event_type: &'c str,
    pub object: &'c str,
    pub field: Option<&'c str>,
    pub account_id: Option<&'c str>,
    /// RFC 3339.
    pub occurred_at: Option<&'c str>,
    pub phone_number_id: Option<&'c str>,
    pub business_number: Option<&'c str>,
    pub contact_name: Option<&'c str>,
}

pub fn data(ctx: &DataContext<'_>, raw: &str) -> Value {
    let parsed = || serde_json::from_str::<Value>(raw).unwrap_or(Value::Null);
    let mut data = match (ctx.channel, ctx.event_type) {
        (_, UNKNOWN) => unknown(ctx, raw),
        (Channel::Whatsapp, "message.received" | "message.reaction" | "message.postback") => {
            whatsapp_message(ctx, &parsed())
        }
        (
            Channel::Whatsapp,
            "template.approved" | "template.rejected" | "template.status_updated",
        ) => template(&parsed()),
        (Channel::Whatsapp, _) => whatsapp_status(ctx, &parsed()),
        (_, "comment.created" | "live_comment.created") => comment(&parsed()),
        (_, "mention.created") => mention(&parsed()),
        _ => messaging(&parsed()),
    };
    data.insert("channel".into(), json!(ctx.channel.as_str()));
    data.insert("accountId".into(), json!(ctx.account_id));
    if let Some(at) = ctx.occurred_at {
        data.insert("occurredAt".into(), json!(at));
    }
    Value::Object(data)
}

fn whatsapp_message(ctx: &DataContext<'_>, message: &Value) -> Map<String, Value> {
    let from = message.get("from").and_then(id_text);
    let kind = message
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let mut body = Map::new();
    body.insert("id".into(), json!(message.get("id").and_then(id_text)));
    body.insert("direction".into(), json!("inbound"));
    body.insert("from".into(), json!(from));
    body.insert("to".into(), json!(ctx.business_number));
    body.insert("type".into(), json!(kind));
    body.insert("text".into(), json!(whatsapp_text(message, kind)));
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
    data.insert("phoneNumberId".into(), json!(ctx.phone_number_id));
    data.insert("message".into(), Value::Object(body));
    data.insert(
        "contact".into(),
        json!({"waId": from, "name": ctx.contact_name}),
    );
    data
}

fn whatsapp_status(ctx: &DataContext<'_>, status: &Value) -> Map<String, Value> {
    let first_error = status.get("errors").and_then(|e| e.get(0));
    let mut body = Map::new();
    body.insert("id".into(), json!(status.get("id").and_then(id_text)));
    body.insert("direction".into(), json!("outbound"));
    body.insert("from".into(), json!(ctx.business_number));
    body.insert("to".into(), status.get("recipient_id").cloned().into());
    body.insert("status".into(), json!(status.get("status")));
    for extra in ["conversation", "pricing", "biz_opaque_callback_data"] {
        if let Some(v) = status.get(extra) {
            body.insert(extra.into(), v.clone());
        }
    }
    let mut data = Map::new();
    data.insert("phoneNumberId".into(), json!(ctx.phone_number_id));
    data.insert("message".into(), Value::Object(body));
    if let Some(error) = first_error {
        data.insert(
            "error".into(),
            json!({
                "code": error.get("code").and_then(id_text),
                "title": error.get("title"),
                "message": error.get("message"),
                "details": error.pointer("/error_data/details"),
            }),
        );
    }
    data
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

fn comment(value: &Value) -> Map<String, Value> {
    let comment = json!({
        "id": value.get("id").and_then(id_text),
        "text": value.get("text"),
        "mediaId": value.pointer("/media/id").and_then(id_text),
        "mediaProductType": value.pointer("/media/media_product_type"),
        "parentId": value.get("parent_id").and_then(id_text),
        "from": {
            "id": value.pointer("/from/id").and_then(id_text),
            "username": value.pointer("/from/username").and_then(Value::as_str),
        },
    });
    Map::from_iter([("comment".to_string(), comment)])
}

fn mention(value: &Value) -> Map<String, Value> {
    let mention = json!({
        "commentId": value.get("comment_id").and_then(id_text),
        "mediaId": value.get("media_id").and_then(id_text),
    });
    Map::from_iter([("mention".to_string(), mention)])
}

/// One Instagram or Messenger messaging item.
fn messaging(item: &Value) -> Map<String, Value> {
    let sender = item.pointer("/sender/id").and_then(id_text);
    let recipient = item.pointer("/recipient/id").and_then(id_text);
    let (key, document) = if let Some(message) = item.get("message") {
        let flag = |name| message.get(name).and_then(Value::as_bool) == Some(true);
        let document = json!({
            "id": message.get("mid").and_then(id_text),
            "direction": if flag("is_echo") { "outbound" } else { "inbound" },
            "from": sender,
            "to": recipient,
            "text": message.get("text"),
            "attachments": message.get("attachments"),
            "quickReply": message.get("quick_reply"),
            "replyTo": message.get("reply_to"),
            "referral": message.get("referral"),
            "deleted": flag("is_deleted"),
        });
        ("message", document)
    } else if let Some(reaction) = item.get("reaction") {
        let document = json!({
            "messageId": reaction.get("mid").and_then(id_text).unwrap_or_default(),
            "action": reaction.get("action"),
            "reaction": reaction.get("reaction"),
            "emoji": reaction.get("emoji"),
            "from": sender,
        });
        ("reaction", document)
    } else if let Some(postback) = item.get("postback") {
        let document = json!({
            "messageId": postback.get("mid").and_then(id_text),
            "title": postback.get("title"),
            "payload": postback.get("payload"),
            "referral": postback.get("referral"),
            "from": sender,
        });
        ("postback", document)
    } else if let Some(referral) = item.get("referral") {
        let document = json!({
            "ref": referral.get("ref"),
            "source": referral.get("source"),
            "type": referral.get("type"),
            "adId": referral.get("ad_id"),
            "from": sender,
        });
        ("referral", document)
    } else {
        let read = item.get("read").unwrap_or(&Value::Null);
        let document = json!({"messageId": read.get("mid"), "watermark": read.get("watermark"), "from": sender});
        ("seen", document)
    };
    Map::from_iter([(key.to_string(), document)])
}

/// A template status change: which template, its new status (lower case, as hookhub's
/// other statuses are) and Meta's reason.
fn template(value: &Value) -> Map<String, Value> {
    let reason = value["reason"]
        .as_str()
        .filter(|r| !r.is_empty() && *r != "NONE");
    let template = json!({
        "id": id_text(&value["message_template_id"]),
        "name": value["message_template_name"],
        "language": value["message_template_language"],
        "status": value["event"].as_str().map(str::to_ascii_lowercase),
        "reason": reason,
    });
    Map::from_iter([("template".to_string(), template)])
}

fn unknown(ctx: &DataContext<'_>, raw: &str) -> Map<String, Value> {
    let truncated = raw.len() > MAX_INLINE_RAW_BYTES;
    let value = if truncated {
        Value::Null
    } else {
        serde_json::from_str(raw).unwrap_or(Value::Null)
    };
    let mut data = Map::new();
    data.insert("object".into(), json!(ctx.object));
    data.insert("field".into(), json!(ctx.field));
    data.insert("value".into(), value);
    data.insert("truncated".into(), json!(truncated));
    data
}

/// Meta ids are strings, but some test tools send numbers.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
