//! n8n workflow webhooks end to end: unique immutable names, sealed bearer tokens, calls by
//! id, by name and broadcast, event subscriptions, and their analytics.

use std::time::Duration;

use crate::support::{Behaviour, Receiver, Stack};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn workflows_are_called_by_id_name_broadcast_and_subscription_with_their_token() {
    let stack = Stack::start("e2e-wf").await;
    let tenant = stack.tenant().await;
    let contact = Receiver::start(Behaviour::Ok).await;
    let booking = Receiver::start(Behaviour::FailFirst(1)).await;
    let base = format!("/api/platform/tenants/{tenant}/webhooks");

    let (s, created) = stack
        .call("POST", &base, &stack.admin, None, Some(json!({
            "workflowName": "contact_form", "webhookUrl": contact.url, "description": "Contact form",
            "authToken": "n8n-bearer-token-0123456789abcdef", "events": ["contact.*"]
        })))
        .await;
    assert_eq!(s, 201, "{created}");
    let contact_id = created["id"].as_str().unwrap().to_string();
    assert!(contact_id.starts_with("wf_"));
    assert_eq!(created["authToken"], "n8n-bearer***abcdef");
    let (s, created) = stack
        .call("POST", &base, &stack.admin, None, Some(json!({"workflowName": "booking_request", "webhookUrl": booking.url, "retryAttempts": 2})))
        .await;
    assert_eq!(s, 201, "{created}");
    let booking_id = created["id"].as_str().unwrap().to_string();

    let (s, dup) = stack
        .call(
            "POST",
            &base,
            &stack.admin,
            None,
            Some(json!({"workflowName": "contact_form", "webhookUrl": contact.url})),
        )
        .await;
    assert_eq!(s, 409, "{dup}");
    let (s, _) = stack
        .call(
            "PUT",
            &format!("{base}/{contact_id}"),
            &stack.admin,
            None,
            Some(json!({"workflowName": "renamed"})),
        )
        .await;
    assert_eq!(s, 422, "workflowName is immutable");
    let (s, updated) = stack
        .call(
            "PUT",
            &format!("{base}/{contact_id}"),
            &stack.admin,
            None,
            Some(json!({"description": "Contact form v2", "authToken": ""})),
        )
        .await;
    assert_eq!(s, 200, "{updated}");
    assert_eq!(
        updated["authToken"], "n8n-bearer***abcdef",
        "blank token keeps the stored one"
    );

    // Tenant admins do not manage workflows.
    let tenant_admin = hookhub_shared::auth::mint_for(
        stack.stack.ctx.config.jwt_secret().unwrap(),
        "alice",
        hookhub_shared::auth::Role::TenantAdmin,
        Some(&tenant),
        1,
    );
    let (s, _) = stack.call("GET", &base, &tenant_admin, None, None).await;
    assert_eq!(s, 403);

    let (s, call) = stack
        .call(
            "POST",
            &format!("{base}/{contact_id}/call"),
            &stack.admin,
            None,
            Some(json!({"name": "John Doe", "email": "john@example.com"})),
        )
        .await;
    assert_eq!(s, 202, "{call}");
    stack
        .eventually(WAIT, || async { contact.count() >= 1 })
        .await;
    let got = &contact.all()[0];
    assert_eq!(
        got.headers["authorization"],
        "Bearer n8n-bearer-token-0123456789abcdef"
    );
    let body: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(body["event"], "workflow.call");
    assert_eq!(body["data"]["email"], "john@example.com");

    let (s, _) = stack
        .call(
            "POST",
            &format!("{base}/by-name/booking_request/call"),
            &stack.admin,
            None,
            Some(json!({"partySize": 4})),
        )
        .await;
    assert_eq!(s, 202);
    stack
        .eventually(WAIT, || async { booking.count() >= 2 })
        .await;
    assert!(
        booking.all()[0].headers.get("authorization").is_none(),
        "no token configured, none sent"
    );
    let (s, _) = stack
        .call(
            "POST",
            &format!("{base}/by-name/nope/call"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert_eq!(s, 404);

    let (s, b) = stack
        .call(
            "POST",
            &format!("{base}/broadcast"),
            &stack.admin,
            None,
            Some(json!({"event": "tenant_updated"})),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(b["deliveries"].as_array().unwrap().len(), 2);
    stack
        .eventually(WAIT, || async {
            contact.count() >= 2 && booking.count() >= 3
        })
        .await;

    // A subscribed event reaches the workflow through the ordinary fan-out.
    stack
        .publish(&tenant, "contact.created", json!({"contact": {"id": "c9"}}))
        .await;
    stack
        .eventually(WAIT, || async { contact.count() >= 3 })
        .await;
    let last: serde_json::Value = serde_json::from_slice(&contact.all()[2].body).unwrap();
    assert_eq!(last["event"], "contact.created");

    // Analytics: booking_request had 1 failure and 2 successes, contact_form 3 successes.
    stack
        .eventually(WAIT, || async {
            let (_, r) = stack
                .call(
                    "GET",
                    &format!("{base}/analytics/recent"),
                    &stack.admin,
                    None,
                    None,
                )
                .await;
            // Logs and hourly counters are written concurrently: wait for both.
            let (_, summary) = stack
                .call(
                    "GET",
                    &format!("{base}/analytics/summary?range=24h"),
                    &stack.admin,
                    None,
                    None,
                )
                .await;
            r["data"].as_array().is_some_and(|a| a.len() >= 6) && summary["totalCalls"] == 6
        })
        .await;
    let (_, summary) = stack
        .call(
            "GET",
            &format!("{base}/analytics/summary?range=24h"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert_eq!(summary["totalCalls"], 6, "{summary}");
    assert_eq!(summary["failedCalls"], 1);
    let rows = summary["webhooks"].as_array().unwrap();
    let booking_row = rows
        .iter()
        .find(|r| r["workflowName"] == "booking_request")
        .unwrap();
    assert_eq!(booking_row["band"], "critical", "2 of 3 is under 80 %");
    let contact_row = rows
        .iter()
        .find(|r| r["workflowName"] == "contact_form")
        .unwrap();
    assert_eq!(contact_row["band"], "good");
    let (_, one) = stack
        .call(
            "GET",
            &format!("{base}/{booking_id}/analytics?range=7d"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert_eq!(one["totalCalls"], 3);
    let (s, _) = stack
        .call(
            "GET",
            &format!("{base}/analytics/summary?range=2y"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert_eq!(s, 400);
    let (_, recent) = stack
        .call(
            "GET",
            &format!("{base}/analytics/recent"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert!(recent["data"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["workflowName"].is_string()));
    // Workflow calls stay out of the tenant's own endpoint logs.
    let (_, tenant_logs) = stack
        .call(
            "GET",
            "/api/v1/webhooks/logs",
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(tenant_logs["data"].as_array().unwrap().len(), 0);

    let (s, _) = stack
        .call(
            "DELETE",
            &format!("{base}/{contact_id}"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert_eq!(s, 204);
    let (s, again) = stack
        .call(
            "POST",
            &base,
            &stack.admin,
            None,
            Some(json!({"workflowName": "contact_form", "webhookUrl": contact.url})),
        )
        .await;
    assert_eq!(s, 201, "the name is free again after deletion: {again}");
}

#[tokio::test]
async fn a_failing_workflow_is_disabled_after_ten_failed_calls() {
    let stack = Stack::start("e2e-wf-off").await;
    let tenant = stack.tenant().await;
    let down = Receiver::start(Behaviour::AlwaysFail).await;
    let base = format!("/api/platform/tenants/{tenant}/webhooks");
    let (s, created) = stack
        .call(
            "POST",
            &base,
            &stack.admin,
            None,
            Some(json!({"workflowName": "flaky", "webhookUrl": down.url, "retryAttempts": 0})),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    for _ in 0..10 {
        let (s, _) = stack
            .call(
                "POST",
                &format!("{base}/by-name/flaky/call"),
                &stack.admin,
                None,
                None,
            )
            .await;
        assert_eq!(s, 202);
    }
    stack
        .eventually(WAIT, || async { down.count() >= 10 })
        .await;
    stack
        .eventually(WAIT, || async {
            let (_, list) = stack.call("GET", &base, &stack.admin, None, None).await;
            list["data"][0]["isActive"] == false
        })
        .await;
    let (s, body) = stack
        .call(
            "POST",
            &format!("{base}/by-name/flaky/call"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert_eq!(s, 409, "a disabled workflow is not called: {body}");
}
