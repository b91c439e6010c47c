use std::time::Duration;

use crate::support::{Api, Reply};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use hookhub_shared::AppContext;
use serde_json::{json, Value};
use tower::ServiceExt;

async fn create_key(api: &Api, tenant: &str, body: Value) -> Reply {
    api.call_as(
        "POST",
        "/api/v1/api-keys",
        &api.admin,
        Some(tenant),
        Some(body),
    )
    .await
}

/// A route that needs the permission in its path: exercises the real `Caller` extractor the
/// way every `/api/v1` handler uses it.
fn probe(ctx: AppContext) -> Router {
    async fn guarded(
        State(ctx): State<AppContext>,
        caller: admin_api::auth::Caller,
        Path(permission): Path<String>,
    ) -> Result<String, admin_api::ApiError> {
        caller.tenant(&ctx, &permission).await
    }
    Router::new()
        .route("/probe/{permission}", get(guarded))
        .with_state(ctx)
}

async fn probe_as(api: &Api, token: &str, permission: &str, ip: [u8; 4]) -> (u16, String) {
    let request = http::Request::get(format!("/probe/{permission}"))
        .header("authorization", format!("Bearer {token}"))
        .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            ip, 5000,
        ))))
        .body(Body::empty())
        .unwrap();
    let response = probe(api.stack.ctx.clone()).oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into())
}

