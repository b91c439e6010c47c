//! The local runner end to end: real HTTP on a loopback port, and the SQS poller against
//! the emulator's queue with its redrive policy.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use hookhub_local::{app, QueuePoller};
use hookhub_shared::jobs::{BatchProcessor, Job, JobError, JobHandler, JobRouter, Outcome};
use hookhub_test_support::{QueueSettings, TestStack};

async fn serve(stack: &TestStack) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app(stack.ctx.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

#[tokio::test]
async fn health_answers_with_the_components_it_checked() {
    let stack = TestStack::new("run-health").await;
    let addr = serve(&stack).await;
    let response = reqwest::get(format!("http://{addr}/api/health"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["components"]["dynamodb"]["status"], "ok");
    assert_eq!(body["components"]["sqs"]["status"], "ok");
    let text = body.to_string();
    assert!(
        !text.contains(&stack.stack.kms_key_id),
        "no configuration leaks: {text}"
    );

    let unknown = reqwest::get(format!("http://{addr}/api/nope"))
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let body: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");

    let meta = reqwest::get(format!(
        "http://{addr}/webhooks/meta/ten_unknown?hub.mode=subscribe"
    ))
    .await
    .unwrap();
    assert_eq!(
        meta.status(),
        404,
        "Meta routes are served on the same port"
    );
}

#[tokio::test]
async fn health_reports_an_unreachable_queue() {
    let stack = TestStack::new("run-health-down").await;
    stack
        .clients
        .sqs
        .delete_queue()
        .queue_url(&stack.stack.queue_url)
        .send()
        .await
        .unwrap();
    let addr = serve(&stack).await;
    let response = reqwest::get(format!("http://{addr}/api/health"))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["components"]["dynamodb"]["status"], "ok");
    assert_eq!(body["components"]["sqs"]["status"], "unavailable");
}

/// Test job kinds: `test.ok` succeeds, `test.broken` cannot record its outcome (an
/// infrastructure failure), `test.later` asks to be retried once.
#[derive(Default)]
struct Recorder {
    runs: Mutex<HashMap<String, Vec<u32>>>,
}

#[async_trait]
impl JobHandler for Recorder {
    async fn handle(&self, job: &Job) -> Result<Outcome, JobError> {
        let name = job.payload["name"].as_str().unwrap_or_default().to_string();
        self.runs
            .lock()
            .unwrap()
            .entry(name)
            .or_default()
            .push(job.attempt);
        match job.kind.as_str() {
            "test.broken" => Err(JobError::new("database unreachable")),
            "test.later" if job.attempt == 1 => Ok(Outcome::RetryAfter(Duration::from_secs(1))),
            _ => Ok(Outcome::Done),
        }
    }
}

fn job(kind: &str, name: &str) -> Job {
    Job::new(kind, "ten_A", serde_json::json!({ "name": name }))
}

async fn poll_until(poller: &QueuePoller, mut done: impl FnMut() -> bool) {
    for _ in 0..40 {
        if done() {
            return;
        }
        poller.poll_once().await.unwrap();
    }
    assert!(done(), "condition not reached after 40 polls");
}

#[tokio::test]
async fn a_failing_job_stays_queued_then_dead_letters_while_the_others_are_deleted() {
    let stack = TestStack::with_queue(
        "run-batch",
        QueueSettings {
            visibility_timeout: Duration::from_secs(1),
            max_receive_count: 2,
        },
    )
    .await;
    let recorder = Arc::new(Recorder::default());
    let router = JobRouter::new()
        .route("test.ok", recorder.clone())
        .route("test.broken", recorder.clone());
    let processor = Arc::new(BatchProcessor::new(router, stack.ctx.queue.clone()));
    let poller = QueuePoller::new(stack.clients.sqs.clone(), &stack.stack.queue_url, processor)
        .with_wait(Duration::from_secs(1));

    stack
        .ctx
        .queue
        .enqueue(
            &[
                job("test.ok", "a"),
                job("test.broken", "x"),
                job("test.ok", "b"),
            ],
            Duration::ZERO,
        )
        .await
        .unwrap();

    // First batch: both good jobs done and deleted, the broken one reported and kept.
    let mut first = hookhub_local::PollStats::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while first.received < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of 3 jobs received in 30 s",
            first.received
        );
        let stats = poller.poll_once().await.unwrap();
        first.received += stats.received;
        first.deleted += stats.deleted;
        first.failed += stats.failed;
    }
    assert_eq!(
        first,
        hookhub_local::PollStats {
            received: 3,
            deleted: 2,
            failed: 1
        }
    );
    assert_eq!(stack.queue_depth(&stack.stack.queue_url).await, 1);

    // It comes back after its visibility timeout; after two receives, SQS's redrive policy
    // moves it to the dead-letter queue.
    poll_until(&poller, || {
        recorder.runs.lock().unwrap().get("x").map_or(0, Vec::len) >= 2
    })
    .await;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(600)).await;
        poller.poll_once().await.unwrap();
    }
    assert_eq!(stack.queue_depth(&stack.stack.queue_url).await, 0);
    assert_eq!(
        stack.queue_depth(&stack.stack.dead_letter_queue_url).await,
        1
    );
    let runs = recorder.runs.lock().unwrap().clone();
    assert_eq!(runs["a"], vec![1]);
    assert_eq!(runs["b"], vec![1]);
    assert_eq!(
        runs["x"].len(),
        2,
        "received exactly max_receive_count times"
    );
}

