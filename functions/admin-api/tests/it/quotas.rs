//! Per-tenant quotas: set by platform admins over the deployment's defaults, shown on the
//! tenant, audited, and enforced on endpoints, workflows, retries, event size and the
//! publish rate of every caller.

use crate::support::{Api, Reply};
use serde_json::{json, Value};

fn endpoint(name: &str) -> Value {
    json!({"name": name, "url": format!("https://example.com/{name}"), "events": ["*"]})
}

fn assert_quota(reply: &Reply, status: u16, quota: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(
        reply.body["error"]["code"], "quota_exceeded",
        "{}",
        reply.body
    );
    assert_eq!(
        reply.body["error"]["details"][0]["quota"], quota,
        "{}",
        reply.body
    );
    let message = reply.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(quota),
        "the message names the quota: {message}"
    );
}

async fn set_quotas(api: &Api, tenant: &str, quotas: Value) -> Reply {
    api.call(
        "PATCH",
        &format!("/api/platform/tenants/{tenant}"),
        &api.admin,
        Some(json!({ "quotas": quotas })),
    )
    .await
}

async fn create_workflow(api: &Api, tenant: &str, name: &str) -> Reply {
    api.call(
        "POST",
        &format!("/api/platform/tenants/{tenant}/webhooks"),
        &api.admin,
        Some(json!({"workflowName": name, "webhookUrl": format!("https://example.com/{name}")})),
    )
    .await
}

/// Waits, when needed, so that what follows runs inside one clock minute (the rate
/// windows are minutes).
async fn start_of_a_minute() {
    let second = chrono::Utc::now().timestamp() % 60;
    if second > 45 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - second) as u64)).await;
    }
}

