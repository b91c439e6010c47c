//! Every configuration change is in the tenant's audit log (who, when, which fields, never
//! a value), and the tenant's admins read it, filtered and paginated.

use hookhub_shared::auth::{mint_for, Role};
use serde_json::{json, Value};

use crate::support::{Behaviour, Receiver, Stack};

const TOKEN: &str = "wf-bearer-token-0123456789abcdef";

#[tokio::test]
async fn configuration_changes_are_audited_and_tenant_admins_read_them() {
    let stack = Stack::start("e2e-audit").await;
    let tenant = stack.tenant().await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    let alice = mint_for(
        stack.stack.ctx.config.jwt_secret().unwrap(),
        "alice",
        Role::TenantAdmin,
        Some(&tenant),
        1,
    );
    let call = |method: &'static str, path: String, token: String, body: Option<Value>| {
        let stack = &stack;
        async move {
            let (s, reply) = stack.call(method, &path, &token, None, body).await;
            assert!((200..300).contains(&s), "{method} {path}: {s} {reply}");
            reply
        }
    };
    let endpoint = call(
        "POST",
        "/api/v1/webhooks".into(),
        alice.clone(),
        Some(json!({"name": "orders", "url": receiver.url, "events": ["*"]})),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let hook = format!("/api/v1/webhooks/{endpoint}");
    call(
        "PATCH",
        hook.clone(),
        alice.clone(),
        Some(json!({"url": format!("{}?v=2", receiver.url)})),
    )
    .await;
    call(
        "POST",
        format!("{hook}/rotate-secret"),
        alice.clone(),
        Some(json!({})),
    )
    .await;
    call("DELETE", hook, alice.clone(), None).await;
    let workflows = format!("/api/platform/tenants/{tenant}/webhooks");
    let workflow = call(
        "POST",
        workflows.clone(),
        stack.admin.clone(),
        Some(json!({"workflowName": "flow", "webhookUrl": receiver.url, "authToken": TOKEN})),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    call(
        "PATCH",
        format!("/api/platform/tenants/{tenant}"),
        stack.admin.clone(),
        Some(json!({"status": "suspended"})),
    )
    .await;
    call(
        "PATCH",
        format!("/api/platform/tenants/{tenant}"),
        stack.admin.clone(),
        Some(json!({"status": "active"})),
    )
    .await;

    let log = call("GET", "/api/v1/audit?limit=100".into(), alice.clone(), None).await;
    let entries = log["data"].as_array().unwrap();
    let find = |action: &str, target: &str| -> Value {
        entries
            .iter()
            .find(|e| e["action"] == action && e["target"] == target)
            .unwrap_or_else(|| panic!("no {action} of {target}: {entries:?}"))
            .clone()
    };
    assert_eq!(
        find("endpoint.created", &endpoint)["actor"],
        "tenant_admin:alice"
    );
    assert_eq!(
        find("endpoint.updated", &endpoint)["fields"],
        json!(["url"])
    );
    find("endpoint.secret_rotated", &endpoint);
    find("endpoint.deleted", &endpoint);
    let created = find("workflow.created", &workflow);
    assert!(created["actor"]
        .as_str()
        .unwrap()
        .starts_with("platform_admin:"));
    assert!(created["fields"]
        .as_array()
        .unwrap()
        .contains(&json!("authToken")));
    let status_changes = entries
        .iter()
        .filter(|e| e["action"] == "tenant.updated" && e["fields"] == json!(["status"]))
        .count();
    assert_eq!(status_changes, 2);
    assert!(
        !log.to_string().contains(TOKEN),
        "names of fields only, never values"
    );

    // Filters, and pages newest first.
    let endpoints = call(
        "GET",
        "/api/v1/audit?action=endpoint.".into(),
        alice.clone(),
        None,
    )
    .await;
    let actions: Vec<&str> = endpoints["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "endpoint.deleted",
            "endpoint.secret_rotated",
            "endpoint.updated",
            "endpoint.created"
        ]
    );
    // Filters apply to each page as read, so a page may hold fewer entries than asked for:
    // follow the cursor to the end.
    let mut by_alice = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = call(
            "GET",
            format!("/api/v1/audit?actor=tenant_admin:alice&limit=2{cursor}"),
            alice.clone(),
            None,
        )
        .await;
        by_alice.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["nextCursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(by_alice.len(), 4, "{by_alice:?}");

    // Another tenant's admin sees none of it; API keys cannot read it.
    let other = stack.tenant().await;
    let mallory = mint_for(
        stack.stack.ctx.config.jwt_secret().unwrap(),
        "mallory",
        Role::TenantAdmin,
        Some(&other),
        1,
    );
    let theirs = call("GET", "/api/v1/audit".into(), mallory, None).await;
    assert!(!theirs.to_string().contains(&endpoint));
}
