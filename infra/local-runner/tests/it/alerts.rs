//! Failure alerts: a disabled endpoint's tenant is emailed through SES, once a day at most,
//! unless it turned alerts off or has no contact email.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{emails_to, Behaviour, Receiver, Stack};

const WAIT: Duration = Duration::from_secs(60);
const SENDER: &str = "alerts@hookhub.example";

async fn alerting_stack(label: &str) -> Stack {
    Stack::start_with(
        label,
        &[
            ("HOOKHUB_ALERT_SENDER", SENDER.to_string()),
            (
                "HOOKHUB_CONSOLE_URL",
                "https://hookhub.example/console".to_string(),
            ),
        ],
    )
    .await
}

async fn tenant_with(stack: &Stack, body: Value) -> String {
    let (s, tenant) = stack
        .call(
            "POST",
            "/api/platform/tenants",
            &stack.admin,
            None,
            Some(body),
        )
        .await;
    assert_eq!(s, 201, "{tenant}");
    tenant["id"].as_str().unwrap().to_string()
}

/// Ten failing events to a new endpoint that never answers well, and a watcher subscribed
/// to `endpoint.disabled`; returns once the watcher heard of the disabling.
async fn disable_an_endpoint(
    stack: &Stack,
    tenant: &str,
    flaky: &Receiver,
    watcher: &Receiver,
) -> String {
    let (id, _) = stack
        .endpoint(
            tenant,
            &flaky.url,
            json!({"name": "Orders", "events": ["booking.*"], "retryAttempts": 0}),
        )
        .await;
    fail_until_disabled(stack, tenant, &id, watcher).await;
    id
}

async fn fail_until_disabled(stack: &Stack, tenant: &str, id: &str, watcher: &Receiver) {
    let before = watcher.count();
    for i in 0..10 {
        stack
            .publish(tenant, "booking.created", json!({"n": i}))
            .await;
    }
    stack
        .eventually(WAIT, || async { watcher.count() > before })
        .await;
    let notice: Value = serde_json::from_slice(&watcher.all()[before].body).unwrap();
    assert_eq!(notice["data"]["endpoint"]["id"], id);
}

#[tokio::test]
async fn a_disabled_endpoint_is_emailed_to_its_tenant_once_a_day() {
    let stack = alerting_stack("e2e-alert").await;
    let to = format!("ops-{}@acme.example", uuid_like());
    let tenant = tenant_with(&stack, json!({"name": "Acme", "contactEmail": to})).await;
    let flaky = Receiver::start(Behaviour::AlwaysFail).await;
    let watcher = Receiver::start(Behaviour::Ok).await;
    stack
        .endpoint(
            &tenant,
            &watcher.url,
            json!({"events": ["endpoint.disabled"]}),
        )
        .await;
    let id = disable_an_endpoint(&stack, &tenant, &flaky, &watcher).await;

    stack
        .eventually(WAIT, || async { !emails_to(&to).await.is_empty() })
        .await;
    let email = &emails_to(&to).await[0];
    assert_eq!(email["source"], SENDER);
    assert_eq!(
        email["subject"],
        "hookhub: webhook endpoint \"Orders\" was disabled"
    );
    let body = email["body"].as_str().unwrap();
    for expected in [
        id.as_str(),
        flaky.url.as_str(),
        "10 consecutive failed delivery attempts",
        "booking.created  attempt 1  receiver answered 503",
        "https://hookhub.example/console/#/endpoints",
        &format!("PATCH /api/v1/webhooks/{id} with {{\"isActive\": true}}"),
        &format!("POST /api/v1/webhooks/{id}/recover?since="),
    ] {
        assert!(body.contains(expected), "{expected:?} in\n{body}");
    }
    assert_eq!(
        body.matches("receiver answered 503").count(),
        5,
        "the last five errors:\n{body}"
    );

    // Enabled and disabled again the same day: the endpoint.disabled event goes out, the
    // email does not.
    let (s, _) = stack
        .call(
            "PATCH",
            &format!("/api/v1/webhooks/{id}"),
            &stack.admin,
            Some(&tenant),
            Some(json!({"isActive": true})),
        )
        .await;
    assert_eq!(s, 200);
    fail_until_disabled(&stack, &tenant, &id, &watcher).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(emails_to(&to).await.len(), 1);
}

#[tokio::test]
async fn no_email_when_the_tenant_turned_alerts_off_or_has_no_contact() {
    let stack = alerting_stack("e2e-alert-off").await;
    let to = format!("quiet-{}@acme.example", uuid_like());
    let quiet = tenant_with(
        &stack,
        json!({"name": "Quiet", "contactEmail": to, "failureAlerts": false}),
    )
    .await;
    let (_, view) = stack
        .call(
            "GET",
            &format!("/api/platform/tenants/{quiet}"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert_eq!(view["failureAlerts"], false);
    let nobody = stack.tenant().await;
    let flaky = Receiver::start(Behaviour::AlwaysFail).await;
    let watcher = Receiver::start(Behaviour::Ok).await;
    for tenant in [&quiet, &nobody] {
        stack
            .endpoint(
                tenant,
                &watcher.url,
                json!({"events": ["endpoint.disabled"]}),
            )
            .await;
    }
    disable_an_endpoint(&stack, &quiet, &flaky, &watcher).await;
    disable_an_endpoint(&stack, &nobody, &flaky, &watcher).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(emails_to(&to).await.is_empty());

    // Turned back on (and audited): the next disabling is emailed.
    let (s, view) = stack
        .call(
            "PATCH",
            &format!("/api/platform/tenants/{quiet}"),
            &stack.admin,
            None,
            Some(json!({"failureAlerts": true})),
        )
        .await;
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["failureAlerts"], true);
    let (_, audit) = stack
        .call(
            "GET",
            &format!("/api/platform/tenants/{quiet}/audit"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert!(
        audit["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "tenant.updated"
                && e["fields"].to_string().contains("failureAlerts")),
        "{audit}"
    );
    let (s, refused) = stack
        .call(
            "PATCH",
            &format!("/api/platform/tenants/{quiet}"),
            &stack.admin,
            None,
            Some(json!({"failureAlerts": "yes"})),
        )
        .await;
    assert_eq!(s, 422, "{refused}");
    assert_eq!(refused["error"]["details"][0]["field"], "failureAlerts");
    disable_an_endpoint(&stack, &quiet, &flaky, &watcher).await;
    stack
        .eventually(WAIT, || async { emails_to(&to).await.len() == 1 })
        .await;
}

/// Unique enough to keep this run's addresses apart from other runs' on a shared emulator.
fn uuid_like() -> String {
    hookhub_shared::ids::new_id(hookhub_shared::ids::IdKind::Job)
        .to_lowercase()
        .replace('_', "-")
}
