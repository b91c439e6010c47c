//! What a tenant asks hookhub to send, validated before anything is stored or queued.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::validation::{is_e164, Fields};

/// Twilio and SNS both stop at 1,600 characters (about ten concatenated parts).
pub const MAX_SMS_CHARS: usize = 1600;
/// The WhatsApp Cloud API's limit for a text message body.
pub const MAX_WHATSAPP_CHARS: usize = 4096;
const MAX_TEMPLATE_COMPONENTS: usize = 20;
const MAX_TEMPLATE_JSON_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Whatsapp,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Sms, Channel::Whatsapp];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What a message says: text, or a WhatsApp template with its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MessageContent))]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Content {
    Text {
        text: String,
    },
    /// A pre-approved WhatsApp template (the only way to open a conversation).
    Template {
        name: String,
        language: String,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
        components: Vec<Value>,
    },
}

impl Content {
    pub fn text(&self) -> Option<&str> {
        match self {
            Content::Text { text } => Some(text),
            Content::Template { .. } => None,
        }
    }
}

/// A validated send request.
#[derive(Debug, Clone, PartialEq)]
pub struct SendRequest {
    pub channel: Channel,
    pub to: String,
    pub content: Content,
}

impl SendRequest {
    /// Reads `{channel, to, text}` or `{channel: "whatsapp", to, template}`; every problem
    /// is reported against its field.
    pub fn read(input: &mut Fields, default_channel: Option<Channel>) -> Option<Self> {
        let channel = match input.string("channel", 16) {
            Some(c) => match Channel::parse(&c) {
                Some(channel) => Some(channel),
                None => {
                    input.error("channel", "must be sms or whatsapp");
                    None
                }
            },
            None if default_channel.is_some() => default_channel,
            None => {
                input.error("channel", "is required: sms or whatsapp");
                None
            }
        };
        let to = input.required_string("to", 32);
        if let Some(to) = &to {
            if !is_e164(to) {
                input.error(
                    "to",
                    "must be an E.164 phone number: +, country code and number, no spaces (+15551234567)",
                );
            }
        }
        let text_present = input.present("text");
        let template_present = input.present("template");
        let max_text = match channel {
            Some(Channel::Whatsapp) => MAX_WHATSAPP_CHARS,
            _ => MAX_SMS_CHARS,
        };
        let content = match (text_present, template_present) {
            (true, true) => {
                input.raw("text");
                input.raw("template");
                input.error("template", "give text or template, not both");
                None
            }
            (false, false) => {
                input.error("text", "is required (or, for WhatsApp, template)");
                None
            }
            (true, false) => input
                .required_string("text", max_text)
                .map(|text| Content::Text { text }),
            (false, true) => {
                if channel == Some(Channel::Sms) {
                    input.raw("template");
                    input.error("template", "templates are for WhatsApp; send text by SMS");
                    None
                } else {
                    read_template(input)
                }
            }
        };
        if input.has_errors() {
            return None;
        }
        Some(Self {
            channel: channel?,
            to: to?,
            content: content?,
        })
    }
}

/// The send request's schema, from the limits `read` applies.
#[cfg(feature = "openapi")]
pub mod openapi {
    use utoipa::openapi::schema::{
        AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Type,
    };
    use utoipa::openapi::{RefOr, Schema};

    use super::{Channel, SendRequest, MAX_SMS_CHARS, MAX_TEMPLATE_COMPONENTS, MAX_WHATSAPP_CHARS};

    fn string() -> ObjectBuilder {
        ObjectBuilder::new().schema_type(Type::String)
    }

    pub fn channel() -> ObjectBuilder {
        string().enum_values(Some(Channel::ALL.map(Channel::as_str)))
    }

