//! A proxy between the application and the emulator that fails the AWS calls a test names,
//! to stop "the database" or "the queue" in the middle of a request or a worker batch. The
//! operation is read from the request as each AWS protocol carries it: `X-Amz-Target` for
//! DynamoDB, SQS and KMS (JSON protocols), `Action=` for SNS (query protocol).

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

#[derive(Clone)]
pub struct FaultProxy {
    pub url: String,
    state: Arc<ProxyState>,
}

struct ProxyState {
    upstream: String,
    http: reqwest::Client,
    /// Operations to fail (`PutItem`, `SendMessageBatch`, or `*` for every call).
    failing: Mutex<Vec<String>>,
    /// Calls that were failed, by operation.
    failed: Mutex<Vec<String>>,
}

impl FaultProxy {
    pub async fn start(upstream: &str) -> Self {
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            failing: Mutex::default(),
            failed: Mutex::default(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let router = axum::Router::new()
            .fallback(forward)
            .with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { url, state }
    }

    /// Fails these operations from now on (`*`: everything, as if the emulator had stopped).
    pub fn fail(&self, operations: &[&str]) {
        *self.state.failing.lock().unwrap() = operations.iter().map(|s| s.to_string()).collect();
    }

    /// Lets every call through again.
    pub fn heal(&self) {
        self.state.failing.lock().unwrap().clear();
    }

    /// The operations failed so far.
    pub fn failed(&self) -> Vec<String> {
        self.state.failed.lock().unwrap().clone()
    }
}

fn operation(headers: &HeaderMap, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    let form = String::from_utf8_lossy(body);
    form.split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .unwrap_or("unknown")
        .to_string()
}

async fn forward(
    State(state): State<Arc<ProxyState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let op = operation(&headers, &body);
    let failing = {
        let failing = state.failing.lock().unwrap();
        failing.iter().any(|f| f == "*" || *f == op)
    };
    if failing {
        state.failed.lock().unwrap().push(op);
        // What an AWS endpoint answers when it cannot serve: the SDK retries it, then gives
        // up with a service error, as it does when the service is down.
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("content-type", "application/x-amz-json-1.0")],
            r#"{"__type":"com.amazonaws#ServiceUnavailable","message":"injected fault"}"#,
        )
            .into_response();
    }
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = state
        .http
        .request(method, format!("{}{path}", state.upstream))
        .body(body);
    for (name, value) in headers.iter() {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status();
            let headers = answer.headers().clone();
            let body = answer.bytes().await.unwrap_or_default();
            let mut response = (status, body).into_response();
            for (name, value) in headers.iter() {
                if name != "content-length" && name != "transfer-encoding" {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
