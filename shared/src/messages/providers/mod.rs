//! The providers a message can go out through, each behind the same small trait, and the
//! mapping of each one's documented errors to "try again" or "never".

pub mod sns;
pub mod twilio;
pub mod vonage;
pub mod whatsapp;

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

pub use sns::SnsSms;
pub use twilio::Twilio;
pub use vonage::Vonage;
pub use whatsapp::WhatsappCloud;

use super::content::Content;

/// The provider took the message.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub provider_message_id: String,
    /// The provider's own status word, as it answered (`queued`, `accepted`, …).
    pub provider_status: Option<String>,
}

/// The provider did not take the message.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// The provider's error code (`21211`, `131047`, …) or ours (`network_error`, …).
    pub code: String,
    pub message: String,
    /// Whether the same request may succeed later.
    pub retryable: bool,
    pub retry_after: Option<Duration>,
    pub http_status: Option<u16>,
}

impl Rejected {
    pub fn new(code: impl Into<String>, message: impl Into<String>, retryable: bool) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            retryable,
            retry_after: None,
            http_status: None,
        }
    }

    fn with_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    /// A provider's documented error answer: its numeric code (or the HTTP status when it
    /// gave none), its message, and its `Retry-After`.
    fn answered(
        code: Option<i64>,
        status: u16,
        message: String,
        retryable: bool,
        retry_after: Option<Duration>,
    ) -> Self {
        let mut rejected = Self::new(
            code.map_or_else(|| format!("http_{status}"), |c| c.to_string()),
            message,
            retryable,
        )
        .with_status(status);
        rejected.retry_after = retry_after;
        rejected
    }
}

pub type ProviderResult = Result<Accepted, Rejected>;

#[async_trait]
pub trait MessageProvider: Send + Sync {
    /// `twilio`, `vonage`, `sns` or `whatsapp`: recorded on the message.
    fn name(&self) -> &'static str;
    async fn send(&self, to: &str, content: &Content) -> ProviderResult;
}

/// Where the HTTP providers live; tests point them at local servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderUrls {
    pub twilio: String,
    pub vonage: String,
    pub graph: String,
}

impl Default for ProviderUrls {
    fn default() -> Self {
        Self {
            twilio: "https://api.twilio.com".into(),
            vonage: "https://rest.nexmo.com".into(),
            graph: "https://graph.facebook.com".into(),
        }
    }
}

/// The HTTP client the providers share: no redirects (a redirected POST would lose its
/// body or its credentials), bounded connect and total time.
pub fn provider_http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(format!("hookhub/{}", crate::VERSION))
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .pool_idle_timeout(Duration::from_secs(30))
        .tls_backend_preconfigured(crate::tls::public_web())
        .build()
        .expect("HTTP client configuration is static")
}

/// A request that got no answer: worth repeating.
fn transport_error(err: &reqwest::Error) -> Rejected {
    let code = if err.is_timeout() {
        "timeout"
    } else {
        "network_error"
    };
    // Without the URL: it may carry an account id.
    Rejected::new(code, err.without_url_string(), true)
}

pub(crate) trait WithoutUrl {
    fn without_url_string(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_string(&self) -> String {
        use std::error::Error;
        let mut text = if self.is_timeout() {
            "timed out".to_string()
        } else if self.is_connect() {
            "could not connect to the provider".to_string()
        } else {
            "request to the provider failed".to_string()
        };
        let mut source = self.source();
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    }
}

/// Reads a provider's answer: its status, `Retry-After`, and the body as JSON (or `Null`),
/// at most 64 KiB of it.
async fn read_answer(response: reqwest::Response) -> (u16, Option<Duration>, Value) {
    const MAX_ANSWER: usize = 64 * 1024;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::webhooks::sender::parse_retry_after);
    let mut response = response;
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER {
            break;
        }
    }
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, retry_after, json)
}

/// An answer that is not what the provider documents: a 5xx is worth repeating, anything
/// else is not.
fn unexpected(status: u16, provider: &str) -> Rejected {
    Rejected::new(
        format!("http_{status}"),
        format!("{provider} answered HTTP {status} without a recognisable body"),
        status >= 500 || status == 429 || status == 408,
    )
    .with_status(status)
}
