//! Realistic Meta webhook bodies, one per event kind, shaped like the examples in Meta's
//! Graph API, WhatsApp Cloud API and Instagram webhook documentation. Test suites send them
//! through the real ingress path; the unit tests split them.

use serde_json::{json, Value};

use super::split::Channel;

/// Who the sample events are from and to: what a test suite is created with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MetaTestSuiteCreate))]
#[serde(rename_all = "camelCase")]
pub struct SampleParams {
    /// Instagram account id or WhatsApp Business Account id
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub account_id: String,
    /// Instagram-scoped user id or WhatsApp wa_id
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub sender_id: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub sender_username: String,
    /// The WhatsApp business phone number the samples are addressed to (a fixed sample
    /// number when absent); not set through the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub phone_number_id: Option<String>,
}

/// Longest account id, sender id or username a suite takes.
const MAX_PARAM_LEN: usize = 64;

impl SampleParams {
    /// `POST /api/v1/meta/test-suites`'s body, every problem reported at once.
    pub fn read(
        mut input: crate::validation::Fields,
    ) -> Result<Self, crate::validation::InputError> {
        let account_id = input.required_string("accountId", MAX_PARAM_LEN);
        let sender_id = input.required_string("senderId", MAX_PARAM_LEN);
        let sender_username = input.required_string("senderUsername", MAX_PARAM_LEN);
        input.finish()?;
        Ok(Self {
            account_id: account_id.expect("validated"),
            sender_id: sender_id.expect("validated"),
            sender_username: sender_username.expect("validated"),
            phone_number_id: None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct SampleCase {
    pub name: &'static str,
    pub channel: Channel,
    pub expected_type: &'static str,
    pub body: Value,
}

/// Every case; `run` makes the Meta ids unique, so that each execution stores new events
/// instead of being deduplicated against the last one.
pub fn cases(p: &SampleParams, run: &str, now_secs: i64) -> Vec<SampleCase> {
    let mut all = instagram_cases(p, run, now_secs);
    all.extend(whatsapp_cases(p, run, now_secs));
    all
}

fn instagram(p: &SampleParams, now_secs: i64, item: (&str, Value)) -> Value {
    let (key, value) = item;
    json!({"object": "instagram", "entry": [{"id": p.account_id, "time": now_secs, key: [value]}]})
}

fn messaging(p: &SampleParams, now_secs: i64, body: (&str, Value)) -> Value {
    let mut item = json!({
        "sender": {"id": p.sender_id},
        "recipient": {"id": p.account_id},
        "timestamp": now_secs * 1000,
    });
    item[body.0] = body.1;
    item
}

fn instagram_cases(p: &SampleParams, run: &str, now: i64) -> Vec<SampleCase> {
    let mid = format!("aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1{run}");
    let case = |name, expected_type, body| SampleCase {
        name,
        channel: Channel::Instagram,
        expected_type,
        body,
    };
    let media = json!({"id": format!("17895695668004550{run}"), "media_product_type": "FEED"});
    vec![
        case(
            "comments",
            "comment.created",
            instagram(
                p,
                now,
                (
                    "changes",
                    json!({"field": "comments", "value": {
                        "from": {"id": p.sender_id, "username": p.sender_username},
                        "media": media,
                        "id": format!("17865799348089039{run}"),
                        "text": "This looks amazing! Do you ship to Canada?"
                    }}),
                ),
            ),
        ),
        case(
            "live_comments",
            "live_comment.created",
            instagram(
                p,
                now,
                (
                    "changes",
                    json!({"field": "live_comments", "value": {
                        "from": {"id": p.sender_id, "username": p.sender_username},
                        "media": {"id": format!("17912345678901234{run}"), "media_product_type": "LIVE"},
                        "id": format!("17998765432109876{run}"),
                        "text": "Hello from the live!"
                    }}),
                ),
            ),
        ),
        case(
            "mentions",
            "mention.created",
            instagram(
                p,
                now,
                (
                    "changes",
                    json!({"field": "mentions", "value": {
                        "media_id": format!("17887498072083520{run}"),
                        "comment_id": format!("17894227972186120{run}")
                    }}),
                ),
            ),
        ),
        case(
            "messages",
            "message.received",
            instagram(
                p,
                now,
                (
                    "messaging",
                    messaging(
                        p,
                        now,
                        (
                            "message",
                            json!({
                                "mid": mid, "text": "Hi! Is the blue one still available? \u{1F499}"
                            }),
                        ),
                    ),
                ),
            ),
        ),
        case(
            "message_echoes",
            "message.sent",
            instagram(
                p,
                now,
                ("messaging", {
                    let mut item = messaging(
                        p,
                        now,
                        (
                            "message",
                            json!({
                                "mid": format!("{mid}echo"), "text": "Yes, it is!", "is_echo": true
                            }),
                        ),
                    );
                    item["sender"] = json!({"id": p.account_id});
                    item["recipient"] = json!({"id": p.sender_id});
                    item
                }),
            ),
        ),
        case(
            "message_reactions",
            "message.reaction",
            instagram(
                p,
                now,
                (
                    "messaging",
                    messaging(
                        p,
                        now,
                        (
                            "reaction",
                            json!({
                                "mid": mid, "action": "react", "reaction": "love", "emoji": "\u{2764}\u{FE0F}"
                            }),
                        ),
                    ),
                ),
            ),
        ),
        case(
            "messaging_postbacks",
            "message.postback",
            instagram(
                p,
                now,
                (
                    "messaging",
                    messaging(
                        p,
                        now,
                        (
                            "postback",
                            json!({
                                "mid": format!("{mid}pb"), "title": "Track my order", "payload": "TRACK_ORDER"
                            }),
                        ),
                    ),
                ),
            ),
        ),
        case(
            "messaging_referral",
            "message.referral",
            instagram(
                p,
                now + 1,
                (
                    "messaging",
                    messaging(
                        p,
                        now + 1,
                        (
                            "referral",
                            json!({
                                "ref": format!("summer-sale-{run}"), "source": "ADS", "type": "OPEN_THREAD",
                                "ad_id": "23851234567890123"
                            }),
                        ),
                    ),
                ),
            ),
        ),
        case(
            "messaging_seen",
            "message.seen",
            instagram(
                p,
                now,
                (
                    "messaging",
                    messaging(p, now, ("read", json!({"mid": mid}))),
                ),
            ),
        ),
    ]
}

fn whatsapp(p: &SampleParams, key: &str, items: Value, contacts: bool) -> Value {
    let mut value = json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881",
                     "phone_number_id": p.phone_number_id.as_deref().unwrap_or("106540352242922")},
    });
    if contacts {
        value["contacts"] = json!([{"profile": {"name": p.sender_username}, "wa_id": p.sender_id}]);
    }
    value[key] = items;
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": p.account_id, "changes": [{"value": value, "field": "messages"}]}]
    })
}

