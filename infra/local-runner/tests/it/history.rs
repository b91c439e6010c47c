//! What was sent, read back: published events with where each delivery stands, an
//! attempt's request and response exactly as the receiver saw them, an endpoint's recent
//! deliveries, and none of it across tenants.

use std::time::Duration;

use hookhub_shared::signing::standard_webhooks::{self, SigningSecret};
use hookhub_shared::store::{item_size, keys, Key};
use serde_json::{json, Value};

use crate::support::{Behaviour, Receiver, Stack};

const WAIT: Duration = Duration::from_secs(30);

/// `GET /api/v1/events/{id}` once it shows `deliveries` deliveries, none still retrying.
async fn settled_event(stack: &Stack, tenant: &str, event_id: &str, deliveries: usize) -> Value {
    let path = format!("/api/v1/events/{event_id}");
    stack
        .eventually(WAIT, || async {
            let (s, e) = stack
                .call("GET", &path, &stack.admin, Some(tenant), None)
                .await;
            s == 200
                && e["deliveries"].as_array().is_some_and(|d| {
                    d.len() == deliveries && d.iter().all(|d| d["status"] != "retrying")
                })
        })
        .await;
    stack
        .call("GET", &path, &stack.admin, Some(tenant), None)
        .await
        .1
}

fn delivery_to<'a>(event: &'a Value, endpoint: &str) -> &'a Value {
    event["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["webhookId"] == endpoint)
        .unwrap_or_else(|| panic!("no delivery to {endpoint}: {event}"))
}

