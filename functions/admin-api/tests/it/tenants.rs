use crate::support::Api;
use axum::body::Body;
use serde_json::json;

/// The partition key of every stored item.
async fn stored_partitions(api: &Api) -> Vec<String> {
    let scan = api
        .stack
        .clients
        .dynamodb
        .scan()
        .table_name(&api.stack.stack.table_name)
        .send()
        .await
        .unwrap();
    scan.items()
        .iter()
        .filter_map(|i| i.get("pk").and_then(|v| v.as_s().ok()).cloned())
        .collect()
}

#[tokio::test]
async fn tenant_crud() {
    let api = Api::new("api-tenants").await;
    let created = api
        .call(
            "POST",
            "/api/platform/tenants",
            &api.admin,
            Some(json!({"name": "Acme Ltd", "contactEmail": "ops@acme.test", "metadata": {"plan": "pro"}})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("ten_"));
    assert_eq!(created.body["status"], "active");

    let got = api
        .call(
            "GET",
            &format!("/api/platform/tenants/{id}"),
            &api.admin,
            None,
        )
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["name"], "Acme Ltd");
    assert_eq!(got.body["metadata"]["plan"], "pro");

    let patched = api
        .call(
            "PATCH",
            &format!("/api/platform/tenants/{id}"),
            &api.admin,
            Some(json!({"status": "suspended", "name": "Acme Group"})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["status"], "suspended");
    assert_eq!(
        patched.body["contactEmail"], "ops@acme.test",
        "untouched fields kept"
    );

    let second = api.create_tenant("Beta").await;
    let listed = api
        .call("GET", "/api/platform/tenants?limit=1", &api.admin, None)
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["hasMore"], true);
    assert_eq!(listed.body["data"][0]["id"], second, "newest first");
    let cursor = listed.body["nextCursor"].as_str().unwrap();
    let rest = api
        .call(
            "GET",
            &format!("/api/platform/tenants?limit=1&cursor={cursor}"),
            &api.admin,
            None,
        )
        .await;
    assert_eq!(rest.body["data"][0]["id"], id);

    let deleted = api
        .call(
            "DELETE",
            &format!("/api/platform/tenants/{id}"),
            &api.admin,
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    let gone = api
        .call(
            "GET",
            &format!("/api/platform/tenants/{id}"),
            &api.admin,
            None,
        )
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body["error"]["code"], "not_found");
}

