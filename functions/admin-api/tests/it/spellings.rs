//! Requests written as other products' documents write them either work (aliases with the
//! same meaning) or are refused with a 4xx naming hookhub's spelling; nothing is silently
//! ignored.

use crate::support::Api;
use serde_json::json;

#[tokio::test]
async fn unknown_query_parameters_are_refused_by_name_with_what_the_route_takes() {
    let api = Api::new("api-spellings-query").await;
    let tenant = api.create_tenant("Spelling").await;
    let admin = api.tenant_admin(&tenant);
    for (path, unknown, named) in [
        ("/api/v1/meta/events?offset=20", "offset", "cursor"),
        ("/api/v1/webhooks?activeOnly=true", "activeOnly", "limit"),
        (
            "/api/v1/events?eventType=contact.created",
            "eventType",
            "type",
        ),
        ("/api/health?verbose=1", "verbose", "no query parameters"),
    ] {
        let r = api.call("GET", path, &admin, None).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "unknown_query_parameter");
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(unknown) && message.contains(named),
            "{message}"
        );
    }
    // Documented parameters, object keys and aliases pass.
    for path in [
        "/api/v1/contacts?customField[drink]=latte&limit=5",
        "/api/v1/webhooks?limit=5",
        "/api/v1/events?type=contact.*",
    ] {
        let r = api.call("GET", path, &admin, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
}

#[tokio::test]
async fn other_spellings_with_the_same_meaning_are_read_as_hookhubs() {
    let api = Api::new("api-spellings-alias").await;
    let tenant = api.create_tenant("Aliases").await;
    let admin = api.tenant_admin(&tenant);

    // `active` for isActive, `message.new` for message.received.
    let created = api
        .call(
            "POST",
            "/api/v1/webhooks",
            &admin,
            Some(json!({"name": "crm", "url": "https://example.com/crm", "events": ["message.new"], "active": false})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["isActive"], false);
    assert_eq!(created.body["events"], json!(["message.received"]));
    let id = created.body["id"].as_str().unwrap().to_string();
    let both = api
        .call(
            "PATCH",
            &format!("/api/v1/webhooks/{id}"),
            &admin,
            Some(json!({"active": true, "isActive": false})),
        )
        .await;
    assert_eq!(both.status, 422, "{}", both.body);
    assert!(both
        .body
        .to_string()
        .contains("another spelling of isActive"));
    let published = api
        .call(
            "POST",
            "/api/v1/events",
            &admin,
            Some(json!({"type": "message.new", "data": {"text": "hi"}})),
        )
        .await;
    assert_eq!(published.status, 202, "{}", published.body);
    let event = published.body["id"].as_str().unwrap();
    let read = api
        .call("GET", &format!("/api/v1/events/{event}"), &admin, None)
        .await;
    assert_eq!(read.body["type"], "message.received");

    // `webhook_id` for webhookId: it filters (an unknown endpoint is 404, not everything).
    let r = api
        .call(
            "GET",
            "/api/v1/webhooks/logs?webhook_id=wh_01JDQ7Y3ZK5V8X9W2M4N6P8R0T",
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = api
        .call(
            "GET",
            &format!("/api/v1/webhooks/logs?webhook_id={id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api
        .call(
            "GET",
            &format!(
                "/api/v1/webhooks/logs?webhook_id={id}&webhookId=wh_01JDQ7Y3ZK5V8X9W2M4N6P8R0T"
            ),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);

    // An SNS sender ID given as phoneNumber is the sender ID; a number stays a number.
    let sms = format!("/api/platform/tenants/{tenant}/integrations/sms");
    let r = api
        .call(
            "PUT",
            &sms,
            &api.admin,
            Some(json!({"enabled": true, "provider": "sns", "region": "us-east-1", "phoneNumber": "ACME"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["senderId"], "ACME");
    assert!(
        r.body.get("phoneNumber").is_none_or(|v| v.is_null()),
        "{}",
        r.body
    );
    let r = api
        .call(
            "PUT",
            &sms,
            &api.admin,
            Some(json!({"phoneNumber": "+15551234567"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["phoneNumber"], "+15551234567");
    assert_eq!(r.body["senderId"], "ACME");
}
