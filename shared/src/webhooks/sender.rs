//! The outbound HTTP client: no redirects, the SSRF-guarded resolver, a per-request
//! timeout, and a response body read to at most 4 KiB (64 KiB for a call whose caller waits
//! for the answer), so a receiver that streams forever or answers with megabytes costs
//! nothing.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use http::HeaderMap;

use super::target::{check_url, GuardedResolver, TargetPolicy};

pub const MAX_LOGGED_BODY: usize = 4 * 1024;
/// Response headers kept with an attempt: enough to see what a receiver said, bounded so
/// that a log item stays small whatever the receiver sends.
const MAX_KEPT_HEADERS: usize = 32;
const MAX_KEPT_HEADER_VALUE: usize = 256;
/// A `Retry-After` longer than this is capped: the retry schedule stays bounded.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    pub status: Option<u16>,
    pub elapsed_ms: u64,
    /// The response's headers (names lower-case, repeats joined with `, `), bounded.
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    /// The body filled the room kept for it, and the receiver may have sent more.
    pub truncated: bool,
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

    /// POSTs, keeping at most [`MAX_LOGGED_BODY`] of the answer.
    pub async fn post(
        &self,
        url: &str,
        headers: HeaderMap,
        body: Vec<u8>,
        timeout: Duration,
    ) -> SendResult {
        self.post_keeping(url, headers, body, timeout, MAX_LOGGED_BODY)
            .await
    }

    /// POSTs, keeping at most `max_body` bytes of the answer.
    pub async fn post_keeping(
        &self,
        url: &str,
        headers: HeaderMap,
        body: Vec<u8>,
        timeout: Duration,
        max_body: usize,
    ) -> SendResult {
        self.exchange(http::Method::POST, url, headers, body, timeout, max_body)
            .await
    }

    /// GETs (a health check), keeping at most [`MAX_LOGGED_BODY`] of the answer.
    pub async fn get(&self, url: &str, headers: HeaderMap, timeout: Duration) -> SendResult {
        self.exchange(
            http::Method::GET,
            url,
            headers,
            Vec::new(),
            timeout,
            MAX_LOGGED_BODY,
        )
        .await
    }

    async fn exchange(
        &self,
        method: http::Method,
        url: &str,
        headers: HeaderMap,
        body: Vec<u8>,
        timeout: Duration,
        max_body: usize,
    ) -> SendResult {
        let started = Instant::now();
        let failed = |error: String, timed_out: bool| SendResult {
            status: None,
            elapsed_ms: started.elapsed().as_millis() as u64,
            headers: BTreeMap::new(),
            body: None,
            truncated: false,
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
            .request(method, url)
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
        let kept_headers = kept(response.headers());
        let mut snippet = Vec::new();
        let mut body_error = None;
        loop {
            match tokio::time::timeout(timeout.saturating_sub(started.elapsed()), response.chunk())
                .await
            {
                Ok(Ok(Some(chunk))) => {
                    let room = max_body - snippet.len();
                    snippet.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if snippet.len() >= max_body {
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
            headers: kept_headers,
            truncated: snippet.len() >= max_body,
            body: (!snippet.is_empty()).then(|| String::from_utf8_lossy(&snippet).into_owned()),
            error: body_error,
            retry_after,
            timed_out: false,
            refused: false,
        }
    }
}

/// The first [`MAX_KEPT_HEADERS`] header names, each value cut to [`MAX_KEPT_HEADER_VALUE`]
/// characters; repeats of a name joined as HTTP allows.
pub fn kept(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        if out.len() >= MAX_KEPT_HEADERS && !out.contains_key(name.as_str()) {
            continue;
        }
        let value = String::from_utf8_lossy(value.as_bytes());
        let value: String = value.chars().take(MAX_KEPT_HEADER_VALUE).collect();
        out.entry(name.as_str().to_string())
            .and_modify(|v| {
                if v.len() < MAX_KEPT_HEADER_VALUE {
                    v.push_str(", ");
                    v.push_str(&value);
                }
            })
            .or_insert(value);
    }
    out
}

/// The error chain in one line, without the URL's query (it may carry tokens).
pub fn describe(err: &reqwest::Error) -> String {
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
    fn kept_headers_are_bounded() {
        let mut headers = HeaderMap::new();
        for i in 0..50 {
            headers.insert(
                http::HeaderName::from_bytes(format!("x-h{i:02}").as_bytes()).unwrap(),
                http::HeaderValue::from_str(&"v".repeat(1000)).unwrap(),
            );
        }
        let many = kept(&headers);
        assert_eq!(many.len(), MAX_KEPT_HEADERS);
        assert!(many
            .values()
            .all(|v| v.chars().count() <= MAX_KEPT_HEADER_VALUE));
        let mut repeated = HeaderMap::new();
        repeated.append("set-cookie", http::HeaderValue::from_static("a=1"));
        repeated.append("set-cookie", http::HeaderValue::from_static("b=2"));
        assert_eq!(kept(&repeated)["set-cookie"], "a=1, b=2");
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        let d = parse_retry_after(&soon).unwrap();
        assert!((28..=30).contains(&d.as_secs()));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