fn whatsapp_cases(p: &SampleParams, run: &str, now: i64) -> Vec<SampleCase> {
    let wamid = |n: &str| format!("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUY{n}{run}");
    let ts = now.to_string();
    let case = |name, expected_type, body| SampleCase {
        name,
        channel: Channel::Whatsapp,
        expected_type,
        body,
    };
    let message = |n: &str, kind: &str, content: Value| {
        let mut m = json!({"from": p.sender_id, "id": wamid(n), "timestamp": ts, "type": kind});
        m[kind] = content;
        whatsapp(p, "messages", json!([m]), true)
    };
    let status = |state: &str, extra: Option<Value>| {
        let mut s = json!({
            "id": wamid("OUT"), "status": state, "timestamp": ts, "recipient_id": p.sender_id,
            "conversation": {"id": "b1a8d1c0e5f4a3b2", "origin": {"type": "utility"}},
            "pricing": {"billable": true, "pricing_model": "PMP", "category": "utility"}
        });
        if let Some(extra) = extra {
            s["errors"] = extra;
        }
        whatsapp(p, "statuses", json!([s]), false)
    };
    vec![
        case(
            "whatsapp_text",
            "message.received",
            message(
                "TXT",
                "text",
                json!({"body": "Hola! ¿Tienen envío gratis?"}),
            ),
        ),
        case(
            "whatsapp_image",
            "message.received",
            message(
                "IMG",
                "image",
                json!({"caption": "Is this the right size?", "mime_type": "image/jpeg",
                       "sha256": "Hj7fS4Wn0pJr0mQ0aD9m1WbL5fC7mY5fC1kX1bJ6yQ8=", "id": "1479537139650973"}),
            ),
        ),
        case(
            "whatsapp_reaction",
            "message.reaction",
            message(
                "RCT",
                "reaction",
                json!({"message_id": wamid("OUT"), "emoji": "\u{1F44D}"}),
            ),
        ),
        case(
            "whatsapp_interactive",
            "message.postback",
            message(
                "INT",
                "interactive",
                json!({"type": "button_reply", "button_reply": {"id": "confirm-yes", "title": "Yes, confirm"}}),
            ),
        ),
        case(
            "whatsapp_template_approved",
            "template.approved",
            json!({"object": "whatsapp_business_account", "entry": [{"id": p.account_id, "time": now,
                "changes": [{"field": "message_template_status_update", "value": {
                    "event": "APPROVED", "message_template_id": format!("5937{run}"),
                    "message_template_name": "order_update", "message_template_language": "en_US",
                    "reason": "NONE"}}]}]}),
        ),
        case("whatsapp_status_sent", "message.sent", status("sent", None)),
        case(
            "whatsapp_status_delivered",
            "message.delivered",
            status("delivered", None),
        ),
        case("whatsapp_status_read", "message.read", status("read", None)),
        case(
            "whatsapp_status_failed",
            "message.failed",
            status(
                "failed",
                Some(json!([{
                    "code": 131047, "title": "Re-engagement message",
                    "message": "Re-engagement message",
                    "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
                    "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
                }])),
            ),
        ),
    ]
}