#[tokio::test]
async fn a_published_event_reads_back_with_its_deliveries_and_the_exact_requests() {
    let stack = Stack::start("e2e-history").await;
    let tenant = stack.tenant().await;
    let ok = Receiver::start(Behaviour::Ok).await;
    let flaky = Receiver::start(Behaviour::FailFirst(1)).await;
    let down = Receiver::start(Behaviour::AlwaysFail).await;
    let (to_ok, secret) = stack
        .endpoint(&tenant, &ok.url, json!({"headers": {"x-team": "billing"}}))
        .await;
    let (to_flaky, _) = stack
        .endpoint(
            &tenant,
            &flaky.url,
            json!({"retryAttempts": 1, "retryDelay": 1}),
        )
        .await;
    let (to_down, _) = stack
        .endpoint(&tenant, &down.url, json!({"retryAttempts": 0}))
        .await;

    // 1.0 and 2.50 are what a DynamoDB map would rewrite (as 1 and 2.5): the body shown
    // must still be the bytes that were signed and sent.
    let data =
        json!({"message": {"id": "wamid.1", "text": "hi", "score": 1.0, "ratios": [2.5, 3]}});
    let published = stack
        .publish(&tenant, "message.received", data.clone())
        .await;
    let event_id = published["id"].as_str().unwrap().to_string();
    assert_eq!(published["deliveries"], 3);

    let event = settled_event(&stack, &tenant, &event_id, 3).await;
    assert_eq!(event["type"], "message.received");
    assert_eq!(event["source"], "api");
    assert_eq!(event["data"], data);
    let (ok_delivery, flaky_delivery, down_delivery) = (
        delivery_to(&event, &to_ok),
        delivery_to(&event, &to_flaky),
        delivery_to(&event, &to_down),
    );
    assert_eq!(ok_delivery["status"], "success");
    assert_eq!(ok_delivery["attempts"], 1);
    assert_eq!(flaky_delivery["status"], "success", "{flaky_delivery}");
    assert_eq!(flaky_delivery["attempts"], 2, "failed once, then retried");
    assert_eq!(down_delivery["status"], "failed");
    assert_eq!(down_delivery["lastAttempt"]["statusCode"], 503);
    assert_eq!(
        down_delivery["lastAttempt"]["error"],
        "receiver answered 503"
    );

    // The attempt's request is what the receiver got: the same bytes, the same signed
    // headers, and the signature verifies over the body shown.
    let log_id = ok_delivery["lastAttempt"]["logId"].as_str().unwrap();
    let (s, attempt) = stack
        .call(
            "GET",
            &format!("/api/v1/webhooks/logs/{log_id}"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(s, 200, "{attempt}");
    let got = &ok.all()[0];
    let sent_body = attempt["request"]["body"].as_str().unwrap();
    assert_eq!(sent_body.as_bytes(), &got.body[..]);
    assert!(sent_body.contains("\"score\":1.0"), "{sent_body}");
    for name in [
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "x-webhook-signature",
        "x-webhook-event",
        "content-type",
    ] {
        assert_eq!(
            attempt["request"]["headers"][name].as_str().unwrap(),
            got.headers[name].to_str().unwrap(),
            "{name}"
        );
    }
    assert_eq!(
        attempt["request"]["headers"]["x-team"], "***",
        "the endpoint's own headers are shown masked"
    );
    let header = |name: &str| attempt["request"]["headers"][name].as_str();
    standard_webhooks::verify(
        &SigningSecret::parse(&secret).unwrap(),
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
        sent_body.as_bytes(),
        chrono::Utc::now().timestamp(),
    )
    .expect("the logged signature verifies over the logged body");
    assert_eq!(attempt["request"]["method"], "POST");
    assert_eq!(attempt["request"]["url"], ok.url);
    assert_eq!(attempt["response"]["statusCode"], 200);
    assert_eq!(attempt["response"]["body"], "ok");
    assert!(attempt["response"]["headers"]["content-type"].is_string());
    assert_eq!(attempt["eventId"], event_id);

    // What the cost model says a successful attempt costs: its log item, headers and all,
    // within one write unit, and its summary in the attempts-by-event index another.
    let item = stack
        .stack
        .ctx
        .table
        .get(&Key {
            pk: keys::endpoint_partition(&tenant, &to_ok),
            sk: format!("ATTEMPT#{log_id}"),
        })
        .await
        .unwrap()
        .expect("the attempt's item");
    let size = item_size(&item);
    assert!(size <= 1024, "a successful attempt's item is {size} bytes");

    // The failed attempt shows what the receiver answered.
    let failed_log = down_delivery["lastAttempt"]["logId"].as_str().unwrap();
    let (_, failed) = stack
        .call(
            "GET",
            &format!("/api/v1/webhooks/logs/{failed_log}"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(failed["response"]["statusCode"], 503);
    assert_eq!(failed["response"]["body"], "down");
    assert_eq!(failed["request"]["body"], sent_body, "one event, one body");

    // The endpoint's recent deliveries, newest first.
    let (s, detail) = stack
        .call(
            "GET",
            &format!("/api/v1/webhooks/{to_flaky}?include=recentDeliveries"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(s, 200, "{detail}");
    let recent = detail["recentDeliveries"].as_array().unwrap();
    assert_eq!(recent.len(), 2);
    assert_eq!(recent[0]["status"], "success");
    assert_eq!(recent[1]["status"], "failed");
    let (s, _) = stack
        .call(
            "GET",
            &format!("/api/v1/webhooks/{to_flaky}?include=everything"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn events_are_listed_newest_first_with_filters_and_only_to_their_tenant() {
    let stack = Stack::start("e2e-events").await;
    let tenant = stack.tenant().await;
    let other = stack.tenant().await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    stack.endpoint(&tenant, &receiver.url, json!({})).await;
    let before = chrono::Utc::now();
    let first = stack
        .publish(&tenant, "message.received", json!({"n": 1}))
        .await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = stack
        .publish(&tenant, "message.sent", json!({"n": 2}))
        .await;
    let third = stack
        .publish(&tenant, "contact.created", json!({"n": 3}))
        .await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_string();

    let list = |query: String| {
        let stack = &stack;
        let tenant = tenant.clone();
        async move {
            let (s, page) = stack
                .call(
                    "GET",
                    &format!("/api/v1/events{query}"),
                    &stack.admin,
                    Some(&tenant),
                    None,
                )
                .await;
            assert_eq!(s, 200, "{query}: {page}");
            let ids: Vec<String> = page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_string())
                .collect();
            (ids, page["nextCursor"].clone())
        }
    };
    let (all, _) = list(String::new()).await;
    assert_eq!(all, [id(&third), id(&second), id(&first)], "newest first");
    let (messages, _) = list("?type=message.*".into()).await;
    assert_eq!(messages, [id(&second), id(&first)]);
    let (sent, _) = list("?type=message.sent".into()).await;
    assert_eq!(sent, [id(&second)]);
    let (from_api, _) = list("?source=api".into()).await;
    assert_eq!(from_api.len(), 3);
    let (from_meta, _) = list("?source=meta".into()).await;
    assert!(from_meta.is_empty());
    let (from_hookhub, _) = list("?source=hookhub".into()).await;
    assert!(from_hookhub.is_empty());
    let window = format!(
        "?from={}&to={}",
        hookhub_shared::time::rfc3339(before),
        hookhub_shared::time::rfc3339(between)
    );
    let (early, _) = list(window.replace('+', "%2B")).await;
    assert_eq!(early, [id(&first)]);

    // Pages of one, newest first, until the end.
    let (page1, next) = list("?limit=1".into()).await;
    assert_eq!(page1, [id(&third)]);
    let (page2, next) = list(format!("?limit=1&cursor={}", next.as_str().unwrap())).await;
    assert_eq!(page2, [id(&second)]);
    let (page3, _) = list(format!("?limit=1&cursor={}", next.as_str().unwrap())).await;
    assert_eq!(page3, [id(&first)]);

    for bad in [
        "?type=nope",
        "?type=mess*",
        "?from=yesterday",
        "?limit=0",
        "?source=contacts",
    ] {
        let (s, e) = stack
            .call(
                "GET",
                &format!("/api/v1/events{bad}"),
                &stack.admin,
                Some(&tenant),
                None,
            )
            .await;
        assert_eq!(s, 400, "{bad}: {e}");
    }

    // An event hookhub made (a contact change, say) reads back as hookhub's.
    let own = stack
        .stack
        .ctx
        .events()
        .publish(
            &tenant,
            "contact.updated",
            json!({"n": 4}),
            None,
            "contacts",
        )
        .await
        .unwrap();
    let (from_hookhub, _) = list("?source=hookhub".into()).await;
    assert_eq!(from_hookhub, std::slice::from_ref(&own.event_id));
    let (_, read) = stack
        .call(
            "GET",
            &format!("/api/v1/events/{}", own.event_id),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(read["source"], "hookhub");

    // Another tenant sees none of it: not the list, not the event, not its attempts.
    let event = settled_event(&stack, &tenant, &id(&first), 1).await;
    let log_id = event["deliveries"][0]["lastAttempt"]["logId"]
        .as_str()
        .unwrap()
        .to_string();
    let other_admin = hookhub_shared::auth::mint_for(
        stack.stack.ctx.config.jwt_secret().unwrap(),
        "mallory",
        hookhub_shared::auth::Role::TenantAdmin,
        Some(&other),
        1,
    );
    let (s, page) = stack
        .call("GET", "/api/v1/events", &other_admin, None, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(page["data"], json!([]));
    for path in [
        format!("/api/v1/events/{}", id(&first)),
        format!("/api/v1/webhooks/logs/{log_id}"),
        "/api/v1/events/evt_nope".to_string(),
        "/api/v1/webhooks/logs/del_nope".to_string(),
    ] {
        let (s, e) = stack.call("GET", &path, &other_admin, None, None).await;
        assert_eq!(s, 404, "{path}: {e}");
        let (s, _) = stack
            .call("GET", &path, &stack.admin, Some(&other), None)
            .await;
        assert_eq!(s, 404, "{path} with X-Tenant-Id of the other tenant");
    }
}
