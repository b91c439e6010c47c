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
    /// Answers to give instead of forwarding: (operation, calls left, status, body).
    scripted: Mutex<Vec<(String, usize, u16, String)>>,
    /// Calls forwarded to the emulator, by operation.
    forwarded: Mutex<Vec<String>>,
    /// Batch calls to answer with all but their first item left unprocessed, and how many.
    partial: Mutex<Vec<(String, usize)>>,
}

impl FaultProxy {
    pub async fn start(upstream: &str) -> Self {
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
            failing: Mutex::default(),
            failed: Mutex::default(),
            scripted: Mutex::default(),
            forwarded: Mutex::default(),
            partial: Mutex::default(),
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

    /// Answers the next `times` calls of `operation` with `status` and an AWS JSON error
    /// `body`, without forwarding them: the emulator never sees those calls.
    pub fn answer(&self, operation: &str, times: usize, status: u16, body: &str) {
        self.state.scripted.lock().unwrap().push((
            operation.to_string(),
            times,
            status,
            body.to_string(),
        ));
    }

    /// Makes the next `times` calls of `BatchGetItem` or `BatchWriteItem` that carry more
    /// than one item do only the first, and answer the rest as `UnprocessedKeys` or
    /// `UnprocessedItems`, as DynamoDB does when it throttles part of a batch.
    pub fn leave_unprocessed(&self, operation: &str, times: usize) {
        self.state
            .partial
            .lock()
            .unwrap()
            .push((operation.to_string(), times));
    }

    /// How many partial answers to `operation` are still to be given.
    pub fn unprocessed_left(&self, operation: &str) -> usize {
        let partial = self.state.partial.lock().unwrap();
        partial
            .iter()
            .filter(|(o, _)| o == operation)
            .map(|(_, left)| left)
            .sum()
    }

    /// How many calls of `operation` reached the emulator.
    pub fn forwarded(&self, operation: &str) -> usize {
        let forwarded = self.state.forwarded.lock().unwrap();
        forwarded.iter().filter(|o| *o == operation).count()
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
    let scripted = {
        let mut scripted = state.scripted.lock().unwrap();
        scripted
            .iter_mut()
            .find(|(o, left, _, _)| *o == op && *left > 0)
            .map(|(_, left, status, body)| {
                *left -= 1;
                (*status, body.clone())
            })
    };
    if let Some((status, body)) = scripted {
        state.failed.lock().unwrap().push(op);
        return (
            StatusCode::from_u16(status).unwrap(),
            [("content-type", "application/x-amz-json-1.0")],
            body,
        )
            .into_response();
    }
    let mut body = body;
    let mut left_over = None;
    let partial = {
        let mut partial = state.partial.lock().unwrap();
        let item_count = batch_items(&op, &body);
        partial
            .iter_mut()
            .find(|(o, left)| *o == op && *left > 0 && item_count > 1)
            .map(|(_, left)| *left -= 1)
            .is_some()
    };
    if partial && op == "BatchWriteItem" {
        let (first, rest) = split_writes(&body);
        body = first;
        left_over = Some(rest);
    }
    state.forwarded.lock().unwrap().push(op.clone());
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
            let mut body = answer.bytes().await.unwrap_or_default();
            if let Some(rest) = left_over {
                body = with_unprocessed(&body, "UnprocessedItems", rest);
            } else if partial && op == "BatchGetItem" {
                body = keep_first_read(&body);
            }
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

fn json_of(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap_or_default()
}

/// How many items a batch call carries, over all its tables.
fn batch_items(op: &str, body: &[u8]) -> usize {
    let request = json_of(body);
    let per_table = |t: &serde_json::Value| match op {
        "BatchWriteItem" => t.as_array().map_or(0, Vec::len),
        "BatchGetItem" => t["Keys"].as_array().map_or(0, Vec::len),
        _ => 0,
    };
    request["RequestItems"]
        .as_object()
        .map_or(0, |tables| tables.values().map(per_table).sum())
}

/// The request with each table's first write only, and the writes left out.
fn split_writes(body: &[u8]) -> (Bytes, serde_json::Value) {
    let mut request = json_of(body);
    let mut rest = serde_json::Map::new();
    if let Some(tables) = request["RequestItems"].as_object_mut() {
        for (table, writes) in tables.iter_mut() {
            if let Some(list) = writes.as_array_mut() {
                let tail: Vec<_> = list.drain(1..).collect();
                rest.insert(table.clone(), serde_json::Value::Array(tail));
            }
        }
    }
    (
        Bytes::from(request.to_string()),
        serde_json::Value::Object(rest),
    )
}

fn with_unprocessed(body: &[u8], field: &str, rest: serde_json::Value) -> Bytes {
    let mut answer = json_of(body);
    answer[field] = rest;
    Bytes::from(answer.to_string())
}

/// The read's answer with each table's first item only, the others' keys left unprocessed.
fn keep_first_read(body: &[u8]) -> Bytes {
    let mut answer = json_of(body);
    let mut unprocessed = serde_json::Map::new();
    if let Some(tables) = answer["Responses"].as_object_mut() {
        for (table, items) in tables.iter_mut() {
            if let Some(list) = items.as_array_mut() {
                let keys: Vec<_> = list
                    .drain(1.min(list.len())..)
                    .map(|item| serde_json::json!({ "pk": item["pk"], "sk": item["sk"] }))
                    .collect();
                if !keys.is_empty() {
                    unprocessed.insert(
                        table.clone(),
                        serde_json::json!({ "Keys": keys, "ConsistentRead": true }),
                    );
                }
            }
        }
    }
    answer["UnprocessedKeys"] = serde_json::Value::Object(unprocessed);
    Bytes::from(answer.to_string())
}