    /// `{channel, to, text}` or `{channel: "whatsapp", to, template}`.
    fn request(channel_required: bool) -> ObjectBuilder {
        let template = ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .property(
                "name",
                string()
                    .pattern(Some("^[a-z0-9_]+$"))
                    .max_length(Some(512))
                    .examples(["order_update"]),
            )
            .required("name")
            .property(
                "language",
                OneOfBuilder::new().item(string().examples(["en_US"])).item(
                    ObjectBuilder::new()
                        .schema_type(Type::Object)
                        .property("code", string())
                        .required("code"),
                ),
            )
            .required("language")
            .property(
                "components",
                ArrayBuilder::new()
                    .items(ObjectBuilder::new().schema_type(Type::Object))
                    .max_items(Some(MAX_TEMPLATE_COMPONENTS)),
            );
        let mut object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .property(
                "to",
                string()
                    .pattern(Some("^\\+[1-9][0-9]{7,14}$"))
                    .examples(["+15551234567"]),
            )
            .required("to")
            .property(
                "text",
                string()
                    .min_length(Some(1))
                    .max_length(Some(MAX_WHATSAPP_CHARS))
                    .description(Some(format!(
                        "at most {MAX_SMS_CHARS} characters by SMS, {MAX_WHATSAPP_CHARS} by WhatsApp"
                    ))),
            )
            .property("template", template);
        if channel_required {
            object = object.property("channel", channel()).required("channel");
        } else {
            object = object.property(
                "channel",
                channel().description(Some("defaults to the integration's")),
            );
        }
        object
    }

    impl utoipa::PartialSchema for SendRequest {
        fn schema() -> RefOr<Schema> {
            request(true)
                .description(Some("text, or for WhatsApp a template; not both"))
                .into()
        }
    }

    impl utoipa::ToSchema for SendRequest {
        fn name() -> std::borrow::Cow<'static, str> {
            "MessageSend".into()
        }
    }

    /// A platform admin's test send: a send request whose channel defaults to the
    /// integration's.
    pub struct IntegrationTestRequest;

    impl utoipa::PartialSchema for IntegrationTestRequest {
        fn schema() -> RefOr<Schema> {
            request(false).into()
        }
    }

    impl utoipa::ToSchema for IntegrationTestRequest {}
}

fn read_template(input: &mut Fields) -> Option<Content> {
    input
        .object("template", |t| {
            let name = t.required_string("name", 512);
            if let Some(n) = &name {
                if !n
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                {
                    t.error(
                        "name",
                        "must be a template name: lowercase letters, digits and underscores",
                    );
                }
            }
            let language = match t.raw("language") {
                Some(Value::String(code)) => Some(code),
                // The Graph API's own shape: {"code": "en_US"}.
                Some(Value::Object(mut o)) => match o.remove("code") {
                    Some(Value::String(code)) if o.is_empty() => Some(code),
                    _ => {
                        t.error("language", "must be a language code or {\"code\": ...}");
                        None
                    }
                },
                Some(_) => {
                    t.error("language", "must be a language code such as en_US");
                    None
                }
                None => {
                    t.error("language", "is required, such as en_US");
                    None
                }
            };
            if let Some(code) = &language {
                if !is_language_code(code) {
                    t.error("language", "must be a language code such as en or en_US");
                }
            }
            let components = match t.raw("components") {
                None => Some(Vec::new()),
                Some(Value::Array(items)) => {
                    let size = serde_json::to_vec(&items).map_or(usize::MAX, |v| v.len());
                    if items.len() > MAX_TEMPLATE_COMPONENTS {
                        t.error(
                            "components",
                            format!("must have at most {MAX_TEMPLATE_COMPONENTS} items"),
                        );
                        None
                    } else if size > MAX_TEMPLATE_JSON_BYTES {
                        t.error(
                            "components",
                            format!("must be at most {MAX_TEMPLATE_JSON_BYTES} bytes of JSON"),
                        );
                        None
                    } else if let Some(i) = items.iter().position(|c| !c.is_object()) {
                        t.error(&format!("components[{i}]"), "must be an object");
                        None
                    } else {
                        Some(items)
                    }
                }
                Some(_) => {
                    t.error("components", "must be an array of component objects");
                    None
                }
            };
            Some(Content::Template {
                name: name?,
                language: language?,
                components: components?,
            })
        })
        .flatten()
}

/// `en`, `pt_BR`, `zh_Hant`-style codes as WhatsApp lists them.
fn is_language_code(code: &str) -> bool {
    let mut parts = code.split('_');
    let base = parts.next().unwrap_or_default();
    let region = parts.next();
    parts.next().is_none()
        && (2..=3).contains(&base.len())
        && base.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| {
            (2..=4).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphabetic())
        })
}

