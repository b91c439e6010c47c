//! The delivery engine end to end: publish through the runner's HTTP API, the poller feeds
//! the worker from the emulator's queue, real receivers answer.

use std::time::Duration;

use crate::support::{Behaviour, Receiver, Stack};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

const WAIT: Duration = Duration::from_secs(30);

fn verify_independently(secret: &str, r: &crate::support::Received) {
    let wh =
        standardwebhooks::Webhook::new(secret).expect("secret accepted by the reference library");
    wh.verify(&r.body, &r.headers)
        .expect("Standard Webhooks signature verifies");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&r.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(r.headers["x-webhook-signature"], expected.as_str());
}

#[tokio::test]
async fn delivered_signed_with_the_documented_shape_and_logged() {
    let stack = Stack::start("e2e-ok").await;
    let tenant = stack.tenant().await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    let (endpoint, secret) = stack
        .endpoint(
            &tenant,
            &receiver.url,
            json!({"headers": {"x-team": "crm"}}),
        )
        .await;
    let published = stack
        .publish(&tenant, "contact.created", json!({"contact": {"id": "c1"}}))
        .await;
    assert_eq!(published["deliveries"], 1);
    stack
        .eventually(WAIT, || async { receiver.count() >= 1 })
        .await;

    let got = &receiver.all()[0];
    verify_independently(&secret, got);
    let body: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body["id"], published["id"]);
    assert_eq!(body["event"], "contact.created");
    assert_eq!(body["tenantId"], tenant.as_str());
    assert_eq!(body["data"]["contact"]["id"], "c1");
    assert!(body["timestamp"].is_string());
    assert_eq!(
        body["metadata"],
        json!({"attempt": 1, "tenantId": tenant.as_str(), "source": "api"})
    );
    assert_eq!(got.headers["webhook-id"], published["id"].as_str().unwrap());
    assert_eq!(got.headers["x-webhook-event"], "contact.created");
    assert_eq!(got.headers["x-team"], "crm");
    assert!(got.headers["user-agent"]
        .to_str()
        .unwrap()
        .starts_with("hookhub/"));

    stack
        .eventually(WAIT, || async {
            !stack.logs(&tenant, &endpoint).await.is_empty()
        })
        .await;
    let logs = stack.logs(&tenant, &endpoint).await;
    assert_eq!(logs[0]["success"], true);
    assert_eq!(logs[0]["statusCode"], 200);
    assert_eq!(logs[0]["attempt"], 1);
    assert_eq!(logs[0]["responseBody"], "ok");
    // The attempt log and the counters are written concurrently: wait for the counters too.
    stack
        .eventually(WAIT, || async {
            stack.stats(&tenant, &endpoint).await["totalDeliveries"] == 1
        })
        .await;
    let stats = stack.stats(&tenant, &endpoint).await;
    assert_eq!(stats["totalDeliveries"], 1);
    assert_eq!(stats["successRate"], 100.0);
    assert_eq!(stats["last24Hours"][0]["total"], 1, "{stats}");
    assert_eq!(stats["last24Hours"][0]["successful"], 1);
    let (_, analytics) = stack
        .call(
            "GET",
            "/api/v1/webhooks/analytics",
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(analytics["totalWebhooks"], 1);
    assert_eq!(analytics["totalDeliveries"], 1);
}

