//! Meta subscriptions and Graph health against a local server that answers like the Graph
//! API: subscribing a WhatsApp Business Account and an Instagram account's Page, reading
//! the live state back, Graph's errors (an expired token 190, a missing permission 200, rate
//! limits 4/17/613), and the health checks the schedule runs and keeps.

use std::time::Duration;

use crate::support::providers::*;
use crate::support::Stack;
use hookhub_shared::auth::{mint_for, Role};
use serde_json::{json, Value};

const APP_SECRET: &str = "wa-app-secret-0123456789abcdef";

async fn start(label: &str) -> (Stack, ProviderMock, String) {
    let mock = ProviderMock::start().await;
    let stack = Stack::start_with(label, &mock.settings()).await;
    let tenant = stack.tenant().await;
    for (kind, body) in [
        (
            "whatsapp",
            json!({"enabled": true, "phoneNumberId": WA_PHONE_ID, "businessAccountId": WA_WABA_ID,
                   "accessToken": WA_TOKEN, "appSecret": APP_SECRET}),
        ),
        (
            "instagram",
            json!({"enabled": true, "accountId": IG_ACCOUNT_ID, "pageId": IG_PAGE_ID,
                   "appId": META_APP_ID, "accessToken": IG_TOKEN, "appSecret": APP_SECRET}),
        ),
    ] {
        stack.put_integration(&tenant, kind, body).await;
    }
    (stack, mock, tenant)
}

async fn call(
    stack: &Stack,
    tenant: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    stack
        .call(method, path, &stack.admin, Some(tenant), body)
        .await
}

fn channel<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

fn graph_error(status: u16, code: i64) -> (u16, Value) {
    (
        status,
        json!({"error": {"message": format!("error {code}"), "type": "OAuthException", "code": code,
                         "fbtrace_id": "AbCdEfGh"}}),
    )
}