#[tokio::test]
async fn quotas_are_set_shown_audited_and_refused_by_name() {
    let api = Api::new("api-quotas").await;
    let created = api
        .call(
            "POST",
            "/api/platform/tenants",
            &api.admin,
            Some(json!({"name": "Small", "quotas": {"maxEndpoints": 2, "maxRetryAttempts": 1}})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let tenant = created.body["id"].as_str().unwrap().to_string();
    let defaults = api.stack.ctx.config.quotas;
    let shown = api
        .call(
            "GET",
            &format!("/api/platform/tenants/{tenant}"),
            &api.admin,
            None,
        )
        .await;
    assert_eq!(shown.body["quotas"]["maxEndpoints"], 2);
    assert_eq!(shown.body["quotas"]["maxRetryAttempts"], 1);
    assert_eq!(shown.body["quotas"]["maxWorkflows"], defaults.max_workflows);
    assert_eq!(
        shown.body["quotas"]["publishPerMinute"],
        defaults.publish_per_minute
    );
    assert_eq!(
        shown.body["quotaOverrides"],
        json!({"maxEndpoints": 2, "maxRetryAttempts": 1})
    );

    // Endpoints: two fit, the third is refused by name, and a delete makes room again.
    let admin = api.tenant_admin(&tenant);
    let mut ids = Vec::new();
    for name in ["one", "two"] {
        let r = api
            .call("POST", "/api/v1/webhooks", &admin, Some(endpoint(name)))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(
            r.body["retryAttempts"], 1,
            "the default retries fit the quota"
        );
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    let third = api
        .call("POST", "/api/v1/webhooks", &admin, Some(endpoint("three")))
        .await;
    assert_quota(&third, 422, "maxEndpoints");
    let listed = api.call("GET", "/api/v1/webhooks", &admin, None).await;
    assert_eq!(
        listed.body["data"].as_array().unwrap().len(),
        2,
        "nothing was made"
    );
    let deleted = api
        .call(
            "DELETE",
            &format!("/api/v1/webhooks/{}", ids[0]),
            &admin,
            None,
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let again = api
        .call("POST", "/api/v1/webhooks", &admin, Some(endpoint("three")))
        .await;
    assert_eq!(again.status, 201, "room made by the delete: {}", again.body);

    // Retries above the quota, on create and on update.
    let mut eager = endpoint("eager");
    eager["retryAttempts"] = json!(5);
    let refused = api
        .call("POST", "/api/v1/webhooks", &admin, Some(eager))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let patched = api
        .call(
            "PATCH",
            &format!("/api/v1/webhooks/{}", ids[1]),
            &admin,
            Some(json!({"retryAttempts": 4})),
        )
        .await;
    assert_quota(&patched, 422, "maxRetryAttempts");

    // A tenant admin cannot change its own quotas.
    let own = api
        .call(
            "PATCH",
            &format!("/api/platform/tenants/{tenant}"),
            &admin,
            Some(json!({"quotas": {"maxEndpoints": 1000}})),
        )
        .await;
    assert_eq!(own.status, 403, "{}", own.body);

    // Bad quotas are refused field by field and change nothing.
    for (body, field) in [
        (json!({"quotas": {"maxEndpoint": 5}}), "quotas.maxEndpoint"),
        (
            json!({"quotas": {"maxEndpoints": -1}}),
            "quotas.maxEndpoints",
        ),
        (
            json!({"quotas": {"maxEventBytes": 10_000_000}}),
            "quotas.maxEventBytes",
        ),
        (
            json!({"quotas": {"publishPerMinute": "many"}}),
            "quotas.publishPerMinute",
        ),
        (json!({"quotas": 5}), "quotas"),
    ] {
        let r = api
            .call(
                "PATCH",
                &format!("/api/platform/tenants/{tenant}"),
                &api.admin,
                Some(body),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.to_string().contains(field), "{}", r.body);
    }

    // Raising one quota and returning another to its default.
    let raised = set_quotas(
        &api,
        &tenant,
        json!({"maxEndpoints": 3, "maxRetryAttempts": null}),
    )
    .await;
    assert_eq!(raised.status, 200, "{}", raised.body);
    assert_eq!(raised.body["quotas"]["maxEndpoints"], 3);
    assert_eq!(
        raised.body["quotas"]["maxRetryAttempts"],
        defaults.max_retry_attempts
    );
    assert_eq!(raised.body["quotaOverrides"], json!({"maxEndpoints": 3}));
    let fits = api
        .call("POST", "/api/v1/webhooks", &admin, Some(endpoint("four")))
        .await;
    assert_eq!(fits.status, 201, "{}", fits.body);

    // Every change is in the tenant's audit log with the values set.
    let audit = api
        .call("GET", "/api/v1/audit?action=tenant.", &admin, None)
        .await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    let fields: Vec<String> = audit.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["fields"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect();
    for expected in [
        "quotas.maxEndpoints=2",
        "quotas.maxRetryAttempts=1",
        "quotas.maxEndpoints=3",
        "quotas.maxRetryAttempts=default",
    ] {
        assert!(
            fields.iter().any(|f| f == expected),
            "{expected} in {fields:?}"
        );
    }
}

#[tokio::test]
async fn endpoints_created_at_once_cannot_pass_the_quota_together() {
    let api = Api::new("api-quotas-race").await;
    let tenant = api.create_tenant("Racing").await;
    let r = set_quotas(&api, &tenant, json!({"maxEndpoints": 3, "maxWorkflows": 1})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let admin = api.tenant_admin(&tenant);
    let attempts = (0..8).map(|i| {
        let (api, admin) = (&api, admin.clone());
        async move {
            api.call(
                "POST",
                "/api/v1/webhooks",
                &admin,
                Some(endpoint(&format!("ep{i}"))),
            )
            .await
        }
    });
    let replies = futures::future::join_all(attempts).await;
    let made = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        made,
        3,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status != 201) {
        assert_quota(r, 422, "maxEndpoints");
    }
    let listed = api
        .call("GET", "/api/v1/webhooks?limit=100", &admin, None)
        .await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 3);

    // Workflows have their own quota, and a refused one leaves its name free.
    let first = create_workflow(&api, &tenant, "first").await;
    assert_eq!(first.status, 201, "{}", first.body);
    let second = create_workflow(&api, &tenant, "second").await;
    assert_quota(&second, 422, "maxWorkflows");
    set_quotas(&api, &tenant, json!({"maxWorkflows": 2})).await;
    let retried = create_workflow(&api, &tenant, "second").await;
    assert_eq!(
        retried.status, 201,
        "the name was not kept by the refusal: {}",
        retried.body
    );
}

#[tokio::test]
async fn event_size_and_publish_rate_hold_for_every_caller_and_one_tenant_only() {
    let api = Api::new("api-quotas-publish").await;
    let tenant = api.create_tenant("Chatty").await;
    let other = api.create_tenant("Quiet").await;
    let r = set_quotas(
        &api,
        &tenant,
        json!({"maxEventBytes": 2048, "publishPerMinute": 3}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let admin = api.tenant_admin(&tenant);
    let key = api
        .call(
            "POST",
            "/api/v1/api-keys",
            &admin,
            Some(json!({"name": "publisher", "permissions": ["write:events", "read:events"]})),
        )
        .await;
    assert_eq!(key.status, 201, "{}", key.body);
    let key = key.body["key"].as_str().unwrap().to_string();
    let publish = |token: String, data: Value| {
        let api = &api;
        async move {
            api.call(
                "POST",
                "/api/v1/events",
                &token,
                Some(json!({"type": "contact.created", "data": data})),
            )
            .await
        }
    };

    start_of_a_minute().await;
    let big = json!({"note": "x".repeat(3000)});
    let too_big = publish(key.clone(), big.clone()).await;
    assert_quota(&too_big, 422, "maxEventBytes");
    // The platform admin acting for the tenant is held to the tenant's quota too.
    let by_platform = api
        .call_as(
            "POST",
            "/api/v1/events",
            &api.admin,
            Some(&tenant),
            Some(json!({"type": "contact.created", "data": big})),
        )
        .await;
    assert_quota(&by_platform, 422, "maxEventBytes");

    // The minute's publishes are counted whoever makes them, the refused ones included:
    // the API key's is the third and fits, the tenant admin's and the next are refused.
    let mut replies = Vec::new();
    for token in [key.clone(), admin.clone(), key.clone()] {
        replies.push(publish(token, json!({"n": 1})).await);
    }
    assert_eq!(replies[0].status, 202, "{}", replies[0].body);
    assert_quota(&replies[1], 429, "publishPerMinute");
    assert_quota(&replies[2], 429, "publishPerMinute");
    let wait: u64 = replies[2].headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");

    // Only the admitted event was stored.
    let events = api.call("GET", "/api/v1/events", &admin, None).await;
    assert_eq!(events.status, 200, "{}", events.body);
    let stored = events.body["data"].as_array().unwrap();
    assert_eq!(stored.len(), 1, "{}", events.body);
    assert_eq!(stored[0]["id"], replies[0].body["id"]);

    // Another tenant publishes as it likes.
    let theirs = api.tenant_admin(&other);
    for _ in 0..5 {
        let r = publish(theirs.clone(), json!({"note": "x".repeat(3000)})).await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
}

#[tokio::test]
async fn workflow_calls_share_the_publish_quotas() {
    let api = Api::new("api-quotas-calls").await;
    let tenant = api.create_tenant("Callers").await;
    let r = set_quotas(
        &api,
        &tenant,
        json!({"publishPerMinute": 2, "maxEventBytes": 1024}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let admin = api.tenant_admin(&tenant);
    let workflows = format!("/api/platform/tenants/{tenant}/webhooks");
    let wf = create_workflow(&api, &tenant, "orders").await;
    assert_eq!(wf.status, 201, "{}", wf.body);
    let call = format!("{workflows}/by-name/orders/call");

    start_of_a_minute().await;
    let queued = api
        .call("POST", &call, &api.admin, Some(json!({"order": 1})))
        .await;
    assert_eq!(queued.status, 202, "{}", queued.body);
    let published = api
        .call(
            "POST",
            "/api/v1/events",
            &admin,
            Some(json!({"type": "contact.created", "data": {}})),
        )
        .await;
    assert_eq!(published.status, 202, "{}", published.body);
    let over = api
        .call("POST", &call, &api.admin, Some(json!({"order": 2})))
        .await;
    assert_quota(&over, 429, "publishPerMinute");
    let big = api
        .call(
            "POST",
            &call,
            &api.admin,
            Some(json!({"note": "x".repeat(2000)})),
        )
        .await;
    assert_quota(&big, 422, "maxEventBytes");
}
