//! Calls that answer, against a local server that behaves like n8n: `?wait=true` returns
//! the workflow's status, headers and body (fast, slow past the timeout, failing,
//! unreachable, refused by the SSRF guard), workflow paths resolve against the tenant's n8n
//! `baseUrl` with its API key, calls are listed and read back, and "test connection" calls
//! the instance's health endpoint.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use serde_json::{json, Value};

use crate::support::Stack;

const N8N_API_KEY: &str = "n8n_api_0123456789abcdef0123";

#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body: Value,
}

/// A local stand-in for an n8n instance: webhook paths that answer JSON, slowly, or with a
/// 500, and n8n's `/healthz`; every webhook call recorded.
struct FakeN8n {
    base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl FakeN8n {
    async fn start() -> Self {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let router = axum::Router::new()
            .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
            .route("/webhook/{*rest}", post(webhook))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self {
            base_url: format!("http://{addr}"),
            seen,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn webhook(
    State(seen): State<Arc<Mutex<Vec<Seen>>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    seen.lock().unwrap().push(Seen {
        path: uri.path().to_string(),
        headers,
        body: body.clone(),
    });
    match uri.path() {
        "/webhook/orders" => (
            [("x-n8n-execution", "1042")],
            Json(json!({"accepted": true, "orderId": body["data"]["orderId"]})),
        )
            .into_response(),
        "/webhook/slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Json(json!({"late": true})).into_response()
        }
        "/webhook/big" => "x".repeat(100 * 1024).into_response(),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"code": 0, "message": "Workflow could not be started!"})),
        )
            .into_response(),
    }
}

async fn configure_n8n(stack: &Stack, tenant: &str, base_url: &str) {
    let (s, reply) = stack
        .call(
            "PUT",
            &format!("/api/platform/tenants/{tenant}/integrations/n8n"),
            &stack.admin,
            None,
            Some(json!({"enabled": true, "baseUrl": base_url, "apiKey": N8N_API_KEY})),
        )
        .await;
    assert_eq!(s, 200, "{reply}");
}