#[tokio::test]
async fn retries_500_then_succeeds_with_backoff() {
    let stack = Stack::start("e2e-500").await;
    let tenant = stack.tenant().await;
    let receiver = Receiver::start(Behaviour::FailFirst(2)).await;
    let (endpoint, secret) = stack
        .endpoint(
            &tenant,
            &receiver.url,
            json!({"retryAttempts": 3, "retryDelay": 1}),
        )
        .await;
    stack.publish(&tenant, "booking.created", json!({})).await;
    stack
        .eventually(WAIT, || async { receiver.count() >= 3 })
        .await;
    let all = receiver.all();
    for r in &all {
        verify_independently(&secret, r);
        assert_eq!(
            r.headers["webhook-id"], all[0].headers["webhook-id"],
            "same id on every attempt"
        );
    }
    let gap1 = all[1].at - all[0].at;
    let gap2 = all[2].at - all[1].at;
    assert!(
        gap1 >= Duration::from_millis(700),
        "first retry waited {gap1:?}"
    );
    assert!(
        gap2 >= Duration::from_millis(1400),
        "second retry waited {gap2:?}"
    );
    stack
        .eventually(WAIT, || async {
            stack.logs(&tenant, &endpoint).await.len() >= 3
        })
        .await;
    let logs = stack.logs(&tenant, &endpoint).await;
    let attempts: Vec<(u64, bool, bool)> = logs
        .iter()
        .rev()
        .map(|l| {
            (
                l["attempt"].as_u64().unwrap(),
                l["success"].as_bool().unwrap(),
                l["willRetry"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        [(1, false, true), (2, false, true), (3, true, false)]
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.count(), 3, "no delivery after success");
}

#[tokio::test]
async fn retry_after_is_honoured_and_other_4xx_are_final() {
    let stack = Stack::start("e2e-429").await;
    let tenant = stack.tenant().await;
    let limited = Receiver::start(Behaviour::RateLimitedOnce(3)).await;
    let bad = Receiver::start(Behaviour::BadRequest).await;
    stack
        .endpoint(&tenant, &limited.url, json!({"retryDelay": 1}))
        .await;
    let (bad_id, _) = stack
        .endpoint(&tenant, &bad.url, json!({"retryAttempts": 5}))
        .await;
    stack.publish(&tenant, "tag.added", json!({})).await;
    stack
        .eventually(WAIT, || async { limited.count() >= 2 })
        .await;
    let all = limited.all();
    let gap = all[1].at - all[0].at;
    assert!(
        gap >= Duration::from_millis(2800),
        "Retry-After: 3 honoured, waited {gap:?}"
    );

    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(bad.count(), 1, "400 is never retried");
    let logs = stack.logs(&tenant, &bad_id).await;
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0]["statusCode"], 400);
    assert_eq!(logs[0]["willRetry"], false);
}

#[tokio::test]
async fn gone_disables_and_redirects_are_not_followed_and_timeouts_retry() {
    let stack = Stack::start("e2e-410").await;
    let tenant = stack.tenant().await;
    let gone = Receiver::start(Behaviour::Gone).await;
    let moved = Receiver::start(Behaviour::Redirect).await;
    let slow = Receiver::start(Behaviour::Hang).await;
    let (gone_id, _) = stack
        .endpoint(&tenant, &gone.url, json!({"events": ["qr.*"]}))
        .await;
    let (moved_id, _) = stack
        .endpoint(&tenant, &moved.url, json!({"events": ["qr.*"]}))
        .await;
    let (slow_id, _) = stack
        .endpoint(
            &tenant,
            &slow.url,
            json!({"events": ["qr.*"], "timeoutMs": 1000, "retryAttempts": 1}),
        )
        .await;
    stack.publish(&tenant, "qr.scanned", json!({})).await;

    stack.eventually(WAIT, || async { slow.count() >= 2 }).await;
    let (_, g) = stack
        .call(
            "GET",
            &format!("/api/v1/webhooks/{gone_id}"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(g["isActive"], false, "410 disables the endpoint");
    assert!(g["disabledReason"].as_str().unwrap().contains("410"));
    assert_eq!(gone.count(), 1);

    let moved_logs = stack.logs(&tenant, &moved_id).await;
    assert_eq!(moved_logs.len(), 1);
    assert_eq!(moved_logs[0]["statusCode"], 301);
    assert_eq!(moved_logs[0]["success"], false);
    assert_eq!(moved.count(), 1);

    stack
        .eventually(WAIT, || async {
            stack.logs(&tenant, &slow_id).await.len() >= 2
        })
        .await;
    let slow_logs = stack.logs(&tenant, &slow_id).await;
    assert!(
        slow_logs
            .iter()
            .all(|l| l["error"].as_str().unwrap().contains("timed out")),
        "{slow_logs:?}"
    );
    assert!(slow_logs
        .iter()
        .all(|l| l["responseTimeMs"].as_u64().unwrap() < 5000));
}

#[tokio::test]
async fn fan_out_with_wildcards_and_idempotent_publish() {
    let stack = Stack::start("e2e-fanout").await;
    let tenant = stack.tenant().await;
    let all = Receiver::start(Behaviour::Ok).await;
    let messages = Receiver::start(Behaviour::Ok).await;
    let exact = Receiver::start(Behaviour::Ok).await;
    let other = Receiver::start(Behaviour::Ok).await;
    let paused = Receiver::start(Behaviour::Ok).await;
    stack
        .endpoint(&tenant, &all.url, json!({"events": ["*"]}))
        .await;
    stack
        .endpoint(&tenant, &messages.url, json!({"events": ["message.*"]}))
        .await;
    stack
        .endpoint(
            &tenant,
            &exact.url,
            json!({"events": ["message.read", "booking.created"]}),
        )
        .await;
    stack
        .endpoint(&tenant, &other.url, json!({"events": ["contact.*"]}))
        .await;
    stack
        .endpoint(
            &tenant,
            &paused.url,
            json!({"events": ["*"], "isActive": false}),
        )
        .await;

    let req = |key: &str| {
        stack
            .http
            .post(format!("{}/api/v1/events", stack.base))
            .bearer_auth(&stack.admin)
            .header("x-tenant-id", &tenant)
            .header("idempotency-key", key)
            .json(&json!({"type": "message.read", "data": {"n": 1}}))
    };
    let first: serde_json::Value = req("order-42").send().await.unwrap().json().await.unwrap();
    assert_eq!(first["deliveries"], 3);
    assert_eq!(first["duplicate"], false);
    let again: serde_json::Value = req("order-42").send().await.unwrap().json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["deliveries"], 3);

    stack
        .eventually(WAIT, || async {
            all.count() + messages.count() + exact.count() >= 3
        })
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        (all.count(), messages.count(), exact.count()),
        (1, 1, 1),
        "the repeat made no new deliveries"
    );
    assert_eq!(other.count(), 0);
    assert_eq!(paused.count(), 0);

    let (s, body) = stack
        .call(
            "POST",
            "/api/v1/events",
            &stack.admin,
            Some(&tenant),
            Some(json!({"type": "message.exploded"})),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    let (s, body) = stack
        .call(
            "POST",
            "/api/v1/events",
            &stack.admin,
            Some(&tenant),
            Some(json!({"type": "message.received", "data": "not an object"})),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["error"]["details"][0]["field"], "data", "{body}");
}

#[tokio::test]
async fn auto_disable_after_ten_failures_emits_endpoint_disabled_and_recover_redelivers_the_failed()
{
    let stack = Stack::start("e2e-disable").await;
    let tenant = stack.tenant().await;
    let flaky = Receiver::start(Behaviour::AlwaysFail).await;
    let watcher = Receiver::start(Behaviour::Ok).await;
    let (flaky_id, _) = stack
        .endpoint(
            &tenant,
            &flaky.url,
            json!({"events": ["booking.*"], "retryAttempts": 0}),
        )
        .await;
    stack
        .endpoint(
            &tenant,
            &watcher.url,
            json!({"events": ["endpoint.disabled"]}),
        )
        .await;
    let since = chrono::Utc::now() - chrono::Duration::seconds(5);
    let mut event_ids = Vec::new();
    for i in 0..10 {
        let p = stack
            .publish(&tenant, "booking.created", json!({"n": i}))
            .await;
        event_ids.push(p["id"].as_str().unwrap().to_string());
    }
    stack
        .eventually(WAIT, || async { watcher.count() >= 1 })
        .await;
    let notice: serde_json::Value = serde_json::from_slice(&watcher.all()[0].body).unwrap();
    assert_eq!(notice["event"], "endpoint.disabled");
    assert_eq!(notice["data"]["endpoint"]["id"], flaky_id.as_str());
    assert_eq!(notice["data"]["consecutiveFailures"], 10);
    let (_, e) = stack
        .call(
            "GET",
            &format!("/api/v1/webhooks/{flaky_id}"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(e["isActive"], false);
    assert_eq!(e["stats"]["consecutiveFailures"], 10);

    // Disabled: new events skip it.
    stack
        .publish(&tenant, "booking.created", json!({"n": 99}))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(flaky.count(), 10);

    // Re-enabling resets the count; recovery re-delivers exactly the ten failed events.
    let (s, e) = stack
        .call(
            "PATCH",
            &format!("/api/v1/webhooks/{flaky_id}"),
            &stack.admin,
            Some(&tenant),
            Some(json!({"isActive": true})),
        )
        .await;
    assert_eq!(s, 200, "{e}");
    let st = stack.stats(&tenant, &flaky_id).await;
    assert_eq!(st["consecutiveFailures"], 0);
    let (s, rec) = stack
        .call(
            "POST",
            &format!(
                "/api/v1/webhooks/{flaky_id}/recover?since={}",
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(s, 202, "{rec}");
    assert_eq!(rec["recovered"], 10);
    let mut recovered: Vec<String> = rec["eventIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    recovered.sort();
    event_ids.sort();
    assert_eq!(recovered, event_ids);
    stack
        .eventually(WAIT, || async { flaky.count() >= 20 })
        .await;
    let redelivered: std::collections::HashSet<String> = flaky.all()[10..]
        .iter()
        .map(|r| r.headers["webhook-id"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(redelivered.len(), 10);
}

/// `POST /api/v1/webhooks/{endpoint}/{action}` as the platform admin, for the tenant.
async fn endpoint_action(
    stack: &Stack,
    tenant: &str,
    endpoint: &str,
    action: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let path = format!("/api/v1/webhooks/{endpoint}/{action}");
    stack
        .call("POST", &path, &stack.admin, Some(tenant), body)
        .await
}

#[tokio::test]
async fn rotations_within_a_grace_period_keep_the_newest_secrets_only() {
    use hookhub_shared::webhooks::endpoint::MAX_LIVE_SECRETS;
    let stack = Stack::start("e2e-rotate-cap").await;
    let tenant = stack.tenant().await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    let (endpoint, first) = stack.endpoint(&tenant, &receiver.url, json!({})).await;
    let mut latest = first.clone();
    for rotation in 1..=MAX_LIVE_SECRETS + 1 {
        let (s, rotated) = endpoint_action(&stack, &tenant, &endpoint, "rotate-secret", None).await;
        assert_eq!(s, 200, "{rotated}");
        assert_eq!(
            rotated["secrets"].as_array().unwrap().len(),
            (rotation + 1).min(MAX_LIVE_SECRETS),
            "{rotated}"
        );
        latest = rotated["secret"].as_str().unwrap().to_string();
    }
    stack.publish(&tenant, "user.created", json!({})).await;
    stack
        .eventually(WAIT, || async { receiver.count() >= 1 })
        .await;
    let got = &receiver.all()[0];
    let signatures = got.headers["webhook-signature"].to_str().unwrap();
    assert_eq!(signatures.split(' ').count(), MAX_LIVE_SECRETS);
    verify_independently(&latest, got);
    assert!(
        standardwebhooks::Webhook::new(&first)
            .unwrap()
            .verify(&got.body, &got.headers)
            .is_err(),
        "the oldest secret was retired"
    );
}

#[tokio::test]
async fn rotation_grace_period_signs_with_both_secrets() {
    let stack = Stack::start("e2e-rotate").await;
    let tenant = stack.tenant().await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    let (endpoint, old_secret) = stack.endpoint(&tenant, &receiver.url, json!({})).await;
    let (s, rotated) = endpoint_action(&stack, &tenant, &endpoint, "rotate-secret", None).await;
    assert_eq!(s, 200, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, old_secret);
    assert_eq!(rotated["secrets"].as_array().unwrap().len(), 2);
    stack.publish(&tenant, "user.created", json!({})).await;
    stack
        .eventually(WAIT, || async { receiver.count() >= 1 })
        .await;
    let got = &receiver.all()[0];
    for secret in [&old_secret, &new_secret] {
        standardwebhooks::Webhook::new(secret)
            .unwrap()
            .verify(&got.body, &got.headers)
            .expect("each live secret verifies");
    }
    verify_independently(&new_secret, got);

    // A rotation with no grace retires the previous secret at once.
    let no_grace = json!({"gracePeriodHours": 0});
    let (_, again) =
        endpoint_action(&stack, &tenant, &endpoint, "rotate-secret", Some(no_grace)).await;
    let newest = again["secret"].as_str().unwrap().to_string();
    stack.publish(&tenant, "user.updated", json!({})).await;
    stack
        .eventually(WAIT, || async { receiver.count() >= 2 })
        .await;
    let got = &receiver.all()[1];
    standardwebhooks::Webhook::new(&newest)
        .unwrap()
        .verify(&got.body, &got.headers)
        .unwrap();
    assert!(standardwebhooks::Webhook::new(&new_secret)
        .unwrap()
        .verify(&got.body, &got.headers)
        .is_err());
}

#[tokio::test]
async fn a_test_delivery_waits_at_most_its_cap_whatever_the_endpoint_timeout() {
    let stack = Stack::start("e2e-test-cap").await;
    let tenant = stack.tenant().await;
    let silent = Receiver::start(Behaviour::Hang).await;
    let (endpoint, _) = stack
        .endpoint(&tenant, &silent.url, json!({"timeoutMs": 30_000}))
        .await;
    let (s, result) = endpoint_action(
        &stack,
        &tenant,
        &endpoint,
        "test",
        Some(json!({"eventType": "message.received"})),
    )
    .await;
    // Answered, not cut off by API Gateway's 30 s: the send gave up at the cap.
    assert_eq!(s, 200, "{result}");
    assert_eq!(result["success"], false, "{result}");
    let waited = result["responseTimeMs"].as_u64().unwrap();
    let cap = hookhub_shared::webhooks::delivery::MAX_TEST_WAIT.as_millis() as u64;
    assert!(
        (cap..cap + 5_000).contains(&waited),
        "waited {waited} ms for a {cap} ms cap: {result}"
    );
    assert_eq!(silent.count(), 1);
}

#[tokio::test]
async fn test_endpoint_and_manual_retry_of_a_log() {
    let stack = Stack::start("e2e-test").await;
    let tenant = stack.tenant().await;
    let receiver = Receiver::start(Behaviour::FailFirst(1)).await;
    let (endpoint, secret) = stack
        .endpoint(&tenant, &receiver.url, json!({"retryAttempts": 0}))
        .await;
    // As for a publish, the data of a test event is an object: anything else is refused
    // before anything is stored or sent.
    let body = json!({"eventType": "message.received", "data": [1, 2]});
    let (s, refused) = endpoint_action(&stack, &tenant, &endpoint, "test", Some(body)).await;
    assert_eq!(s, 422, "{refused}");
    assert_eq!(refused["error"]["details"][0]["field"], "data", "{refused}");
    assert_eq!(receiver.count(), 0);
    let (s, result) = endpoint_action(
        &stack,
        &tenant,
        &endpoint,
        "test",
        Some(json!({"eventType": "message.received"})),
    )
    .await;
    assert_eq!(s, 200, "{result}");
    assert_eq!(result["success"], false);
    assert_eq!(result["statusCode"], 500);
    let got = &receiver.all()[0];
    verify_independently(&secret, got);
    let body: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body["event"], "message.received");
    assert!(
        body["data"]["message"].is_object(),
        "the catalog's sample payload"
    );

    let log_id = result["logId"].as_str().unwrap();
    let (s, retry) = stack
        .call(
            "POST",
            &format!("/api/v1/webhooks/logs/{log_id}/retry"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(s, 202, "{retry}");
    stack
        .eventually(WAIT, || async { receiver.count() >= 2 })
        .await;
    let again: serde_json::Value = serde_json::from_slice(&receiver.all()[1].body).unwrap();
    assert_eq!(again["id"], body["id"]);
    stack
        .eventually(WAIT, || async {
            let (_, l) = stack
                .call(
                    "GET",
                    "/api/v1/webhooks/logs?status=success",
                    &stack.admin,
                    Some(&tenant),
                    None,
                )
                .await;
            l["data"].as_array().is_some_and(|a| a.len() == 1)
        })
        .await;
    let (_, mine) = stack
        .call(
            "GET",
            &format!("/api/v1/webhooks/logs?webhookId={endpoint}&status=success"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(mine["data"].as_array().unwrap().len(), 1);
    let (_, failed) = stack
        .call(
            "GET",
            "/api/v1/webhooks/logs?status=failed",
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(failed["data"].as_array().unwrap().len(), 1);
    let (s, _) = stack
        .call(
            "GET",
            "/api/v1/webhooks/logs?status=maybe",
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn ssrf_targets_are_refused_when_private_targets_are_not_allowed() {
    use hookhub_shared::webhooks::target::{check_registration, TargetPolicy};
    let strict = TargetPolicy {
        allow_private: false,
        allow_http: false,
    };
    for url in [
        "https://127.0.0.1/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://localhost.localdomain.test.localhost/hook",
    ] {
        assert!(
            check_registration(url, strict).await.is_err(),
            "{url} must be refused"
        );
    }
    // A name (not a literal) that resolves to loopback is refused after resolution, both at
    // registration and by the resolver every delivery connects through.
    assert!(matches!(
        hookhub_shared::webhooks::target::check_resolved("localhost", 443, strict).await,
        Err(hookhub_shared::webhooks::target::TargetError::Private(ip)) if ip.is_loopback()
    ));
    use reqwest::dns::Resolve;
    let resolver = hookhub_shared::webhooks::target::GuardedResolver {
        allow_private: false,
    };
    let refused = resolver.resolve("localhost".parse().unwrap()).await;
    assert!(
        refused.is_err(),
        "the resolver hands out no loopback address"
    );
    let permissive = hookhub_shared::webhooks::target::GuardedResolver {
        allow_private: true,
    };
    assert!(permissive
        .resolve("localhost".parse().unwrap())
        .await
        .is_ok());

    // And a send to a blocked literal never reaches the receiver.
    let receiver = Receiver::start(Behaviour::Ok).await;
    let sender = hookhub_shared::webhooks::sender::Sender::new(strict);
    let result = sender
        .post(
            &receiver.url.replace("http://", "https://"),
            Default::default(),
            b"{}".to_vec(),
            Duration::from_secs(2),
        )
        .await;
    assert_eq!(receiver.count(), 0);
    assert!(result.refused, "{result:?}");
    assert!(!hookhub_shared::webhooks::delivery::retryable(&result));
    assert!(result.error.unwrap().contains("blocked"));
}

#[tokio::test]
async fn deliveries_abandoned_by_a_disable_are_logged_and_recovered() {
    let stack = Stack::start("e2e-abandon").await;
    let tenant = stack.tenant().await;
    let receiver = Receiver::start(Behaviour::AlwaysFail).await;
    let (id, _) = stack
        .endpoint(
            &tenant,
            &receiver.url,
            json!({"retryAttempts": 3, "retryDelay": 3}),
        )
        .await;
    let since = chrono::Utc::now() - chrono::Duration::seconds(5);
    let mut events = Vec::new();
    for _ in 0..3 {
        events.push(
            stack.publish(&tenant, "user.created", json!({})).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // First attempts fail and schedule retries; the endpoint is disabled before they are due.
    stack
        .eventually(WAIT, || async { stack.logs(&tenant, &id).await.len() >= 3 })
        .await;
    let (s, _) = stack
        .call(
            "PATCH",
            &format!("/api/v1/webhooks/{id}"),
            &stack.admin,
            Some(&tenant),
            Some(json!({"isActive": false})),
        )
        .await;
    assert_eq!(s, 200);
    stack
        .eventually(WAIT, || async { stack.logs(&tenant, &id).await.len() >= 6 })
        .await;
    let logs = stack.logs(&tenant, &id).await;
    let not_sent = logs
        .iter()
        .filter(|l| {
            l["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("not sent"))
        })
        .count();
    assert_eq!(not_sent, 3, "{logs:?}");
    assert_eq!(receiver.count(), 3, "nothing sent while disabled");

    stack
        .call(
            "PATCH",
            &format!("/api/v1/webhooks/{id}"),
            &stack.admin,
            Some(&tenant),
            Some(json!({"isActive": true})),
        )
        .await;
    let (s, rec) = stack
        .call(
            "POST",
            &format!(
                "/api/v1/webhooks/{id}/recover?since={}",
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(s, 202, "{rec}");
    assert_eq!(rec["recovered"], 3, "{rec}");
    let mut recovered: Vec<String> = rec["eventIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    recovered.sort();
    events.sort();
    assert_eq!(recovered, events);
}

/// The batches of messages the admin API sent since `from`, and their sizes.
fn batches_since(calls: &hookhub_test_support::AwsCallCounter, from: usize) -> Vec<Vec<usize>> {
    calls.sqs_batches()[from..].to_vec()
}

#[tokio::test]
async fn large_events_reach_every_endpoint_in_batches_that_fit_sqs() {
    let (stack, calls) = Stack::start_counted("e2e-large", &[]).await;
    let tenant = stack.tenant().await;
    let mut receivers = Vec::new();
    for _ in 0..10 {
        let receiver = Receiver::start(Behaviour::Ok).await;
        stack.endpoint(&tenant, &receiver.url, json!({})).await;
        receivers.push(receiver);
    }
    let fits_sqs = |batches: &[Vec<usize>]| {
        batches
            .iter()
            .all(|b| b.len() <= 10 && b.iter().sum::<usize>() <= 256 * 1024)
    };

    // 190 KB, ten subscribers: the jobs name the stored event instead of carrying it.
    let before = calls.admin_api.sqs_batches().len();
    let large = json!({"contact": {"id": "c-large", "notes": "x".repeat(190_000)}});
    let published = stack
        .publish(&tenant, "contact.created", large.clone())
        .await;
    assert_eq!(published["deliveries"], 10);
    let sent = batches_since(&calls.admin_api, before);
    assert!(fits_sqs(&sent), "{sent:?}");
    assert_eq!(sent.iter().map(Vec::len).sum::<usize>(), 10);
    assert!(
        sent.iter().flatten().all(|&bytes| bytes < 2048),
        "jobs of a large event carry a reference, not its data: {sent:?}"
    );

    // 50 KB: small enough to travel in the job, and the batches split by size.
    let before = calls.admin_api.sqs_batches().len();
    let medium = json!({"contact": {"id": "c-medium", "notes": "y".repeat(50_000)}});
    stack
        .publish(&tenant, "contact.updated", medium.clone())
        .await;
    let sent = batches_since(&calls.admin_api, before);
    assert!(fits_sqs(&sent), "{sent:?}");
    assert_eq!(sent.iter().map(Vec::len).sum::<usize>(), 10);
    assert_eq!(
        sent.iter().map(Vec::len).collect::<Vec<_>>(),
        [5, 5],
        "five 50 KB jobs fit a batch, not six: {sent:?}"
    );
    assert!(sent.iter().flatten().all(|&bytes| bytes > 50_000));

    // Every receiver gets both events whole.
    stack
        .eventually(WAIT, || async { receivers.iter().all(|r| r.count() >= 2) })
        .await;
    for receiver in &receivers {
        let bodies: Vec<serde_json::Value> = receiver
            .all()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        for data in [&large, &medium] {
            assert!(
                bodies.iter().any(|b| &b["data"] == data),
                "a receiver missed an event"
            );
        }
    }
}

#[tokio::test]
async fn tenants_cannot_publish_hookhubs_own_events_and_payloads_name_their_source() {
    let stack = Stack::start("e2e-origin").await;
    let tenant = stack.tenant().await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    stack.endpoint(&tenant, &receiver.url, json!({})).await;
    for own in ["endpoint.disabled", "webhook.test", "workflow.call"] {
        let (s, refused) = stack
            .call(
                "POST",
                "/api/v1/events",
                &stack.admin,
                Some(&tenant),
                Some(json!({"type": own, "data": {"endpoint": {"id": "wh_forged"}}})),
            )
            .await;
        assert_eq!(s, 422, "{own}: {refused}");
        assert_eq!(refused["error"]["details"][0]["field"], "type");
    }
    let (_, catalog) = stack
        .call(
            "GET",
            "/api/v1/webhooks/events",
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    let publishable = |name: &str| {
        catalog["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == name)
            .unwrap()["publishable"]
            .clone()
    };
    assert_eq!(publishable("endpoint.disabled"), false);
    assert_eq!(publishable("contact.created"), true);
    assert!(catalog["sources"]["hookhub"].is_string());

    stack
        .publish(&tenant, "contact.created", json!({"contact": {"id": "c1"}}))
        .await;
    stack
        .eventually(WAIT, || async { receiver.count() >= 1 })
        .await;
    let body: serde_json::Value = serde_json::from_slice(&receiver.all()[0].body).unwrap();
    assert_eq!(body["source"], "api");
}

#[tokio::test]
async fn custom_header_values_are_sealed_shown_masked_and_kept_out_of_logs() {
    use hookhub_shared::masking::mask;
    use hookhub_shared::store::keys;
    const KEY: &str = "receiver-api-key-0123456789abcdef";
    let stack = Stack::start("e2e-headers").await;
    let tenant = stack.tenant().await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    let (endpoint, _) = stack
        .endpoint(
            &tenant,
            &receiver.url,
            json!({"headers": {"X-Api-Key": KEY, "x-team": "billing"}}),
        )
        .await;
    let path = format!("/api/v1/webhooks/{endpoint}");
    let (_, shown) = stack
        .call("GET", &path, &stack.admin, Some(&tenant), None)
        .await;
    assert_eq!(shown["headers"]["x-api-key"], mask(KEY));
    let (_, listed) = stack
        .call("GET", "/api/v1/webhooks", &stack.admin, Some(&tenant), None)
        .await;
    for view in [&shown, &listed] {
        assert!(!view.to_string().contains(KEY), "{view}");
    }
    let stored = stack
        .stack
        .ctx
        .table
        .get(&keys::endpoint(&tenant, &endpoint))
        .await
        .unwrap()
        .unwrap();
    assert!(!format!("{stored:?}").contains(KEY), "stored sealed");

    // The receiver gets the value; the attempt's log shows it masked.
    stack
        .publish(&tenant, "contact.created", json!({"contact": {"id": "c1"}}))
        .await;
    stack
        .eventually(WAIT, || async { receiver.count() == 1 })
        .await;
    assert_eq!(receiver.all()[0].headers["x-api-key"], KEY);
    let log_id = stack.logs(&tenant, &endpoint).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, attempt) = stack
        .call(
            "GET",
            &format!("/api/v1/webhooks/logs/{log_id}"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(attempt["request"]["headers"]["x-api-key"], mask(KEY));
    assert!(!attempt.to_string().contains(KEY), "{attempt}");

    // Sending back the mask keeps the stored value; a new value replaces it.
    let (s, updated) = stack
        .call(
            "PATCH",
            &path,
            &stack.admin,
            Some(&tenant),
            Some(json!({"headers": {"x-api-key": mask(KEY), "x-team": "ops"}})),
        )
        .await;
    assert_eq!(s, 200, "{updated}");
    stack
        .publish(&tenant, "contact.created", json!({"contact": {"id": "c2"}}))
        .await;
    stack
        .eventually(WAIT, || async { receiver.count() == 2 })
        .await;
    assert_eq!(receiver.all()[1].headers["x-api-key"], KEY);
    assert_eq!(receiver.all()[1].headers["x-team"], "ops");
}
