//! Vonage (Nexmo) SMS API: `POST /sms/json` with api_key and api_secret in the form; an
//! HTTP 200 carries a status per message part, and "0" is success.

use async_trait::async_trait;
use serde_json::Value;
use zeroize::Zeroizing;

use super::{
    read_answer, transport_error, unexpected, Accepted, Content, MessageProvider, ProviderResult,
    Rejected,
};
use crate::messages::content::is_gsm7;

pub struct Vonage {
    pub http: reqwest::Client,
    pub base_url: String,
    pub api_key: String,
    pub api_secret: Zeroizing<String>,
    pub from: String,
}

/// Vonage's documented statuses worth repeating: 1 throttled, 5 internal error, 10 too
/// many existing binds.
fn retryable(status: &str) -> bool {
    matches!(status, "1" | "5" | "10")
}

#[async_trait]
impl MessageProvider for Vonage {
    fn name(&self) -> &'static str {
        "vonage"
    }

    async fn send(&self, to: &str, content: &Content) -> ProviderResult {
        let Some(text) = content.text() else {
            return Err(Rejected::new(
                "unsupported_content",
                "Vonage SMS sends text only",
                false,
            ));
        };
        // Vonage takes E.164 without the leading +.
        let to = to.trim_start_matches('+');
        let from = self.from.trim_start_matches('+');
        let mut form = vec![
            ("api_key", self.api_key.as_str()),
            ("api_secret", self.api_secret.as_str()),
            ("from", from),
            ("to", to),
            ("text", text),
        ];
        if !is_gsm7(text) {
            form.push(("type", "unicode"));
        }
        let url = format!("{}/sms/json", self.base_url.trim_end_matches('/'));
        let response = self
            .http
            .post(url)
            .form(&form)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let (status, retry_after, body) = read_answer(response).await;
        let parts = body["messages"].as_array().filter(|p| !p.is_empty());
        let Some(parts) = parts.filter(|_| status == 200) else {
            let mut rejected = unexpected(status, "Vonage");
            rejected.retry_after = retry_after;
            return Err(rejected);
        };
        // A long text goes out in parts; it is sent only if every part was.
        if let Some(failed) = parts.iter().find(|p| part_status(p) != "0") {
            let code = part_status(failed);
            return Err(Rejected::new(
                code.clone(),
                failed["error-text"]
                    .as_str()
                    .unwrap_or("Vonage refused the message"),
                retryable(&code),
            )
            .with_status(status));
        }
        match parts[0]["message-id"].as_str() {
            Some(id) if !id.is_empty() => Ok(Accepted {
                provider_message_id: id.to_string(),
                provider_status: Some("0".into()),
            }),
            _ => Err(unexpected(status, "Vonage")),
        }
    }
}

/// Vonage documents the status as a string; accept a number too.
fn part_status(part: &Value) -> String {
    match &part["status"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::retryable;

    #[test]
    fn documented_statuses() {
        for code in ["1", "5", "10"] {
            assert!(retryable(code), "{code}");
        }
        for code in ["2", "3", "4", "6", "7", "8", "9", "15", "29"] {
            assert!(!retryable(code), "{code}");
        }
    }
}