async fn workflow(stack: &Stack, tenant: &str, name: &str, url: &str, extra: Value) -> String {
    let mut body = json!({"workflowName": name, "webhookUrl": url});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (s, created) = stack
        .call(
            "POST",
            &format!("/api/platform/tenants/{tenant}/webhooks"),
            &stack.admin,
            None,
            Some(body),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    created["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn calls_with_wait_answer_with_the_workflows_response() {
    let stack = Stack::start("e2e-n8n-wait").await;
    let tenant = stack.tenant().await;
    let n8n = FakeN8n::start().await;
    let base = format!("/api/platform/tenants/{tenant}/webhooks");

    // A path needs the tenant's base URL first.
    let (s, refused) = stack
        .call(
            "POST",
            &base,
            &stack.admin,
            None,
            Some(json!({"workflowName": "orders", "webhookUrl": "/webhook/orders"})),
        )
        .await;
    assert_eq!(s, 422, "{refused}");
    assert_eq!(refused["error"]["details"][0]["field"], "webhookUrl");
    assert!(refused["error"]["details"][0]["message"]
        .as_str()
        .unwrap()
        .contains("baseUrl"));
    configure_n8n(&stack, &tenant, &format!("{}/", n8n.base_url)).await;
    for bad in [
        "//evil.example.com/webhook",
        "/webhook/a b",
        "webhook/orders",
    ] {
        let (s, e) = stack
            .call(
                "POST",
                &base,
                &stack.admin,
                None,
                Some(json!({"workflowName": "bad", "webhookUrl": bad})),
            )
            .await;
        assert_eq!(s, 422, "{bad}: {e}");
    }

    let orders = workflow(
        &stack,
        &tenant,
        "orders",
        "/webhook/orders",
        json!({"authToken": "wf-bearer-0123456789abcdef"}),
    )
    .await;
    workflow(
        &stack,
        &tenant,
        "slow",
        "/webhook/slow",
        json!({"timeoutMs": 1000}),
    )
    .await;
    workflow(&stack, &tenant, "broken", "/webhook/broken", json!({})).await;
    workflow(&stack, &tenant, "big", "/webhook/big", json!({})).await;
    // An absolute URL elsewhere: called, but never with the instance's API key.
    let elsewhere = FakeN8n::start().await;
    workflow(
        &stack,
        &tenant,
        "elsewhere",
        &format!("{}/webhook/orders", elsewhere.base_url),
        json!({}),
    )
    .await;

    // By name, waiting: the workflow's own answer, and the call logged like any other.
    let (s, answer) = stack
        .call(
            "POST",
            &format!("{base}/by-name/orders/call?wait=true"),
            &stack.admin,
            None,
            Some(json!({"orderId": "A-17"})),
        )
        .await;
    assert_eq!(s, 200, "{answer}");
    assert_eq!(answer["success"], true);
    assert_eq!(answer["statusCode"], 200);
    assert_eq!(answer["workflowName"], "orders");
    assert_eq!(answer["webhookId"], orders);
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"accepted": true, "orderId": "A-17"}));
    assert_eq!(answer["headers"]["x-n8n-execution"], "1042");
    assert_eq!(answer["bodyTruncated"], false);
    let call = &n8n.seen()[0];
    assert_eq!(
        call.path, "/webhook/orders",
        "the path joined to the base URL"
    );
    assert_eq!(call.headers["x-n8n-api-key"], N8N_API_KEY);
    assert_eq!(
        call.headers["authorization"],
        "Bearer wf-bearer-0123456789abcdef"
    );
    assert_eq!(call.body["data"]["orderId"], "A-17");
    let (s, logged) = stack
        .call(
            "GET",
            &format!("{base}/logs/{}", answer["logId"].as_str().unwrap()),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert_eq!(s, 200, "{logged}");
    assert_eq!(
        logged["request"]["url"],
        format!("{}/webhook/orders", n8n.base_url)
    );
    assert_eq!(
        logged["request"]["headers"]["authorization"],
        "Bearer wf-bearer-***abcdef"
    );
    assert_eq!(
        logged["request"]["headers"]["x-n8n-api-key"],
        "n8n_api_01***ef0123"
    );
    assert!(
        !logged.to_string().contains(N8N_API_KEY),
        "the API key is never shown: {logged}"
    );
    assert_eq!(logged["response"]["statusCode"], 200);

    // Slow past the workflow's timeout, failing, and too big to show whole.
    let call = |name: &'static str| {
        let stack = &stack;
        let base = base.clone();
        async move {
            let (s, answer) = stack
                .call(
                    "POST",
                    &format!("{base}/by-name/{name}/call?wait=true"),
                    &stack.admin,
                    None,
                    None,
                )
                .await;
            assert_eq!(s, 200, "{name}: {answer}");
            answer
        }
    };
    let slow = call("slow").await;
    assert_eq!(slow["success"], false);
    assert_eq!(slow["statusCode"], Value::Null);
    assert!(
        slow["error"].as_str().unwrap().contains("timed out"),
        "{slow}"
    );
    assert!(slow["durationMs"].as_u64().unwrap() < 5000, "{slow}");
    let broken = call("broken").await;
    assert_eq!(broken["success"], false);
    assert_eq!(broken["statusCode"], 500);
    assert!(broken["body"]
        .as_str()
        .unwrap()
        .contains("Workflow could not be started!"));
    let big = call("big").await;
    assert_eq!(big["body"].as_str().unwrap().len(), 64 * 1024);
    assert_eq!(big["bodyTruncated"], true);
    let other = call("elsewhere").await;
    assert_eq!(other["success"], true, "{other}");
    assert!(elsewhere.seen()[0].headers.get("x-n8n-api-key").is_none());

    // Broadcast, waiting: one answer per active workflow, all called at once (the slow
    // one's second does not add to the others').
    let (s, all) = stack
        .call(
            "POST",
            &format!("{base}/broadcast?wait=true"),
            &stack.admin,
            None,
            Some(json!({"orderId": "B-2"})),
        )
        .await;
    assert_eq!(s, 200, "{all}");
    let results = all["results"].as_array().unwrap();
    assert_eq!(results.len(), 5);
    let by_name = |name: &str| {
        results
            .iter()
            .find(|r| r["workflowName"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(by_name("orders")["success"], true);
    assert_eq!(by_name("broken")["statusCode"], 500);

    // Without wait, still queued for the delivery engine.
    let (s, queued) = stack
        .call(
            "POST",
            &format!("{base}/{orders}/call"),
            &stack.admin,
            None,
            Some(json!({"orderId": "C-3"})),
        )
        .await;
    assert_eq!(s, 202, "{queued}");
    assert_eq!(queued["deliveries"][0]["webhookId"], orders);
    let (s, _) = stack
        .call(
            "POST",
            &format!("{base}/{orders}/call?wait=maybe"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert_eq!(s, 400);

    // The calls listing, with the dashboard's filters.
    stack
        .eventually(Duration::from_secs(30), || async {
            let (_, page) = stack
                .call(
                    "GET",
                    &format!("{base}/logs?webhookId={orders}"),
                    &stack.admin,
                    None,
                    None,
                )
                .await;
            page["data"].as_array().is_some_and(|d| d.len() == 3)
        })
        .await;
    let (s, failed) = stack
        .call(
            "GET",
            &format!("{base}/logs?status=failed&range=24h"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert_eq!(s, 200, "{failed}");
    let names: Vec<&str> = failed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["workflowName"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4, "slow and broken, twice each: {names:?}");
    assert!(names.iter().all(|n| *n == "slow" || *n == "broken"));
    let (_, recent) = stack
        .call(
            "GET",
            &format!("{base}/analytics/recent?webhookId={orders}&status=success"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert_eq!(recent["data"].as_array().unwrap().len(), 3, "{recent}");
    for bad in ["?webhookId=wf_nope", "?status=maybe", "?range=2y"] {
        let (s, _) = stack
            .call(
                "GET",
                &format!("{base}/logs{bad}"),
                &stack.admin,
                None,
                None,
            )
            .await;
        assert!(s == 400 || s == 404, "{bad}: {s}");
    }

    // Another tenant's workflow calls are not this tenant's to read.
    let other_tenant = stack.tenant().await;
    let (s, _) = stack
        .call(
            "GET",
            &format!(
                "/api/platform/tenants/{other_tenant}/webhooks/logs/{}",
                answer["logId"].as_str().unwrap()
            ),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (_, page) = stack
        .call(
            "GET",
            &format!("/api/platform/tenants/{other_tenant}/webhooks/logs"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert_eq!(page["data"], json!([]));
}

#[tokio::test]
async fn unreachable_and_private_workflows_answer_with_the_reason() {
    // As deployed: no private or loopback targets.
    let stack = Stack::start_with(
        "e2e-n8n-ssrf",
        &[("HOOKHUB_ALLOW_PRIVATE_TARGETS", "false".into())],
    )
    .await;
    let tenant = stack.tenant().await;
    let n8n = FakeN8n::start().await;
    let base = format!("/api/platform/tenants/{tenant}/webhooks");

    // A whole URL naming a private address is refused when registered.
    let (s, e) = stack
        .call(
            "POST",
            &base,
            &stack.admin,
            None,
            Some(json!({"workflowName": "meta", "webhookUrl": "http://169.254.169.254/latest/meta-data"})),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    // A path on a base URL that is loopback is refused when called, and nothing is sent.
    configure_n8n(&stack, &tenant, &n8n.base_url).await;
    workflow(&stack, &tenant, "orders", "/webhook/orders", json!({})).await;
    let (s, answer) = stack
        .call(
            "POST",
            &format!("{base}/by-name/orders/call?wait=true"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert_eq!(s, 200, "{answer}");
    assert_eq!(answer["success"], false);
    assert!(
        answer["error"].as_str().unwrap().contains("blocked target"),
        "{answer}"
    );
    assert!(
        n8n.seen().is_empty(),
        "the guard stops the call before it leaves"
    );

    // "Test connection" reports the same refusal.
    let (s, health) = stack
        .call(
            "POST",
            &format!("/api/platform/tenants/{tenant}/integrations/n8n/test"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert_eq!(s, 200, "{health}");
    assert_eq!(health["reachable"], false);
    assert!(health["error"].as_str().unwrap().contains("blocked target"));
}

#[tokio::test]
async fn test_connection_calls_the_instances_health_endpoint() {
    let stack = Stack::start("e2e-n8n-health").await;
    let tenant = stack.tenant().await;
    let test = format!("/api/platform/tenants/{tenant}/integrations/n8n/test");
    let (s, e) = stack.call("POST", &test, &stack.admin, None, None).await;
    assert_eq!(s, 422, "no base URL yet: {e}");

    let n8n = FakeN8n::start().await;
    configure_n8n(&stack, &tenant, &n8n.base_url).await;
    let (s, health) = stack.call("POST", &test, &stack.admin, None, None).await;
    assert_eq!(s, 200, "{health}");
    assert_eq!(health["reachable"], true);
    assert_eq!(health["healthy"], true);
    assert_eq!(health["statusCode"], 200);
    assert_eq!(health["tls"], "not used");
    assert_eq!(health["url"], format!("{}/healthz", n8n.base_url));
    assert!(health["latencyMs"].is_u64());

    // An instance that is down: unreachable, with the reason.
    let gone = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    configure_n8n(&stack, &tenant, &format!("http://{gone}")).await;
    let (_, health) = stack.call("POST", &test, &stack.admin, None, None).await;
    assert_eq!(health["reachable"], false);
    assert_eq!(health["healthy"], false);
    assert!(
        health["error"].as_str().unwrap().contains("connection"),
        "{health}"
    );

    // A call to a workflow there is logged as failed with the same reason.
    workflow(&stack, &tenant, "orders", "/webhook/orders", json!({})).await;
    let (s, answer) = stack
        .call(
            "POST",
            &format!("/api/platform/tenants/{tenant}/webhooks/by-name/orders/call?wait=true"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(answer["success"], false);
    assert_eq!(answer["statusCode"], Value::Null);
    assert!(answer["error"].as_str().unwrap().contains("connection"));

    let (s, e) = stack
        .call(
            "POST",
            &test,
            &stack.admin,
            None,
            Some(json!({"to": "+15551234567"})),
        )
        .await;
    assert_eq!(s, 422, "n8n's test takes no body: {e}");
}
