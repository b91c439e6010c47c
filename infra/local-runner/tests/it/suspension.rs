//! A suspended tenant, end to end: its API keys, its admins and writes made for it are
//! refused on every path, its Meta POSTs are refused before anything is stored, its queued
//! deliveries are logged as not sent, and after reactivation `recover` delivers them.

use std::time::Duration;

use hookhub_shared::auth::{mint_for, Role};
use serde_json::{json, Value};

use crate::support::{Behaviour, Receiver, Stack};

const WAIT: Duration = Duration::from_secs(30);
const APP_SECRET: &str = "suspended-app-secret-0123456789";

#[tokio::test]
async fn a_suspended_tenant_is_refused_everywhere_and_recovers_once_reactivated() {
    let stack = Stack::start("e2e-suspend").await;
    let tenant = stack.tenant().await;
    stack.configure_whatsapp(&tenant, APP_SECRET).await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    let (endpoint, _) = stack.endpoint(&tenant, &receiver.url, json!({})).await;
    let (s, issued) = stack
        .call(
            "POST",
            "/api/v1/api-keys",
            &stack.admin,
            Some(&tenant),
            Some(json!({"name": "everything", "permissions": ["*"]})),
        )
        .await;
    assert_eq!(s, 201, "{issued}");
    let api_key = issued["key"].as_str().unwrap().to_string();
    let tenant_admin = mint_for(
        stack.stack.ctx.config.jwt_secret().unwrap(),
        "alice",
        Role::TenantAdmin,
        Some(&tenant),
        1,
    );
    let everyone_can = |token: &str| {
        let (stack, token) = (&stack, token.to_string());
        async move {
            let (s, body) = stack
                .call("GET", "/api/v1/webhooks", &token, None, None)
                .await;
            (s, body)
        }
    };
    assert_eq!(everyone_can(&api_key).await.0, 200);
    assert_eq!(everyone_can(&tenant_admin).await.0, 200);

    let (s, body) = stack
        .call(
            "PUT",
            &format!("/api/platform/tenants/{tenant}/integrations/sms"),
            &stack.admin,
            None,
            Some(json!({"enabled": true, "provider": "sns", "region": "us-east-1"})),
        )
        .await;
    assert_eq!(s, 200, "{body}");

    // A delivery and a text wait in the queue while no worker runs.
    stack.kill_worker();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let queued = stack
        .publish(&tenant, "contact.created", json!({"contact": {"id": "c1"}}))
        .await;
    assert_eq!(queued["deliveries"], 1);
    let (s, text) = stack
        .call(
            "POST",
            "/api/v1/messages",
            &api_key,
            None,
            Some(json!({"channel": "sms", "to": "+14155550123", "text": "Your table is ready"})),
        )
        .await;
    assert_eq!(s, 202, "{text}");
    let text = format!("/api/v1/messages/{}", text["id"].as_str().unwrap());

    let suspend = |status: &'static str| {
        let (stack, tenant) = (&stack, tenant.clone());
        async move {
            let (s, body) = stack
                .call(
                    "PATCH",
                    &format!("/api/platform/tenants/{tenant}"),
                    &stack.admin,
                    None,
                    Some(json!({"status": status})),
                )
                .await;
            assert_eq!(s, 200, "{body}");
        }
    };
    suspend("suspended").await;

    // The tenant's own callers: refused, reads included.
    for token in [&api_key, &tenant_admin] {
        let (s, body) = everyone_can(token).await;
        assert_eq!(s, 403, "{body}");
        assert_eq!(body["error"]["code"], "tenant_suspended");
    }
    let (s, _) = stack
        .call(
            "POST",
            "/api/v1/events",
            &api_key,
            None,
            Some(json!({"type": "contact.created", "data": {}})),
        )
        .await;
    assert_eq!(s, 403);

    // Platform admins read it, and change nothing on its behalf but its status.
    let reads = [
        "/api/v1/webhooks".to_string(),
        format!("/api/platform/tenants/{tenant}"),
        format!("/api/platform/tenants/{tenant}/integrations"),
        format!("/api/platform/tenants/{tenant}/webhooks"),
    ];
    for path in &reads {
        let (s, body) = stack
            .call("GET", path, &stack.admin, Some(&tenant), None)
            .await;
        assert_eq!(s, 200, "{path}: {body}");
    }
    let writes: [(&str, String, Value); 5] = [
        (
            "POST",
            "/api/v1/events".into(),
            json!({"type": "contact.created", "data": {}}),
        ),
        (
            "POST",
            "/api/v1/webhooks".into(),
            json!({"name": "more", "url": receiver.url, "events": ["*"]}),
        ),
        (
            "PUT",
            format!("/api/platform/tenants/{tenant}/integrations/sms"),
            json!({"enabled": true, "provider": "sns", "region": "us-east-1"}),
        ),
        (
            "POST",
            format!("/api/platform/tenants/{tenant}/webhooks"),
            json!({"workflowName": "flow", "webhookUrl": receiver.url}),
        ),
        (
            "POST",
            format!("/api/platform/tenants/{tenant}/users"),
            json!({"email": "bob@example.com"}),
        ),
    ];
    for (method, path, body) in writes {
        let (s, reply) = stack
            .call(method, &path, &stack.admin, Some(&tenant), Some(body))
            .await;
        assert_eq!(s, 403, "{method} {path}: {reply}");
        assert_eq!(reply["error"]["code"], "tenant_suspended");
    }

    // Meta: a verified POST is refused with a status Meta retries, and nothing is stored;
    // a POST that does not verify learns nothing about the tenant.
    let message = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Sheena"}, "wa_id": "16505551234"}],
        "messages": [{"from": "16505551234", "id": "wamid.suspended1", "timestamp": "1763800000", "type": "text", "text": {"body": "hi"}}]}}]}]});
    let (s, refused) = stack.post_meta(&tenant, APP_SECRET, &message).await;
    assert_eq!(s, 503, "{refused}");
    assert_eq!(refused["error"]["code"], "tenant_suspended");
    let (s, _) = stack.post_meta(&tenant, "not-the-secret", &message).await;
    assert_eq!(s, 401);
    let (_, stored) = stack
        .call(
            "GET",
            "/api/v1/meta/events",
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(stored["data"], json!([]), "nothing stored while suspended");

    // The queued delivery is not sent, but logged for recovery.
    stack.start_worker();
    stack
        .eventually(WAIT, || async {
            stack
                .logs(&tenant, &endpoint)
                .await
                .iter()
                .any(|l| l["error"] == "not sent: the tenant is suspended")
        })
        .await;
    assert_eq!(receiver.count(), 0);
    // The text is not sent either: it fails, saying why, for its sender to send again.
    stack
        .eventually(WAIT, || async {
            let (_, message) = stack
                .call("GET", &text, &stack.admin, Some(&tenant), None)
                .await;
            message["status"] == "failed"
        })
        .await;
    let (_, message) = stack
        .call("GET", &text, &stack.admin, Some(&tenant), None)
        .await;
    assert_eq!(message["error"]["code"], "tenant_suspended", "{message}");
    assert_eq!(message["providerMessageId"], Value::Null);

    // Reactivated: everything works again, and recovery sends what was held back.
    suspend("active").await;
    assert_eq!(everyone_can(&api_key).await.0, 200);
    assert_eq!(everyone_can(&tenant_admin).await.0, 200);
    let since = (chrono::Utc::now() - chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (s, recovered) = stack
        .call(
            "POST",
            &format!("/api/v1/webhooks/{endpoint}/recover?since={since}"),
            &api_key,
            None,
            None,
        )
        .await;
    assert_eq!(s, 202, "{recovered}");
    // The queued contact.created, and the message.failed hookhub announced meanwhile.
    assert_eq!(recovered["recovered"], 2, "{recovered}");
    stack
        .eventually(WAIT, || async { receiver.count() == 2 })
        .await;
    let delivered: Vec<String> = receiver
        .all()
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["event"].to_string())
        .collect();
    assert!(
        delivered.contains(&"\"message.failed\"".to_string()),
        "{delivered:?}"
    );
    let (s, _) = stack.post_meta(&tenant, APP_SECRET, &message).await;
    assert_eq!(s, 200, "Meta's retry is stored once reactivated");
}

/// hookhub's own events for a suspended tenant (a Meta event processed after the
/// suspension, say) are kept and logged as not sent, never queued.
#[tokio::test]
async fn hookhubs_own_events_for_a_suspended_tenant_are_logged_not_queued() {
    let stack = Stack::start("e2e-suspend-own").await;
    let tenant = stack.tenant().await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    let (endpoint, _) = stack.endpoint(&tenant, &receiver.url, json!({})).await;
    let (s, _) = stack
        .call(
            "PATCH",
            &format!("/api/platform/tenants/{tenant}"),
            &stack.admin,
            None,
            Some(json!({"status": "suspended"})),
        )
        .await;
    assert_eq!(s, 200);
    let published = stack
        .stack
        .ctx
        .events()
        .publish(
            &tenant,
            "contact.updated",
            json!({"contact": {"id": "c2"}}),
            None,
            "contacts",
        )
        .await
        .unwrap();
    assert_eq!(published.deliveries, 0, "nothing queued");
    let logs = stack.logs(&tenant, &endpoint).await;
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs[0]["error"], "not sent: the tenant is suspended");
    assert_eq!(logs[0]["eventId"], published.event_id);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.count(), 0);
}
