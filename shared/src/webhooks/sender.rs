//! The outbound HTTP client: no redirects, the SSRF-guarded resolver, a per-request
//! timeout, and a response body read to at most 4 KiB, so a receiver that streams forever
//! or answers with megabytes costs nothing.

use std::time::{Duration, Instant};

use http::HeaderMap;

use super::target::{check_url, GuardedResolver, TargetPolicy};

pub const MAX_LOGGED_BODY: usize = 4 * 1024;
/// A `Retry-After` longer than this is capped: the retry schedule stays bounded.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    pub status: Option<u16>,
    pub elapsed_ms: u64,
    pub body: Option<String>,
    pub error: Option<String>,
    pub retry_after: Option<Duration>,
    pub timed_out: bool,
    /// Refused before any connection: the URL names an address the policy forbids, and
    /// asking again cannot change that.
    pub refused: bool,
}

impl SendResult {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    policy: TargetPolicy,
}

impl Sender {
    pub fn new(policy: TargetPolicy) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // Through a proxy the guard below would vet only the proxy's address.
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(GuardedResolver {
                allow_private: policy.allow_private,
            }))
            .user_agent(format!("hookhub/{}", crate::VERSION))
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(30))
            .tls_backend_preconfigured(crate::tls::public_web())
            .build()
            .expect("HTTP client configuration is static");
        Self { client, policy }
    }

    pub async fn post(
        &self,
        url: &str,
        headers: HeaderMap,
        body: Vec<u8>,
        timeout: Duration,
    ) -> SendResult {
        let started = Instant::now();
        let failed = |error: String, timed_out: bool| SendResult {
            status: None,
            elapsed_ms: started.elapsed().as_millis() as u64,
            body: None,
            error: Some(error),
            retry_after: None,
            timed_out,
            refused: false,
        };
        // IP literals never reach the resolver: check them here.
        if let Err(e) = check_url(url, self.policy) {
            return SendResult {
                refused: true,
                ..failed(format!("blocked target: {e}"), false)
            };
        }
        let request = self
            .client
            .post(url)
            .headers(headers)
            .body(body)
            .timeout(timeout);
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => return failed(describe(&e), e.is_timeout()),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after)
            .map(|d| d.min(MAX_RETRY_AFTER));
        let mut snippet = Vec::new();
        let mut body_error = None;
        loop {
            match tokio::time::timeout(timeout.saturating_sub(started.elapsed()), response.chunk())
                .await
            {
                Ok(Ok(Some(chunk))) => {
                    let room = MAX_LOGGED_BODY - snippet.len();
                    snippet.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if snippet.len() >= MAX_LOGGED_BODY {
                        break;
                    }
                }
                Ok(Ok(None)) => break,
                Ok(Err(e)) => {
                    body_error = Some(describe(&e));
                    break;
                }
                Err(_) => {
                    body_error = Some("timed out reading the response body".into());
                    break;
                }
            }
        }
        SendResult {
            status: Some(status),
            elapsed_ms: started.elapsed().as_millis() as u64,
            body: (!snippet.is_empty()).then(|| String::from_utf8_lossy(&snippet).into_owned()),
            error: body_error,
            retry_after,
            timed_out: false,
            refused: false,
        }
    }
}

/// The error chain in one line, without the URL's query (it may carry tokens).
fn describe(err: &reqwest::Error) -> String {
    use std::error::Error;
    let mut text = if err.is_timeout() {
        "timed out".to_string()
    } else if err.is_connect() {
        "connection failed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `Retry-After` as seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(Duration::from_secs(wait.num_seconds().max(0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let d = parse_retry_after(&soon).unwrap();
        assert!((28..=30).contains(&d.as_secs()));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
