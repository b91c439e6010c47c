//! Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`,
//! form-encoded, HTTP basic auth with the Account SID and Auth Token.

use async_trait::async_trait;
use zeroize::Zeroizing;

use super::{
    read_answer, transport_error, unexpected, Accepted, Content, MessageProvider, ProviderResult,
    Rejected,
};

/// Where a Twilio message comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwilioSender {
    /// A Messaging Service picks the number (preferred when both are configured).
    MessagingService(String),
    From(String),
}

pub struct Twilio {
    pub http: reqwest::Client,
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: Zeroizing<String>,
    pub sender: TwilioSender,
}

/// Twilio's documented codes worth repeating: 20429 (too many requests); 5xx answers too.
fn retryable(code: Option<i64>, status: u16) -> bool {
    matches!(code, Some(20429)) || status == 429 || status >= 500
}

#[async_trait]
impl MessageProvider for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    async fn send(&self, to: &str, content: &Content) -> ProviderResult {
        let Some(text) = content.text() else {
            return Err(Rejected::new(
                "unsupported_content",
                "Twilio SMS sends text only",
                false,
            ));
        };
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base_url.trim_end_matches('/'),
            self.account_sid
        );
        let mut form = vec![("To", to), ("Body", text)];
        match &self.sender {
            TwilioSender::MessagingService(sid) => form.push(("MessagingServiceSid", sid)),
            TwilioSender::From(number) => form.push(("From", number)),
        }
        let response = self
            .http
            .post(url)
            .basic_auth(&self.account_sid, Some(self.auth_token.as_str()))
            .form(&form)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let (status, retry_after, body) = read_answer(response).await;
        if (200..300).contains(&status) {
            return match body["sid"].as_str() {
                Some(sid) if !sid.is_empty() => Ok(Accepted {
                    provider_message_id: sid.to_string(),
                    provider_status: body["status"].as_str().map(str::to_string),
                }),
                _ => Err(unexpected(status, "Twilio")),
            };
        }
        let code = body["code"].as_i64();
        let Some(message) = body["message"].as_str() else {
            return Err(unexpected(status, "Twilio"));
        };
        Err(Rejected::answered(
            code,
            status,
            message.to_string(),
            retryable(code, status),
            retry_after,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::retryable;

    #[test]
    fn documented_codes() {
        assert!(retryable(Some(20429), 429));
        assert!(retryable(None, 503));
        assert!(retryable(Some(20500), 500));
        for final_code in [21211, 21610, 21614, 20003] {
            assert!(!retryable(Some(final_code), 400), "{final_code}");
        }
    }
}
