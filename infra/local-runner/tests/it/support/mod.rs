//! An end-to-end harness: the local runner on a loopback port over an isolated emulator
//! stack, its queue poller running the real worker, and real HTTP receivers.
#![allow(dead_code)]

pub mod fault_proxy;
/// Servers that answer like Twilio, Vonage, WhatsApp Cloud and the Graph API.
#[path = "../../../../../shared/tests/it/support/providers.rs"]
pub mod providers;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hookhub_local::{app, QueuePoller};
use hookhub_shared::auth::{mint_for, Role};
use hookhub_test_support::{counted_clients, AwsCallCounter, TestStack};
use serde_json::{json, Value};
use tokio::sync::watch;

pub struct Stack {
    pub stack: TestStack,
    worker: Worker,
    pub base: String,
    pub admin: String,
    pub http: reqwest::Client,
    stop_worker: Mutex<watch::Sender<bool>>,
}

impl Stack {
    /// The runner serving HTTP, and the poller feeding the real worker.
    pub async fn start(label: &str) -> Self {
        Self::start_with(label, &[]).await
    }

    /// Like `start`, with configuration overrides (provider base URLs, say).
    pub async fn start_with(label: &str, overrides: &[(&str, String)]) -> Self {
        let stack = TestStack::with_settings(
            label,
            hookhub_test_support::QueueSettings::default(),
            overrides,
        )
        .await;
        Self::launch(stack).await
    }

    /// A stack whose API and worker reach the emulator through `app_endpoint` (a proxy).
    pub async fn start_through(
        label: &str,
        queue: hookhub_test_support::QueueSettings,
        app_endpoint: &str,
    ) -> Self {
        Self::launch(TestStack::through(label, queue, app_endpoint).await).await
    }

    /// Like `start_with`, with each function's AWS calls counted on its own: the admin API,
    /// the Meta ingress and the worker each record what they ask of AWS, as three Lambda
    /// functions with three roles would. Every request and every batch runs on a context of
    /// its own, as on a cold container, so calls a warm cache would skip (a secret's data
    /// key opened with KMS) are made and recorded.
    pub async fn start_counted(label: &str, overrides: &[(&str, String)]) -> (Self, FunctionCalls) {
        // People sign in to a user pool of the stack's own, as the deployed admin API does.
        let endpoint = hookhub_test_support::test_endpoint();
        let cognito = aws_sdk_cognitoidentityprovider::Client::from_conf(
            hookhub_shared::aws::AwsClients::for_endpoint(&endpoint)
                .await
                .cognito,
        );
        let pool = hookhub_local::provision::user_pool::ensure_user_pool(
            &cognito,
            &hookhub_test_support::StackNames::unique(label).table,
            &endpoint,
        )
        .await
        .expect("provisioning the user pool");
        let mut settings = pool.env_vars();
        settings.extend(overrides.iter().map(|(n, v)| (*n, v.clone())));
        let stack = TestStack::with_settings(
            label,
            hookhub_test_support::QueueSettings::default(),
            &settings,
        )
        .await;
        let calls = FunctionCalls::default();
        let cold = |counter: &AwsCallCounter| {
            let clients = counted_clients(&stack.app_clients, counter);
            let config = (*stack.ctx.config).clone();
            move || {
                hookhub_shared::AppContext::new(config.clone(), &clients)
                    .with_user_pool(&clients)
                    .with_mailer(&clients)
            }
        };
        let (admin, meta) = (cold(&calls.admin_api), cold(&calls.meta_ingress));
        let router = axum::Router::new().fallback_service(tower::service_fn(
            move |request: axum::extract::Request| {
                let router = admin_api::router(admin()).merge(meta_ingress::router(meta()));
                async move { tower::ServiceExt::oneshot(router, request).await }
            },
        ));
        let worker = Worker::Cold(Arc::new(cold(&calls.delivery_worker)));
        (Self::serve(stack, router, worker).await, calls)
    }

    async fn launch(stack: TestStack) -> Self {
        let router = app(stack.ctx.clone());
        let worker = Worker::Warm(stack.ctx.clone());
        Self::serve(stack, router, worker).await
    }