#[tokio::test]
async fn deleting_a_tenant_removes_every_item_it_owns() {
    let api = Api::new("api-tenant-del").await;
    let doomed = api.create_tenant("Doomed").await;
    let kept = api.create_tenant("Kept").await;
    for tenant in [&doomed, &kept] {
        let r = api
            .call(
                "PUT",
                &format!("/api/platform/tenants/{tenant}/integrations/whatsapp"),
                &api.admin,
                Some(json!({"phoneNumberId": "106540352242922", "accessToken": "EAATestAccessToken123456789"})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let k = api
            .call_as(
                "POST",
                "/api/v1/api-keys",
                &api.admin,
                Some(tenant),
                Some(json!({"name": "k", "permissions": ["*"]})),
            )
            .await;
        assert_eq!(k.status, 201, "{}", k.body);
    }
    let r = api
        .call(
            "DELETE",
            &format!("/api/platform/tenants/{doomed}"),
            &api.admin,
            None,
        )
        .await;
    assert_eq!(r.status, 204);

    let pks = stored_partitions(&api).await;
    assert!(pks.iter().all(|pk| !pk.contains(&doomed)), "{pks:?}");
    assert!(pks.iter().any(|pk| pk.contains(&kept)));
    // The tenant list index no longer names it either.
    let listed = api
        .call("GET", "/api/platform/tenants", &api.admin, None)
        .await;
    let ids: Vec<&str> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [kept.as_str()]);
}

#[tokio::test]
async fn bad_input_is_refused_with_the_right_status() {
    let api = Api::new("api-bad-input").await;

    let malformed = api
        .send(
            Api::request(
                "POST",
                "/api/platform/tenants",
                Some(&api.admin),
                Some(&json!({})),
            )
            .body(Body::from("{\"name\": "))
            .unwrap(),
        )
        .await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.body["error"]["code"], "malformed_json");

    let not_object = api
        .send(
            Api::request(
                "POST",
                "/api/platform/tenants",
                Some(&api.admin),
                Some(&json!({})),
            )
            .body(Body::from("[1,2,3]"))
            .unwrap(),
        )
        .await;
    assert_eq!(not_object.status, 400);

    let wrong_type = api
        .send(
            http::Request::post("/api/platform/tenants")
                .header("authorization", format!("Bearer {}", api.admin))
                .header("content-type", "text/plain")
                .body(Body::from("name=x"))
                .unwrap(),
        )
        .await;
    assert_eq!(wrong_type.status, 415);

    let invalid = api
        .call(
            "POST",
            "/api/platform/tenants",
            &api.admin,
            Some(json!({"name": 42, "status": "weird", "contactEmail": "nope", "metadata": [], "colour": "red"})),
        )
        .await;
    assert_eq!(invalid.status, 422, "{}", invalid.body);
    assert_eq!(invalid.body["error"]["code"], "validation_failed");
    let fields: Vec<&str> = invalid.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    for f in ["name", "status", "contactEmail", "metadata", "colour"] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }

    let huge = json!({"name": "x".repeat(admin_api::MAX_BODY_BYTES)});
    let too_large = api
        .call("POST", "/api/platform/tenants", &api.admin, Some(huge))
        .await;
    assert_eq!(too_large.status, 413);
    assert_eq!(too_large.body["error"]["code"], "payload_too_large");

    let bad_limit = api
        .call("GET", "/api/platform/tenants?limit=5000", &api.admin, None)
        .await;
    assert_eq!(bad_limit.status, 400);
    let bad_cursor = api
        .call(
            "GET",
            "/api/platform/tenants?cursor=garbage",
            &api.admin,
            None,
        )
        .await;
    assert_eq!(bad_cursor.status, 400);
    assert_eq!(bad_cursor.body["error"]["code"], "invalid_cursor");

    let unknown = api
        .call(
            "GET",
            "/api/platform/tenants/ten_01JDQ7Y3ZK5V8X9W2M4N6P8R0T",
            &api.admin,
            None,
        )
        .await;
    assert_eq!(unknown.status, 404);
    let garbage_id = api
        .call(
            "GET",
            "/api/platform/tenants/..%2F..%2Fetc",
            &api.admin,
            None,
        )
        .await;
    assert_eq!(garbage_id.status, 404);

    // Nothing stored was touched by any of the above.
    let listed = api
        .call("GET", "/api/platform/tenants", &api.admin, None)
        .await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn authentication_and_roles() {
    let api = Api::new("api-authn").await;
    let tenant = api.create_tenant("Acme").await;
    let none = api
        .send(
            Api::request("GET", "/api/platform/tenants", None, None)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(none.status, 401);
    let garbage = api
        .call("GET", "/api/platform/tenants", "not-a-token", None)
        .await;
    assert_eq!(garbage.status, 401);
    let expired = hookhub_shared::auth::mint_for(
        api.stack.ctx.config.jwt_secret().unwrap(),
        "root",
        hookhub_shared::auth::Role::PlatformAdmin,
        None,
        -1,
    );
    let r = api
        .call("GET", "/api/platform/tenants", &expired, None)
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"]["code"], "token_expired");
    let forged = hookhub_shared::auth::mint_for(
        "some-other-secret-some-other-secret",
        "root",
        hookhub_shared::auth::Role::PlatformAdmin,
        None,
        1,
    );
    assert_eq!(
        api.call("GET", "/api/platform/tenants", &forged, None)
            .await
            .status,
        401
    );

    let tenant_admin = api.tenant_admin(&tenant);
    let r = api
        .call("GET", "/api/platform/tenants", &tenant_admin, None)
        .await;
    assert_eq!(
        r.status, 403,
        "tenant admins cannot administer the platform"
    );
    let r = api
        .call(
            "GET",
            &format!("/api/platform/tenants/{tenant}/integrations"),
            &tenant_admin,
            None,
        )
        .await;
    assert_eq!(r.status, 403);
}

/// Publishing finds the tenant in the same read as its subscriptions: an unknown or
/// malformed X-Tenant-Id is 404 with or without an Idempotency-Key, and nothing is stored.
#[tokio::test]
async fn publishing_to_an_unknown_tenant_is_not_found() {
    let api = Api::new("api-publish-tenant").await;
    let known = api.create_tenant("Known").await;
    let event = json!({"type": "contact.created", "data": {"id": "c1"}});
    for tenant in [
        "ten_01JDQ7Y3ZK5V8X9W2M4N6P8R0T",
        "not-a-tenant",
        known.as_str(),
    ] {
        for idempotency in [None, Some("same-key-1")] {
            let mut request =
                Api::request("POST", "/api/v1/events", Some(&api.admin), Some(&event))
                    .header("x-tenant-id", tenant);
            if let Some(key) = idempotency {
                request = request.header("idempotency-key", key);
            }
            let reply = api
                .send(
                    request
                        .body(axum::body::Body::from(event.to_string()))
                        .unwrap(),
                )
                .await;
            if tenant == known {
                assert_eq!(reply.status, 202, "{}", reply.body);
                assert_eq!(reply.body["deliveries"], 0);
            } else {
                assert_eq!(reply.status, 404, "{tenant}: {}", reply.body);
                assert_eq!(reply.body["error"]["code"], "not_found");
            }
        }
    }
    let pks = stored_partitions(&api).await;
    assert!(
        pks.iter().all(
            |pk| !pk.contains("ten_01JDQ7Y3ZK5V8X9W2M4N6P8R0T") && !pk.contains("not-a-tenant")
        ),
        "{pks:?}"
    );
}