/// Whether every character is in the GSM 03.38 alphabet (basic set or its extension); a
/// message that is not is sent as Unicode (UCS-2), which carriers split differently.
pub fn is_gsm7(text: &str) -> bool {
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const EXTENSION: &str = "^{}\\[~]|€\u{c}";
    text.chars()
        .all(|c| BASIC.contains(c) || EXTENSION.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(body: Value) -> Result<SendRequest, Vec<String>> {
        let mut fields = Fields::new(body.as_object().unwrap().clone());
        let request = SendRequest::read(&mut fields, None);
        match (request, fields.finish()) {
            (Some(r), Ok(())) => Ok(r),
            (_, Err(crate::validation::InputError::Invalid(errors))) => {
                Err(errors.into_iter().map(|e| e.field).collect())
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn sms_text() {
        let r = read(json!({"channel": "sms", "to": "+15551234567", "text": "Hi"})).unwrap();
        assert_eq!(r.channel, Channel::Sms);
        assert_eq!(r.content, Content::Text { text: "Hi".into() });
    }

    #[test]
    fn whatsapp_template_in_either_language_shape() {
        for language in [json!("en_US"), json!({"code": "en_US"})] {
            let r = read(json!({"channel": "whatsapp", "to": "+15551234567",
                "template": {"name": "order_update", "language": language,
                             "components": [{"type": "body", "parameters": [{"type": "text", "text": "42"}]}]}}))
            .unwrap();
            match r.content {
                Content::Template {
                    name,
                    language,
                    components,
                } => {
                    assert_eq!(name, "order_update");
                    assert_eq!(language, "en_US");
                    assert_eq!(components.len(), 1);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn each_problem_names_its_field() {
        assert_eq!(
            read(json!({"to": "+15551234567", "text": "x"})).unwrap_err(),
            ["channel"]
        );
        assert_eq!(
            read(json!({"channel": "fax", "to": "+15551234567", "text": "x"})).unwrap_err(),
            ["channel"]
        );
        for bad in [
            "5551234567",
            "+0123456789",
            "+1 555 123 4567",
            "+1",
            "+1234567890123456",
        ] {
            assert_eq!(
                read(json!({"channel": "sms", "to": bad, "text": "x"})).unwrap_err(),
                ["to"],
                "{bad}"
            );
        }
        assert_eq!(
            read(json!({"channel": "sms", "to": 15551234567i64, "text": "x"})).unwrap_err(),
            ["to"]
        );
        assert_eq!(
            read(json!({"channel": "sms", "to": "+15551234567"})).unwrap_err(),
            ["text"]
        );
        assert_eq!(
            read(json!({"channel": "sms", "to": "+15551234567", "text": "  "})).unwrap_err(),
            ["text"]
        );
        assert_eq!(
            read(json!({"channel": "sms", "to": "+15551234567", "text": "x".repeat(1601)}))
                .unwrap_err(),
            ["text"]
        );
        assert!(read(
            json!({"channel": "whatsapp", "to": "+15551234567", "text": "x".repeat(4096)})
        )
        .is_ok());
        assert_eq!(
            read(json!({"channel": "sms", "to": "+15551234567", "template": {"name": "a", "language": "en"}})).unwrap_err(),
            ["template"]
        );
        assert_eq!(
            read(json!({"channel": "whatsapp", "to": "+15551234567", "text": "x", "template": {"name": "a", "language": "en"}})).unwrap_err(),
            ["template"]
        );
        assert_eq!(
            read(json!({"channel": "whatsapp", "to": "+15551234567", "template": {"name": "Bad Name", "language": "english"}})).unwrap_err(),
            ["template.name", "template.language"]
        );
        assert_eq!(
            read(json!({"channel": "whatsapp", "to": "+15551234567", "template": {"name": "a", "language": "en", "components": [1]}})).unwrap_err(),
            ["template.components[0]"]
        );
        assert_eq!(
            read(json!({"channel": "whatsapp", "to": "+15551234567", "template": {"name": "a", "language": "en", "extra": 1}})).unwrap_err(),
            ["template.extra"]
        );
        assert_eq!(
            read(json!({"channel": "sms", "to": "+15551234567", "text": "x", "priority": "high"}))
                .unwrap_err(),
            ["priority"]
        );
    }

    #[test]
    fn gsm_alphabet() {
        assert!(is_gsm7("Your code is 123456. Reply STOP to opt out [€5]"));
        assert!(!is_gsm7("Votre code: 123 ✅"));
        assert!(!is_gsm7("你好"));
    }
}