    async fn serve(stack: TestStack, router: axum::Router, worker: Worker) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        let admin = mint_for(
            stack.ctx.config.jwt_secret().unwrap(),
            "root",
            Role::PlatformAdmin,
            None,
            1,
        );
        let stack = Self {
            stack,
            worker,
            base: format!("http://{addr}"),
            admin,
            http: reqwest::Client::new(),
            stop_worker: Mutex::new(watch::channel(false).0),
        };
        stack.start_worker();
        stack
    }

    /// Starts a worker: the queue poller feeding the real batch processor.
    pub fn start_worker(&self) {
        let (stop, stop_rx) = watch::channel(false);
        let sqs = self.stack.app_clients.sqs.clone();
        let queue = self.stack.stack.queue_url.clone();
        let poller = move |ctx: &hookhub_shared::AppContext| {
            QueuePoller::new(
                sqs.clone(),
                &queue,
                Arc::new(delivery_worker::processor(ctx)),
            )
            .with_wait(Duration::from_secs(1))
        };
        match &self.worker {
            Worker::Warm(ctx) => {
                let poller = poller(ctx);
                tokio::spawn(async move { poller.run(stop_rx).await });
            }
            Worker::Cold(fresh) => {
                let fresh = fresh.clone();
                tokio::spawn(async move {
                    while !*stop_rx.borrow() {
                        if let Err(e) = poller(&fresh()).poll_once().await {
                            eprintln!("poll failed: {e}");
                        }
                    }
                });
            }
        }
        *self.stop_worker.lock().unwrap() = stop;
    }

    /// Stops the worker where it stands, as if its process were killed: the batch in hand
    /// is dropped mid-flight, nothing more is recorded or deleted.
    pub fn kill_worker(&self) {
        let _ = self.stop_worker.lock().unwrap().send(true);
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        tenant: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(t) = tenant {
            req = req.header("x-tenant-id", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// POSTs `body` to the tenant's Meta callback, signed with `app_secret` as Meta signs.
    pub async fn post_meta(&self, tenant: &str, app_secret: &str, body: &Value) -> (u16, Value) {
        let bytes = serde_json::to_vec(body).unwrap();
        let resp = self
            .http
            .post(format!("{}/webhooks/meta/{tenant}", self.base))
            .header("content-type", "application/json")
            .header(
                "x-hub-signature-256",
                hookhub_shared::signing::body_hmac::sign(app_secret, &bytes),
            )
            .body(bytes)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn tenant(&self) -> String {
        let (s, body) = self
            .call(
                "POST",
                "/api/platform/tenants",
                &self.admin,
                None,
                Some(json!({"name": "Acme"})),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        body["id"].as_str().unwrap().to_string()
    }

    /// Saves one of the tenant's integrations as a platform admin; 200 expected.
    pub async fn put_integration(&self, tenant: &str, kind: &str, body: Value) {
        let (s, reply) = self
            .call(
                "PUT",
                &format!("/api/platform/tenants/{tenant}/integrations/{kind}"),
                &self.admin,
                None,
                Some(body),
            )
            .await;
        assert_eq!(s, 200, "{kind}: {reply}");
    }

    /// Connects the tenant to WhatsApp with this app secret.
    pub async fn configure_whatsapp(&self, tenant: &str, app_secret: &str) {
        let (s, reply) = self
            .call(
                "PUT",
                &format!("/api/platform/tenants/{tenant}/integrations/whatsapp"),
                &self.admin,
                None,
                Some(json!({"enabled": true, "phoneNumberId": "106540352242922", "businessAccountId": "102290129340398",
                            "accessToken": "EAATestAccessToken123456789", "webhookVerifyToken": "verify-me",
                            "appSecret": app_secret})),
            )
            .await;
        assert_eq!(s, 200, "{reply}");
    }

    /// Registers an endpoint; returns (id, secret).
    pub async fn endpoint(&self, tenant: &str, url: &str, extra: Value) -> (String, String) {
        let mut body = json!({"name": "receiver", "url": url, "events": ["*"]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, reply) = self
            .call(
                "POST",
                "/api/v1/webhooks",
                &self.admin,
                Some(tenant),
                Some(body),
            )
            .await;
        assert_eq!(s, 201, "{reply}");
        (
            reply["id"].as_str().unwrap().into(),
            reply["secret"].as_str().unwrap().into(),
        )
    }

    /// An endpoint's counters (`GET /api/v1/webhooks/{id}/stats`).
    pub async fn stats(&self, tenant: &str, endpoint: &str) -> Value {
        let (s, stats) = self
            .call(
                "GET",
                &format!("/api/v1/webhooks/{endpoint}/stats"),
                &self.admin,
                Some(tenant),
                None,
            )
            .await;
        assert_eq!(s, 200, "{stats}");
        stats
    }

    pub async fn publish(&self, tenant: &str, event_type: &str, data: Value) -> Value {
        let (s, reply) = self
            .call(
                "POST",
                "/api/v1/events",
                &self.admin,
                Some(tenant),
                Some(json!({"type": event_type, "data": data})),
            )
            .await;
        assert_eq!(s, 202, "{reply}");
        reply
    }

    pub async fn logs(&self, tenant: &str, endpoint: &str) -> Vec<Value> {
        let (s, reply) = self
            .call(
                "GET",
                &format!("/api/v1/webhooks/{endpoint}/logs?limit=1000"),
                &self.admin,
                Some(tenant),
                None,
            )
            .await;
        assert_eq!(s, 200, "{reply}");
        reply["data"].as_array().unwrap().clone()
    }

    /// Polls `check` until it holds, for at most `within`.
    pub async fn eventually<F, Fut>(&self, within: Duration, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("condition not met within {within:?}");
    }
}

/// What runs the queue's jobs: one context for every batch, as a warm container, or a new
/// one for each batch.
enum Worker {
    Warm(hookhub_shared::AppContext),
    Cold(Arc<dyn Fn() -> hookhub_shared::AppContext + Send + Sync>),
}

/// The AWS calls of each function, recorded apart.
#[derive(Default)]
pub struct FunctionCalls {
    pub admin_api: AwsCallCounter,
    pub meta_ingress: AwsCallCounter,
    pub delivery_worker: AwsCallCounter,
}

/// How a receiver answers.
#[derive(Clone)]
pub enum Behaviour {
    Ok,
    /// 500 for the first n requests, then 200.
    FailFirst(usize),
    /// As `FailFirst`, each answer's body the request's, as some receivers echo it.
    FailFirstEchoing(usize),
    AlwaysFail,
    /// 429 with Retry-After: n seconds once, then 200.
    RateLimitedOnce(u64),
    Gone,
    /// Never answers within any sane timeout.
    Hang,
    /// Answers 200 after this long.
    Slow(Duration),
    Redirect,
    BadRequest,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub async fn start(behaviour: Behaviour) -> Self {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = (behaviour, received.clone());
        let router = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(state);
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self {
            url: format!("http://{addr}/hook"),
            received,
        }
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    pub fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn receive(
    State((behaviour, received)): State<(Behaviour, Arc<Mutex<Vec<Received>>>)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let echoed = body.clone();
    let n = {
        let mut r = received.lock().unwrap();
        r.push(Received {
            headers,
            body,
            at: Instant::now(),
        });
        r.len()
    };
    match behaviour {
        Behaviour::Ok => (StatusCode::OK, "ok").into_response(),
        Behaviour::FailFirst(k) if n <= k => {
            (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()
        }
        Behaviour::FailFirst(_) => (StatusCode::OK, "recovered").into_response(),
        Behaviour::FailFirstEchoing(k) if n <= k => {
            (StatusCode::INTERNAL_SERVER_ERROR, echoed).into_response()
        }
        Behaviour::FailFirstEchoing(_) => (StatusCode::OK, echoed).into_response(),
        Behaviour::AlwaysFail => (StatusCode::SERVICE_UNAVAILABLE, "down").into_response(),
        Behaviour::RateLimitedOnce(secs) if n == 1 => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", secs.to_string())],
            "slow down",
        )
            .into_response(),
        Behaviour::RateLimitedOnce(_) => (StatusCode::OK, "ok").into_response(),
        Behaviour::Gone => (StatusCode::GONE, "gone").into_response(),
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            (StatusCode::OK, "late").into_response()
        }
        Behaviour::Slow(wait) => {
            tokio::time::sleep(wait).await;
            (StatusCode::OK, "slow ok").into_response()
        }
        Behaviour::Redirect => (
            StatusCode::MOVED_PERMANENTLY,
            [("location", "http://127.0.0.1:9/elsewhere")],
            "moved",
        )
            .into_response(),
        Behaviour::BadRequest => (StatusCode::BAD_REQUEST, "{\"error\":\"bad\"}").into_response(),
    }
}

/// The emails the emulator's SES has sent to `to`, oldest first: `subject`, `body`,
/// `source`. Its `data.json` dumps every service's models, other tests' items included; a
/// dump that meets one mid-write fails with a 500, and is asked for again.
pub async fn emails_to(to: &str) -> Vec<Value> {
    let url = format!(
        "{}/moto-api/data.json",
        hookhub_test_support::test_endpoint()
    );
    for _ in 0..10 {
        let response = reqwest::Client::new().post(&url).send().await.unwrap();
        if response.status().is_success() {
            let data: Value = response.json().await.unwrap();
            return data["ses"]["Message"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|m| {
                    m["destinations"]["ToAddresses"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x == to))
                })
                .cloned()
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the emulator's data.json failed ten times")
}