#[tokio::test]
async fn poison_messages_go_straight_to_the_dead_letter_queue() {
    let stack = TestStack::new("run-poison").await;
    let recorder = Arc::new(Recorder::default());
    let processor = Arc::new(BatchProcessor::new(
        JobRouter::new().route("test.ok", recorder.clone()),
        stack.ctx.queue.clone(),
    ));
    let poller = QueuePoller::new(stack.clients.sqs.clone(), &stack.stack.queue_url, processor)
        .with_wait(Duration::from_secs(1));
    let sqs = &stack.clients.sqs;
    for body in ["not json at all", r#"{"v":99,"kind":"x"}"#] {
        sqs.send_message()
            .queue_url(&stack.stack.queue_url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    stack
        .ctx
        .queue
        .enqueue(
            &[job("no.such.kind", "p"), job("test.ok", "good")],
            Duration::ZERO,
        )
        .await
        .unwrap();

    poll_until(&poller, || {
        recorder.runs.lock().unwrap().contains_key("good")
    })
    .await;
    for _ in 0..3 {
        poller.poll_once().await.unwrap();
    }
    assert_eq!(stack.queue_depth(&stack.stack.queue_url).await, 0);
    assert_eq!(
        stack.queue_depth(&stack.stack.dead_letter_queue_url).await,
        3
    );

    let dead = sqs
        .receive_message()
        .queue_url(&stack.stack.dead_letter_queue_url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    let reasons: Vec<String> = dead
        .messages()
        .iter()
        .filter_map(|m| {
            m.message_attributes()?
                .get("hookhub-dead-letter-reason")?
                .string_value()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(reasons.len(), dead.messages().len());
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("no handler for job kind")),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn a_retry_is_scheduled_as_the_next_attempt_with_the_queue_delay() {
    let stack = TestStack::new("run-retry").await;
    let recorder = Arc::new(Recorder::default());
    let processor = Arc::new(BatchProcessor::new(
        JobRouter::new().route("test.later", recorder.clone()),
        stack.ctx.queue.clone(),
    ));
    let poller = QueuePoller::new(stack.clients.sqs.clone(), &stack.stack.queue_url, processor)
        .with_wait(Duration::from_secs(1));
    stack
        .ctx
        .queue
        .enqueue(&[job("test.later", "r")], Duration::ZERO)
        .await
        .unwrap();

    poll_until(&poller, || {
        recorder.runs.lock().unwrap().get("r").map_or(0, Vec::len) >= 2
    })
    .await;
    assert_eq!(recorder.runs.lock().unwrap()["r"], vec![1, 2]);
    assert_eq!(stack.queue_depth(&stack.stack.queue_url).await, 0);
    assert_eq!(
        stack.queue_depth(&stack.stack.dead_letter_queue_url).await,
        0
    );
}

/// The worker's own processor: jobs it can never run go to the dead-letter queue with their
/// reason, a deleted endpoint of a real tenant is just given up, and the good job in the same
/// batches still runs.
#[tokio::test]
async fn the_worker_dead_letters_bad_payloads_and_unknown_tenants_without_blocking_others() {
    use hookhub_shared::validation::Fields;
    let stack = TestStack::new("run-poison-worker").await;
    let processor = Arc::new(delivery_worker::processor(&stack.ctx));
    let poller = QueuePoller::new(stack.clients.sqs.clone(), &stack.stack.queue_url, processor)
        .with_wait(Duration::from_secs(1));
    let tenant = stack
        .ctx
        .tenants()
        .create(
            hookhub_shared::tenants::TenantCreate::read(Fields::new(
                serde_json::json!({"name": "Acme"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ))
            .unwrap(),
        )
        .await
        .unwrap();
    let delivery = |endpoint: &str| {
        serde_json::json!({"endpointId": endpoint, "deliveryId": "dlv_1", "eventId": "evt_1",
            "eventType": "contact.created", "eventTimestamp": "2026-11-22T08:00:00Z", "data": {}})
    };
    let unknown_tenant = "ten_000000000000000000000000";
    let dead = [
        Job::new("webhook.deliver", unknown_tenant, delivery("wh_missing")),
        Job::new(
            "webhook.deliver",
            &tenant.id,
            serde_json::json!({"endpoint": 7}),
        ),
        Job::new(
            "message.send",
            unknown_tenant,
            serde_json::json!({"messageId": "msg_nope"}),
        ),
        Job::new("message.send", &tenant.id, serde_json::json!([1, 2])),
        Job::new("meta.process", &tenant.id, serde_json::json!({})),
    ];
    let given_up = [
        Job::new("webhook.deliver", &tenant.id, delivery("wh_deleted")),
        Job::new(
            "message.send",
            &tenant.id,
            serde_json::json!({"messageId": "msg_deleted"}),
        ),
    ];
    let mut all: Vec<Job> = dead.to_vec();
    all.extend(given_up.iter().cloned());
    stack.ctx.queue.enqueue(&all, Duration::ZERO).await.unwrap();

    for _ in 0..10 {
        if stack.queue_depth(&stack.stack.queue_url).await == 0 {
            break;
        }
        poller.poll_once().await.unwrap();
    }
    assert_eq!(stack.queue_depth(&stack.stack.queue_url).await, 0);
    assert_eq!(
        stack.queue_depth(&stack.stack.dead_letter_queue_url).await,
        dead.len()
    );
    let mut reasons: HashMap<String, String> = HashMap::new();
    for _ in 0..5 {
        let received = stack
            .clients
            .sqs
            .receive_message()
            .queue_url(&stack.stack.dead_letter_queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        for m in received.messages() {
            let job: Job = serde_json::from_str(m.body().unwrap()).unwrap();
            let reason = m.message_attributes().unwrap()["hookhub-dead-letter-reason"]
                .string_value()
                .unwrap()
                .to_string();
            reasons.insert(job.id, reason);
        }
        if reasons.len() >= dead.len() {
            break;
        }
    }
    assert_eq!(reasons.len(), dead.len(), "every dead job, once");
    assert!(
        reasons[&dead[0].id].contains("unknown tenant"),
        "{reasons:?}"
    );
    assert!(reasons[&dead[1].id].contains("malformed delivery job"));
    assert!(reasons[&dead[2].id].contains("unknown tenant"));
    assert!(reasons[&dead[3].id].contains("undecodable"));
    assert!(reasons[&dead[4].id].contains("naturalId"));
}

/// What `make dev` prints and the README walks through: the first platform admin signs in
/// with the printed email and password, creates a tenant and invites its admin, who sets a
/// password at first sign-in and registers a webhook, all over HTTP to the running binary.
#[tokio::test]
async fn make_dev_prints_a_platform_admin_who_signs_in_and_invites_a_tenant_admin() {
    use serde_json::{json, Value};
    use tokio::io::AsyncBufReadExt;

    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hookhub-local"))
        .arg("dev")
        .env("AWS_ENDPOINT_URL", hookhub_test_support::test_endpoint())
        .env("HOOKHUB_PORT", port.to_string())
        .env("HOOKHUB_ALLOW_PRIVATE_TARGETS", "true")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the runner starts");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut email, mut password) = (None, None);
    tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(v) = line.trim().strip_prefix("email:") {
                email = Some(v.trim().to_string());
            }
            if let Some(v) = line.trim().strip_prefix("password:") {
                password = Some(v.trim().to_string());
            }
            if line.starts_with("try:") {
                break;
            }
        }
    })
    .await
    .expect("the runner printed its banner");
    let (email, password) = (email.expect("an email"), password.expect("a password"));

    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let call = |method: reqwest::Method, path: &str, token: Option<&str>, body: Option<Value>| {
        let mut request = http.request(method, format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.expect("the runner answers");
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    use reqwest::Method;
    let (status, root) = call(
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await;
    assert_eq!(status, 200, "{root}");
    let root = root["idToken"].as_str().unwrap().to_string();
    let (status, tenant) = call(
        Method::POST,
        "/api/platform/tenants",
        Some(&root),
        Some(json!({"name": "Walkthrough"})),
    )
    .await;
    assert_eq!(status, 201, "{tenant}");
    let tenant = tenant["id"].as_str().unwrap().to_string();
    let invitee = format!("{}@walkthrough.example", tenant.to_lowercase());
    let (status, invited) = call(
        Method::POST,
        &format!("/api/platform/tenants/{tenant}/users"),
        Some(&root),
        Some(json!({"email": invitee, "temporaryPassword": "Temporary-passw0rd!"})),
    )
    .await;
    assert_eq!(status, 201, "{invited}");
    let (status, challenge) = call(
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"email": invitee, "password": "Temporary-passw0rd!"})),
    )
    .await;
    assert_eq!(
        (status, &challenge["challenge"]),
        (200, &json!("NEW_PASSWORD_REQUIRED"))
    );
    let (status, tokens) = call(
        Method::POST,
        "/api/auth/challenge",
        None,
        Some(json!({"email": invitee, "session": challenge["session"],
                    "newPassword": "My-own-passw0rd!"})),
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let admin = tokens["idToken"].as_str().unwrap();
    let (status, endpoint) = call(
        Method::POST,
        "/api/v1/webhooks",
        Some(admin),
        Some(json!({"name": "Orders", "url": "https://example.com/hooks", "events": ["*"]})),
    )
    .await;
    assert_eq!(status, 201, "{endpoint}");
    let (status, me) = call(Method::GET, "/api/auth/me", Some(admin), None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["tenantId"], tenant.as_str());
    child.kill().await.ok();
}
