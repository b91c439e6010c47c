//! WhatsApp Cloud API: `POST /{version}/{phoneNumberId}/messages` with the business's
//! bearer token; text and template messages.

use async_trait::async_trait;
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::{
    read_answer, transport_error, unexpected, Accepted, Content, MessageProvider, ProviderResult,
    Rejected,
};

pub const DEFAULT_GRAPH_VERSION: &str = "v21.0";

pub struct WhatsappCloud {
    pub http: reqwest::Client,
    pub base_url: String,
    pub version: String,
    pub phone_number_id: String,
    pub access_token: Zeroizing<String>,
}

/// Meta's documented error codes worth repeating: rate and spam limits (130429, 131056),
/// unknown and temporary service errors (131000, 131016, 1, 2), app-level throttling (4,
/// 80007). Everything else (190 expired token, 131047 outside the 24-hour window, 131026
/// undeliverable, 100 invalid parameter, …) will not succeed as sent.
fn retryable(code: Option<i64>, status: u16) -> bool {
    match code {
        Some(130429 | 131056 | 131000 | 131016 | 1 | 2 | 4 | 80007) => true,
        Some(_) => false,
        None => status >= 500 || status == 429,
    }
}

pub fn request_body(to: &str, content: &Content) -> Value {
    // The Cloud API takes the number as digits with the country code.
    let to = to.trim_start_matches('+');
    match content {
        Content::Text { text } => json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"preview_url": false, "body": text},
        }),
        Content::Template {
            name,
            language,
            components,
        } => {
            let mut template = json!({"name": name, "language": {"code": language}});
            if !components.is_empty() {
                template["components"] = json!(components);
            }
            json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": "template",
                "template": template,
            })
        }
    }
}

#[async_trait]
impl MessageProvider for WhatsappCloud {
    fn name(&self) -> &'static str {
        "whatsapp"
    }

    async fn send(&self, to: &str, content: &Content) -> ProviderResult {
        let url = format!(
            "{}/{}/{}/messages",
            self.base_url.trim_end_matches('/'),
            self.version,
            self.phone_number_id
        );
        let response = self
            .http
            .post(url)
            .bearer_auth(self.access_token.as_str())
            .json(&request_body(to, content))
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let (status, retry_after, body) = read_answer(response).await;
        if (200..300).contains(&status) {
            return match body["messages"][0]["id"].as_str() {
                Some(id) if !id.is_empty() => Ok(Accepted {
                    provider_message_id: id.to_string(),
                    provider_status: body["messages"][0]["message_status"]
                        .as_str()
                        .map(str::to_string),
                }),
                _ => Err(unexpected(status, "the WhatsApp Cloud API")),
            };
        }
        let error = &body["error"];
        let Some(message) = error["message"].as_str() else {
            let mut rejected = unexpected(status, "the WhatsApp Cloud API");
            rejected.retry_after = retry_after;
            return Err(rejected);
        };
        let code = error["code"].as_i64();
        let details = error["error_data"]["details"].as_str();
        let message = match details {
            Some(d) if !d.is_empty() && d != message => format!("{message}: {d}"),
            _ => message.to_string(),
        };
        Err(Rejected::answered(
            code,
            status,
            message,
            retryable(code, status),
            retry_after,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_codes() {
        for code in [130429, 131056, 131000, 131016, 1, 2, 4, 80007] {
            assert!(retryable(Some(code), 400), "{code}");
        }
        for code in [190, 131047, 131026, 100] {
            assert!(!retryable(Some(code), 400), "{code}");
        }
        assert!(retryable(None, 502));
        assert!(!retryable(None, 400));
    }

    #[test]
    fn template_body_has_graph_shape() {
        let body = request_body(
            "+16505551234",
            &Content::Template {
                name: "hello_world".into(),
                language: "en_US".into(),
                components: vec![],
            },
        );
        assert_eq!(body["to"], "16505551234");
        assert_eq!(body["template"]["language"]["code"], "en_US");
        assert!(body["template"].get("components").is_none());
    }
}