#[tokio::test]
async fn key_lifecycle_shown_once_hashed_regenerated_revoked() {
    let api = Api::new("api-keys-life").await;
    let tenant = api.create_tenant("Acme").await;
    let created = create_key(
        &api,
        &tenant,
        json!({"name": "CRM sync", "permissions": ["read:webhooks", "write:events"]}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let key = created.body["key"].as_str().unwrap().to_string();
    let id = created.body["id"].as_str().unwrap().to_string();
    assert!(key.starts_with("hk_"));
    assert_eq!(created.body["prefix"], key[..11]);
    assert_eq!(created.body["rateLimitPerMinute"], 600);
    assert!(created.body.get("keyHash").is_none());

    let listed = api
        .call_as("GET", "/api/v1/api-keys", &api.admin, Some(&tenant), None)
        .await;
    assert_eq!(listed.status, 200);
    let text = listed.body.to_string();
    assert!(!text.contains(&key), "the key is shown once only");
    assert_eq!(listed.body["data"][0]["status"], "active");

    // At rest: a hash, not the key.
    let raw = api
        .stack
        .ctx
        .table
        .get(&hookhub_shared::store::keys::api_key(&tenant, &id))
        .await
        .unwrap()
        .unwrap();
    assert!(!format!("{raw:?}").contains(&key));

    assert_eq!(
        probe_as(&api, &key, "read:webhooks", [127, 0, 0, 1]).await,
        (200, tenant.clone())
    );
    let listed = api
        .call_as("GET", "/api/v1/api-keys", &api.admin, Some(&tenant), None)
        .await;
    assert!(
        listed.body["data"][0]["lastUsedAt"].is_string(),
        "last use recorded"
    );

    let regenerated = api
        .call_as(
            "POST",
            &format!("/api/v1/api-keys/{id}/regenerate"),
            &api.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(regenerated.status, 200, "{}", regenerated.body);
    let new_key = regenerated.body["key"].as_str().unwrap().to_string();
    assert_ne!(new_key, key);
    let (status, body) = probe_as(&api, &key, "read:webhooks", [127, 0, 0, 1]).await;
    assert_eq!(status, 401);
    assert!(body.contains("invalid API key"), "{body}");
    assert_eq!(
        probe_as(&api, &new_key, "read:webhooks", [127, 0, 0, 1])
            .await
            .0,
        200
    );

    let revoked = api
        .call_as(
            "DELETE",
            &format!("/api/v1/api-keys/{id}"),
            &api.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(revoked.status, 204);
    let (status, body) = probe_as(&api, &new_key, "read:webhooks", [127, 0, 0, 1]).await;
    assert_eq!(status, 401);
    assert!(body.contains("revoked"), "{body}");
    let again = api
        .call_as(
            "POST",
            &format!("/api/v1/api-keys/{id}/regenerate"),
            &api.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(again.status, 409);
}

#[tokio::test]
async fn permission_matrix() {
    let api = Api::new("api-keys-perm").await;
    let tenant = api.create_tenant("Acme").await;
    let all = [
        "read:webhooks",
        "write:webhooks",
        "delete:webhooks",
        "read:logs",
        "write:events",
        "send:messages",
        "read:events",
        "read:contacts",
        "export:contacts",
    ];
    for granted in all {
        let key = create_key(
            &api,
            &tenant,
            json!({"name": granted, "permissions": [granted]}),
        )
        .await;
        let key = key.body["key"].as_str().unwrap().to_string();
        for wanted in all {
            let (status, _) = probe_as(&api, &key, wanted, [127, 0, 0, 1]).await;
            let expected = if wanted == granted { 200 } else { 403 };
            assert_eq!(status, expected, "key with {granted} asking for {wanted}");
        }
    }
    let star = create_key(&api, &tenant, json!({"name": "all", "permissions": ["*"]})).await;
    let star = star.body["key"].as_str().unwrap().to_string();
    for wanted in all {
        assert_eq!(probe_as(&api, &star, wanted, [127, 0, 0, 1]).await.0, 200);
    }
    // Keys never manage keys, whatever their permissions.
    let r = api
        .call(
            "POST",
            "/api/v1/api-keys",
            &star,
            Some(json!({"name": "x", "permissions": ["*"]})),
        )
        .await;
    assert_eq!(r.status, 403);
    let bad = create_key(&api, &tenant, json!({"name": "x", "permissions": ["read:everything"], "rateLimitPerMinute": 0, "expiresAt": "yesterday"})).await;
    assert_eq!(bad.status, 422);
    let fields: Vec<&str> = bad.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["permissions[0]", "expiresAt", "rateLimitPerMinute"]
    );
}

#[tokio::test]
async fn expired_keys_and_ip_allow_lists() {
    let api = Api::new("api-keys-exp").await;
    let tenant = api.create_tenant("Acme").await;
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let expiring = create_key(
        &api,
        &tenant,
        json!({"name": "temp", "permissions": ["*"], "expiresAt": soon}),
    )
    .await;
    assert_eq!(expiring.status, 201, "{}", expiring.body);
    let expiring = expiring.body["key"].as_str().unwrap().to_string();
    assert_eq!(
        probe_as(&api, &expiring, "read:webhooks", [127, 0, 0, 1])
            .await
            .0,
        200
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (status, body) = probe_as(&api, &expiring, "read:webhooks", [127, 0, 0, 1]).await;
    assert_eq!(status, 401);
    assert!(body.contains("expired"), "{body}");

    let past = create_key(
        &api,
        &tenant,
        json!({"name": "old", "permissions": ["*"], "expiresAt": "2020-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(past.status, 422);

    let fenced = create_key(&api, &tenant, json!({"name": "office", "permissions": ["*"], "allowedIps": ["203.0.113.0/24", "2001:db8::1"]})).await;
    assert_eq!(fenced.status, 201, "{}", fenced.body);
    assert_eq!(
        fenced.body["allowedIps"],
        json!(["203.0.113.0/24", "2001:db8::1/128"])
    );
    let fenced = fenced.body["key"].as_str().unwrap().to_string();
    assert_eq!(
        probe_as(&api, &fenced, "read:webhooks", [203, 0, 113, 9])
            .await
            .0,
        200
    );
    let (status, body) = probe_as(&api, &fenced, "read:webhooks", [198, 51, 100, 1]).await;
    assert_eq!(status, 403);
    assert!(body.contains("not allowed from this address"));
    let bad_cidr = create_key(
        &api,
        &tenant,
        json!({"name": "x", "permissions": ["*"], "allowedIps": ["10.0.0.0/33", "nope"]}),
    )
    .await;
    assert_eq!(bad_cidr.status, 422);

    // In Lambda the address comes from API Gateway's request context, not from headers.
    let mut event: Value = serde_json::from_str(include_str!("../../events/health.json")).unwrap();
    event["rawPath"] = json!("/probe/read:webhooks");
    event["requestContext"]["http"]["path"] = json!("/probe/read:webhooks");
    event["headers"]["authorization"] = json!(format!("Bearer {fenced}"));
    event["headers"]["x-forwarded-for"] = json!("203.0.113.9");
    for (source, expected) in [("203.0.113.77", 200), ("198.51.100.1", 403)] {
        event["requestContext"]["http"]["sourceIp"] = json!(source);
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        let (parts, body) = request.into_parts();
        let request = http::Request::from_parts(parts, Body::from(body.to_vec()));
        let status = probe(api.stack.ctx.clone())
            .oneshot(request)
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), expected, "source {source}");
    }
}

#[tokio::test]
async fn rate_limit_reaches_429_with_retry_after() {
    let api = Api::new("api-keys-rate").await;
    let tenant = api.create_tenant("Acme").await;
    let key = create_key(
        &api,
        &tenant,
        json!({"name": "slow", "permissions": ["*"], "rateLimitPerMinute": 3}),
    )
    .await;
    let key = key.body["key"].as_str().unwrap().to_string();
    // Keep the burst inside one minute window.
    let second = chrono::Utc::now().timestamp() % 60;
    if second > 50 {
        tokio::time::sleep(Duration::from_secs((61 - second) as u64)).await;
    }
    for _ in 0..3 {
        assert_eq!(
            probe_as(&api, &key, "read:webhooks", [127, 0, 0, 1])
                .await
                .0,
            200
        );
    }
    let request = http::Request::get("/probe/read:webhooks")
        .header("authorization", format!("Bearer {key}"))
        .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            5000,
        ))))
        .body(Body::empty())
        .unwrap();
    let response = probe(api.stack.ctx.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    // Another key of the same tenant has its own window.
    let other = create_key(
        &api,
        &tenant,
        json!({"name": "other", "permissions": ["*"]}),
    )
    .await;
    let other = other.body["key"].as_str().unwrap().to_string();
    assert_eq!(
        probe_as(&api, &other, "read:webhooks", [127, 0, 0, 1])
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn tenant_credentials_never_reach_another_tenant() {
    let api = Api::new("api-keys-iso").await;
    let mine = api.create_tenant("Mine").await;
    let theirs = api.create_tenant("Theirs").await;
    let their_key = create_key(
        &api,
        &theirs,
        json!({"name": "theirs", "permissions": ["*"]}),
    )
    .await;
    let their_key_id = their_key.body["id"].as_str().unwrap().to_string();

    let me = api.tenant_admin(&mine);
    // Another tenant's key id is unknown here (404, not 403).
    let r = api
        .call(
            "POST",
            &format!("/api/v1/api-keys/{their_key_id}/regenerate"),
            &me,
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    let r = api
        .call(
            "DELETE",
            &format!("/api/v1/api-keys/{their_key_id}"),
            &me,
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    // X-Tenant-Id means nothing to a tenant admin: still their own tenant.
    let r = api
        .call_as("GET", "/api/v1/api-keys", &me, Some(&theirs), None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 0);
    // A key authenticates as its own tenant only.
    let my_key = create_key(&api, &mine, json!({"name": "mine", "permissions": ["*"]})).await;
    let my_key = my_key.body["key"].as_str().unwrap().to_string();
    assert_eq!(
        probe_as(&api, &my_key, "read:webhooks", [127, 0, 0, 1]).await,
        (200, mine.clone())
    );

    // Platform admins must name a tenant, and an unknown one is 404.
    let r = api.call("GET", "/api/v1/api-keys", &api.admin, None).await;
    assert_eq!(r.status, 400);
    let r = api
        .call_as(
            "GET",
            "/api/v1/api-keys",
            &api.admin,
            Some("ten_01JDQ7Y3ZK5V8X9W2M4N6P8R0T"),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    // A tenant admin token for a deleted tenant stops working.
    api.call(
        "DELETE",
        &format!("/api/platform/tenants/{mine}"),
        &api.admin,
        None,
    )
    .await;
    let r = api.call("GET", "/api/v1/api-keys", &me, None).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        probe_as(&api, &my_key, "read:webhooks", [127, 0, 0, 1])
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn usage_counts_each_day_the_requests_and_every_refusal_without_a_second_write() {
    let api = Api::new("api-keys-usage").await;
    let tenant = api.create_tenant("Acme").await;
    let made = create_key(
        &api,
        &tenant,
        json!({"name": "reader", "permissions": ["read:webhooks"], "rateLimitPerMinute": 2}),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.body["id"].as_str().unwrap().to_string();
    let key = made.body["key"].as_str().unwrap().to_string();
    // Keep the burst inside one minute window.
    let second = chrono::Utc::now().timestamp() % 60;
    if second > 50 {
        tokio::time::sleep(Duration::from_secs((61 - second) as u64)).await;
    }
    let statuses = [
        probe_as(&api, &key, "read:webhooks", [198, 51, 100, 7])
            .await
            .0,
        probe_as(&api, &key, "write:webhooks", [198, 51, 100, 7])
            .await
            .0,
        probe_as(&api, &key, "read:webhooks", [198, 51, 100, 7])
            .await
            .0,
    ];
    assert_eq!(statuses, [200, 403, 429]);
    let revoked = api
        .call_as(
            "DELETE",
            &format!("/api/v1/api-keys/{id}"),
            &api.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert!(revoked.status < 300, "{}", revoked.body);
    assert_eq!(
        probe_as(&api, &key, "read:webhooks", [198, 51, 100, 7])
            .await
            .0,
        401
    );

    let usage = api
        .call_as(
            "GET",
            &format!("/api/v1/api-keys/{id}/usage"),
            &api.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(usage.status, 200, "{}", usage.body);
    let days = usage.body["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(days[29]["date"], today.as_str());
    assert_eq!(
        days[29],
        json!({"date": today, "requests": 3, "refused401": 1, "refused403": 1, "refused429": 1}),
        "the 429 is the third request of a 2-a-minute key"
    );
    assert!(days[..29].iter().all(|d| d["requests"] == 0));
    assert_eq!(usage.body["lastIp"], "198.51.100.7");
    assert!(usage.body["lastUsedAt"].is_string());

    // Counted in the rate window's own item: no item beyond it per request.
    let windows = api
        .stack
        .ctx
        .table
        .query(
            hookhub_shared::store::Query::new(
                hookhub_shared::store::Index::Primary,
                format!("T#{tenant}#RATE"),
            )
            .page(Some(100), None),
        )
        .await
        .unwrap()
        .items;
    assert!(windows.len() <= 2, "one window a minute: {windows:?}");

    // Another tenant's admin cannot read it.
    let other = api.create_tenant("Other").await;
    let theirs = api
        .call_as(
            "GET",
            &format!("/api/v1/api-keys/{id}/usage"),
            &api.admin,
            Some(&other),
            None,
        )
        .await;
    assert_eq!(theirs.status, 404);
}

#[tokio::test]
async fn keys_expire_after_a_year_unless_told_and_go_thirty_days_later() {
    let api = Api::new("api-keys-expiry").await;
    let tenant = api.create_tenant("Acme").await;
    let default = create_key(&api, &tenant, json!({"name": "d", "permissions": ["*"]})).await;
    let expires =
        chrono::DateTime::parse_from_rfc3339(default.body["expiresAt"].as_str().unwrap()).unwrap();
    let in_a_year = chrono::Utc::now() + chrono::Duration::days(365);
    assert!(
        (expires.timestamp() - in_a_year.timestamp()).abs() < 60,
        "{expires}"
    );
    let never = create_key(
        &api,
        &tenant,
        json!({"name": "n", "permissions": ["*"], "expiresAt": null}),
    )
    .await;
    assert_eq!(never.status, 201, "{}", never.body);
    assert!(
        never.body.get("expiresAt").is_none_or(Value::is_null),
        "{}",
        never.body
    );
    // DynamoDB removes an expired key 30 days after it expired, both its record and lookup.
    let id = default.body["id"].as_str().unwrap();
    let item = api
        .stack
        .ctx
        .table
        .get(&hookhub_shared::store::keys::api_key(&tenant, id))
        .await
        .unwrap()
        .unwrap();
    let ttl: i64 = item["ttl"].as_n().unwrap().parse().unwrap();
    assert_eq!(ttl, expires.timestamp() + 30 * 86_400);
    let never_id = never.body["id"].as_str().unwrap();
    let item = api
        .stack
        .ctx
        .table
        .get(&hookhub_shared::store::keys::api_key(&tenant, never_id))
        .await
        .unwrap()
        .unwrap();
    assert!(!item.contains_key("ttl"));
}