#[tokio::test]
async fn subscribing_a_whatsapp_account_and_an_instagram_page_and_reading_them_back() {
    let (stack, mock, tenant) = start("e2e-meta-subs").await;
    let subs = "/api/v1/meta/subscriptions";
    let (s, list) = call(&stack, &tenant, "GET", subs, None).await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(
        channel(&list, "whatsapp")["live"]["subscribed"],
        false,
        "{list}"
    );
    assert_eq!(channel(&list, "whatsapp")["stored"], Value::Null);

    let (s, wa) = call(
        &stack,
        &tenant,
        "POST",
        subs,
        Some(json!({"channel": "whatsapp"})),
    )
    .await;
    assert_eq!(s, 201, "{wa}");
    assert_eq!(wa["objectId"], WA_WABA_ID);
    assert_eq!(
        wa["fields"],
        json!(["messages", "message_template_status_update"])
    );
    assert!(mock.subscribed(WA_WABA_ID).is_some());
    let (s, ig) = call(
        &stack,
        &tenant,
        "POST",
        subs,
        Some(json!({"channel": "instagram", "fields": ["messages", "messaging_postbacks"]})),
    )
    .await;
    assert_eq!(s, 201, "{ig}");
    assert_eq!(ig["objectId"], IG_PAGE_ID);
    assert_eq!(
        mock.subscribed(IG_PAGE_ID),
        Some(vec![
            "messages".to_string(),
            "messaging_postbacks".to_string()
        ])
    );
    let sent = mock.requests(Provider::Graph);
    let post = sent
        .iter()
        .find(|r| {
            r.path
                .starts_with(&format!("POST /v21.0/{IG_PAGE_ID}/subscribed_apps"))
        })
        .expect("the Page subscribed");
    assert!(
        post.path
            .ends_with("subscribed_fields=messages,messaging_postbacks"),
        "{}",
        post.path
    );
    assert_eq!(
        post.headers["authorization"],
        format!("Bearer {IG_TOKEN}").as_str()
    );
    assert!(sent
        .iter()
        .all(|r| !r.path.contains(IG_TOKEN) && !r.path.contains(WA_TOKEN)));

    let (_, list) = call(&stack, &tenant, "GET", subs, None).await;
    let wa = channel(&list, "whatsapp");
    assert_eq!(wa["live"]["subscribed"], true, "{list}");
    assert_eq!(wa["live"]["apps"][0]["id"], META_APP_ID);
    assert_eq!(wa["stored"]["subscribedBy"], "platform_admin:root");
    let ig = channel(&list, "instagram");
    assert_eq!(
        ig["live"]["fields"],
        json!(["messages", "messaging_postbacks"])
    );
    assert_eq!(
        ig["stored"]["fields"],
        json!(["messages", "messaging_postbacks"])
    );
    let (_, audit) = call(
        &stack,
        &tenant,
        "GET",
        "/api/v1/audit?action=meta.subscription",
        None,
    )
    .await;
    assert_eq!(audit["data"].as_array().unwrap().len(), 2, "{audit}");

    // Unsubscribed: gone from Meta and from what is stored.
    let (s, _) = call(&stack, &tenant, "DELETE", &format!("{subs}/whatsapp"), None).await;
    assert_eq!(s, 204);
    assert_eq!(mock.subscribed(WA_WABA_ID), None);
    let (_, list) = call(&stack, &tenant, "GET", subs, None).await;
    assert_eq!(channel(&list, "whatsapp")["stored"], Value::Null);
    assert_eq!(channel(&list, "whatsapp")["live"]["subscribed"], false);
    let (s, _) = call(&stack, &tenant, "DELETE", &format!("{subs}/sms"), None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn graphs_refusals_are_named_and_nothing_is_stored() {
    let (stack, mock, tenant) = start("e2e-meta-subs-errors").await;
    let subs = "/api/v1/meta/subscriptions";
    for (body, field) in [
        (json!({"channel": "sms"}), "channel"),
        (json!({}), "channel"),
        (
            json!({"channel": "instagram", "fields": ["messagez"]}),
            "fields[0]",
        ),
        (json!({"channel": "instagram", "fields": []}), "fields"),
        (
            json!({"channel": "instagram", "fields": "messages"}),
            "fields",
        ),
        (json!({"channel": "whatsapp", "extra": true}), "extra"),
    ] {
        let (s, reply) = call(&stack, &tenant, "POST", subs, Some(body.clone())).await;
        assert_eq!(s, 422, "{body}: {reply}");
        assert_eq!(
            reply["error"]["details"][0]["field"], field,
            "{body}: {reply}"
        );
    }
    for (status, code, http, reason) in [
        (400, 190, 502, "token_invalid"),
        (403, 200, 502, "permission_denied"),
        (400, 4, 429, "rate_limited"),
        (400, 17, 429, "rate_limited"),
        (400, 613, 429, "rate_limited"),
        (500, 2, 502, "error"),
    ] {
        mock.script(Provider::Graph, vec![graph_error(status, code)]);
        let (s, reply) = call(
            &stack,
            &tenant,
            "POST",
            subs,
            Some(json!({"channel": "instagram"})),
        )
        .await;
        assert_eq!(s, http, "{code}: {reply}");
        assert_eq!(reply["error"]["code"], "upstream_error");
        assert_eq!(
            reply["error"]["details"][0]["reason"], reason,
            "{code}: {reply}"
        );
        assert_eq!(reply["error"]["details"][0]["code"], code);
        assert!(
            reply["error"]["details"][0]["advice"].is_string(),
            "{reply}"
        );
    }
    let (_, list) = call(&stack, &tenant, "GET", subs, None).await;
    assert_eq!(channel(&list, "instagram")["stored"], Value::Null, "{list}");
    assert_eq!(mock.subscribed(IG_PAGE_ID), None);

    // A tenant without a Meta integration is told what to save first; it cannot reach the
    // first tenant's subscriptions.
    let other = stack.tenant().await;
    let admin = mint_for(
        stack.stack.ctx.config.jwt_secret().unwrap(),
        "alice",
        Role::TenantAdmin,
        Some(&other),
        1,
    );
    let (s, reply) = stack
        .call(
            "POST",
            subs,
            &admin,
            None,
            Some(json!({"channel": "whatsapp"})),
        )
        .await;
    assert_eq!(s, 409, "{reply}");
    let (s, _) = call(
        &stack,
        &tenant,
        "POST",
        subs,
        Some(json!({"channel": "whatsapp"})),
    )
    .await;
    assert_eq!(s, 201);
    let (s, list) = stack.call("GET", subs, &admin, None, None).await;
    assert_eq!(s, 200);
    assert_eq!(list["data"], json!([]), "{list}");
    let (s, _) = stack
        .call("DELETE", &format!("{subs}/whatsapp"), &admin, None, None)
        .await;
    assert_eq!(s, 409);
    assert!(
        mock.subscribed(WA_WABA_ID).is_some(),
        "the first tenant's stays"
    );
}

#[tokio::test]
async fn health_checks_keep_when_a_token_stopped_working_and_when_it_will() {
    let (stack, mock, tenant) = start("e2e-meta-graph-health").await;
    call(
        &stack,
        &tenant,
        "POST",
        "/api/v1/meta/subscriptions",
        Some(json!({"channel": "whatsapp"})),
    )
    .await;
    let check = || async { call(&stack, &tenant, "POST", "/api/v1/meta/health/check", None).await };
    let (s, first) = check().await;
    assert_eq!(s, 200, "{first}");
    let wa = channel(&first, "whatsapp");
    assert_eq!(wa["healthy"], true, "{first}");
    assert_eq!(wa["token"]["valid"], true);
    assert_eq!(
        wa["token"]["expiresAt"],
        Value::Null,
        "a system user token does not expire"
    );
    assert_eq!(wa["subscription"]["subscribed"], true);
    assert_eq!(
        channel(&first, "instagram")["subscription"]["subscribed"],
        false
    );
    let (_, health) = call(&stack, &tenant, "GET", "/api/v1/meta/health", None).await;
    assert_eq!(
        health["checks"]["graph"].as_array().unwrap().len(),
        2,
        "{health}"
    );
    assert_eq!(health["subscriptions"][0]["channel"], "whatsapp");

    // The token is revoked: unhealthy from this check on, and kept so.
    let (s, _) = stack
        .call(
            "PUT",
            &format!("/api/platform/tenants/{tenant}/integrations/whatsapp"),
            &stack.admin,
            None,
            Some(json!({"accessToken": "EAARevokedAccessToken00000"})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, failing) = check().await;
    let wa = channel(&failing, "whatsapp");
    assert_eq!(wa["healthy"], false, "{failing}");
    assert_eq!(wa["status"], "token_invalid");
    assert_eq!(wa["error"]["code"], 190);
    let since = wa["unhealthySince"].clone();
    assert!(since.is_string());
    assert_eq!(
        wa["lastHealthyAt"],
        channel(&first, "whatsapp")["checkedAt"]
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (_, again) = check().await;
    assert_eq!(
        channel(&again, "whatsapp")["unhealthySince"],
        since,
        "since the first failure"
    );
    let (_, health) = call(&stack, &tenant, "GET", "/api/v1/meta/health", None).await;
    assert_eq!(health["status"], "degraded", "{health}");
    let (_, dashboard) = call(
        &stack,
        &tenant,
        "GET",
        "/api/v1/meta/monitoring/dashboard",
        None,
    )
    .await;
    let shown = dashboard["graph"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "whatsapp")
        .unwrap();
    assert_eq!(shown["unhealthySince"], since);

    // Instagram's token expires in two days: reported before it does; a rate limit is named.
    mock.expire_in(IG_TOKEN, 2 * 86_400);
    let (_, expiring) = check().await;
    let ig = channel(&expiring, "instagram");
    assert_eq!(ig["status"], "token_expiring", "{expiring}");
    assert_eq!(ig["healthy"], false);
    assert!(ig["token"]["expiresAt"].is_string());
    assert!(ig["advice"]
        .as_str()
        .unwrap()
        .contains("expires within a week"));
    for code in [4, 17, 613] {
        mock.script(Provider::Graph, vec![graph_error(400, code)]);
        let (_, limited) = check().await;
        assert_eq!(
            channel(&limited, "whatsapp")["status"],
            "rate_limited",
            "{limited}"
        );
    }
    let (_, limited) = call(&stack, &tenant, "POST", "/api/v1/meta/health/check", None).await;
    assert_eq!(channel(&limited, "whatsapp")["status"], "token_invalid");

    // The scheduled job checks every tenant and stores the results.
    let stored_at = |health: &Value| {
        channel(&json!({"data": health["checks"]["graph"]}), "instagram")["checkedAt"].clone()
    };
    let (_, before) = call(&stack, &tenant, "GET", "/api/v1/meta/health", None).await;
    let job = hookhub_shared::jobs::Job::new(
        hookhub_shared::meta::GRAPH_HEALTH_JOB,
        "platform",
        json!({}),
    );
    stack
        .stack
        .ctx
        .queue
        .enqueue(&[job], Duration::ZERO)
        .await
        .unwrap();
    stack
        .eventually(Duration::from_secs(30), || async {
            let (_, now) = call(&stack, &tenant, "GET", "/api/v1/meta/health", None).await;
            stored_at(&now) != stored_at(&before)
        })
        .await;

    // An integration turned off is no longer checked, and its last check goes.
    let (s, _) = stack
        .call(
            "PUT",
            &format!("/api/platform/tenants/{tenant}/integrations/instagram"),
            &stack.admin,
            None,
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, last) = check().await;
    assert_eq!(last["data"].as_array().unwrap().len(), 1, "{last}");
}
