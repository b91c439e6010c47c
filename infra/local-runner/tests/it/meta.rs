//! Meta webhooks end to end through the local runner: a signed POST to the ingress is
//! stored, processed by the worker, fanned out to a subscribed endpoint and an n8n
//! workflow (real local receivers), its sender captured as a contact, and WhatsApp
//! statuses applied to a message hookhub sent.

use std::time::Duration;

use crate::support::{Behaviour, Receiver, Stack};
use hookhub_shared::messages::{Content, OutboundMessage};
use hookhub_shared::meta::ProcessingStatus;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);
const WA_SECRET: &str = "wa-app-secret-0123456789abcdef";

async fn post_signed(stack: &Stack, tenant: &str, body: &Value) -> (u16, Value) {
    stack.post_meta(tenant, WA_SECRET, body).await
}

fn whatsapp(key: &str, items: Value) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
        key: items
    }}]}]})
}

#[tokio::test]
async fn a_received_message_reaches_a_subscribed_endpoint_and_workflow_and_its_contact_is_captured()
{
    let stack = Stack::start("e2e-meta").await;
    let tenant = stack.tenant().await;
    stack.configure_whatsapp(&tenant, WA_SECRET).await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    let (_, secret) = stack
        .endpoint(&tenant, &receiver.url, json!({"events": ["message.*"]}))
        .await;
    let workflow = Receiver::start(Behaviour::Ok).await;
    let (s, reply) = stack
        .call(
            "POST",
            &format!("/api/platform/tenants/{tenant}/webhooks"),
            &stack.admin,
            None,
            Some(json!({"workflowName": "inbound_whatsapp", "webhookUrl": workflow.url, "events": ["message.received"]})),
        )
        .await;
    assert_eq!(s, 201, "{reply}");
    let uninterested = Receiver::start(Behaviour::Ok).await;
    stack
        .endpoint(
            &tenant,
            &uninterested.url,
            json!({"events": ["comment.created"]}),
        )
        .await;

    let body = whatsapp(
        "messages",
        json!([{"from": "16505551234", "id": "wamid.E2E1", "timestamp": "1763800000", "type": "text",
                "text": {"body": "Do you deliver on Sundays?"}}]),
    );
    let (status, reply) = post_signed(&stack, &tenant, &body).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["stored"], 1);
    stack
        .eventually(WAIT, || async {
            receiver.count() >= 1 && workflow.count() >= 1
        })
        .await;

    let got = &receiver.all()[0];
    let delivered: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(delivered["event"], "message.received");
    assert_eq!(delivered["tenantId"], tenant.as_str());
    assert_eq!(delivered["data"]["message"]["id"], "wamid.E2E1");
    assert_eq!(
        delivered["data"]["message"]["text"],
        "Do you deliver on Sundays?"
    );
    assert_eq!(delivered["data"]["contact"]["name"], "Sheena Nelson");
    let wh = standardwebhooks::Webhook::new(&secret).unwrap();
    wh.verify(&got.body, &got.headers)
        .expect("signed like any other delivery");
    let to_workflow: Value = serde_json::from_slice(&workflow.all()[0].body).unwrap();
    assert_eq!(
        to_workflow["id"], delivered["id"],
        "one hookhub event, two deliveries"
    );

    let store = stack.stack.ctx.meta_events();
    stack
        .eventually(WAIT, || async {
            store
                .get_by_natural_id(&tenant, "wa:wamid.E2E1")
                .await
                .unwrap()
                .is_some_and(|e| e.status == ProcessingStatus::Processed)
        })
        .await;
    let event = store
        .get_by_natural_id(&tenant, "wa:wamid.E2E1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.hookhub_event_id.as_deref(), delivered["id"].as_str());
    assert_eq!(event.deliveries, Some(2));
    assert!(event.latency_ms.is_some());

    let contact = stack
        .stack
        .ctx
        .contacts()
        .get_by_key(&tenant, "whatsapp", "16505551234")
        .await
        .unwrap()
        .expect("the sender is captured");
    assert_eq!(contact.name.as_deref(), Some("Sheena Nelson"));
    assert!(contact.id.starts_with("con_"));
    assert_eq!(contact.phone.as_deref(), Some("+16505551234"));
    assert_eq!(contact.messages, 1);
    assert!(contact.opted_in);

    // Meta sends it again: stored once, delivered once.
    let (status, reply) = post_signed(&stack, &tenant, &body).await;
    assert_eq!(status, 200);
    assert_eq!(reply["duplicates"], 1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.count(), 1);
    assert_eq!(uninterested.count(), 0);
}

#[tokio::test]
async fn whatsapp_statuses_move_a_sent_message_forward_only() {
    let stack = Stack::start("e2e-meta-status").await;
    let tenant = stack.tenant().await;
    stack.configure_whatsapp(&tenant, WA_SECRET).await;
    let messages = stack.stack.ctx.messages();
    let mut sent = OutboundMessage::queued(
        &tenant,
        "whatsapp",
        "whatsapp",
        "+16505551234",
        Content::Text {
            text: "Your order shipped".into(),
        },
    );
    sent.provider_message_id = Some("wamid.OUTBOUND1".into());
    sent.status = "sent".into();
    sent.status_rank = 10;
    messages.record(&sent).await.unwrap();
    let status = |state: &str| {
        whatsapp(
            "statuses",
            json!([{"id": "wamid.OUTBOUND1", "status": state, "timestamp": "1763800001", "recipient_id": "16505551234"}]),
        )
    };
    assert_eq!(
        post_signed(&stack, &tenant, &status("delivered")).await.0,
        200
    );
    stack
        .eventually(WAIT, || async {
            messages.get(&tenant, &sent.id).await.unwrap().status == "delivered"
        })
        .await;
    // A late "sent" does not move it back.
    assert_eq!(post_signed(&stack, &tenant, &status("sent")).await.0, 200);
    let store = stack.stack.ctx.meta_events();
    stack
        .eventually(WAIT, || async {
            store
                .get_by_natural_id(&tenant, "wa:wamid.OUTBOUND1:sent")
                .await
                .unwrap()
                .is_some_and(|e| e.status == ProcessingStatus::Processed)
        })
        .await;
    assert_eq!(
        messages.get(&tenant, &sent.id).await.unwrap().status,
        "delivered"
    );
    assert_eq!(post_signed(&stack, &tenant, &status("read")).await.0, 200);
    stack
        .eventually(WAIT, || async {
            messages.get(&tenant, &sent.id).await.unwrap().status == "read"
        })
        .await;

    // Another tenant's status for the same provider id touches nothing of this tenant's.
    let other = stack.tenant().await;
    stack.configure_whatsapp(&other, WA_SECRET).await;
    let other_failed = whatsapp(
        "statuses",
        json!([{"id": "wamid.OUTBOUND1", "status": "failed", "timestamp": "1763800009", "recipient_id": "1",
                "errors": [{"code": 131026, "title": "Message undeliverable"}]}]),
    );
    assert_eq!(post_signed(&stack, &other, &other_failed).await.0, 200);
    stack
        .eventually(WAIT, || async {
            store
                .get_by_natural_id(&other, "wa:wamid.OUTBOUND1:failed")
                .await
                .unwrap()
                .is_some_and(|e| e.status == ProcessingStatus::Processed)
        })
        .await;
    assert_eq!(
        messages.get(&tenant, &sent.id).await.unwrap().status,
        "read"
    );
}

async fn configure_instagram(stack: &Stack, tenant: &str) {
    let (s, reply) = stack
        .call(
            "PUT",
            &format!("/api/platform/tenants/{tenant}/integrations/instagram"),
            &stack.admin,
            None,
            Some(json!({"enabled": true, "accountId": "17841400008460056", "appId": "1234567890",
                        "appSecret": "ig-app-secret-fedcba9876543210", "accessToken": "IGQVJTestAccessToken1234567",
                        "webhookVerifyToken": "verify-ig"})),
        )
        .await;
    assert_eq!(s, 200, "{reply}");
}

#[tokio::test]
async fn test_suites_run_every_kind_through_the_ingress_and_the_read_side_reports_them() {
    let stack = Stack::start("e2e-meta-read").await;
    let tenant = stack.tenant().await;
    stack.configure_whatsapp(&tenant, WA_SECRET).await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    stack.endpoint(&tenant, &receiver.url, json!({})).await;
    let admin = |path: &str| format!("/api/v1/meta{path}");

    let (s, reply) = stack
        .call(
            "POST",
            &admin("/test-suites"),
            &stack.admin,
            Some(&tenant),
            Some(json!({"accountId": "17841400008460056"})),
        )
        .await;
    assert_eq!(s, 422, "{reply}");
    assert_eq!(reply["error"]["details"].as_array().unwrap().len(), 2);
    let (s, suite) = stack
        .call(
            "POST",
            &admin("/test-suites"),
            &stack.admin,
            Some(&tenant),
            Some(json!({"accountId": "17841400008460056", "senderId": "16505551234", "senderUsername": "sheena.nelson"})),
        )
        .await;
    assert_eq!(s, 201, "{suite}");
    let suite_id = suite["id"].as_str().unwrap().to_string();
    let cases = suite["cases"].as_array().unwrap().len();
    assert!(cases >= 17, "one case per kind: {suite}");

    // Instagram is not configured yet: its cases are skipped with the reason.
    let execute = admin(&format!("/test-suites/{suite_id}/execute"));
    let (s, run) = stack
        .call("POST", &execute, &stack.admin, Some(&tenant), None)
        .await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["failed"], 0, "{run}");
    assert!(run["skipped"].as_u64().unwrap() > 0);
    assert_eq!(
        run["passed"].as_u64().unwrap() + run["skipped"].as_u64().unwrap(),
        cases as u64
    );

    configure_instagram(&stack, &tenant).await;
    let (s, run) = stack
        .call("POST", &execute, &stack.admin, Some(&tenant), None)
        .await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["passed"], cases, "{run}");

    // Everything is processed and fanned out.
    stack
        .eventually(Duration::from_secs(60), || async {
            let (_, page) = stack
                .call(
                    "GET",
                    &admin("/events?status=received&limit=1000"),
                    &stack.admin,
                    Some(&tenant),
                    None,
                )
                .await;
            page["data"].as_array().is_some_and(|d| d.is_empty())
        })
        .await;
    let (s, page) = stack
        .call(
            "GET",
            &admin("/events?limit=1000"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let events = page["data"].as_array().unwrap();
    let stored = events.len();
    assert!(events.iter().all(|e| e["status"] == "processed"), "{page}");
    stack
        .eventually(WAIT, || async { receiver.count() >= stored })
        .await;

    // Filters, pages and one event.
    let (_, comments) = stack
        .call(
            "GET",
            &admin("/events?eventType=comment.created"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(comments["data"].as_array().unwrap().len(), 1);
    assert_eq!(
        comments["data"][0]["data"]["comment"]["from"]["username"],
        "sheena.nelson"
    );
    let (_, first) = stack
        .call(
            "GET",
            &admin("/events?limit=3"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(first["hasMore"], true);
    let cursor = first["nextCursor"].as_str().unwrap();
    let (_, second) = stack
        .call(
            "GET",
            &admin(&format!("/events?limit=3&cursor={cursor}")),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_ne!(first["data"][0]["id"], second["data"][0]["id"]);
    let id = first["data"][0]["id"].as_str().unwrap();
    let (s, one) = stack
        .call(
            "GET",
            &admin(&format!("/events/{id}")),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(one["id"], id);
    assert!(one["raw"].is_object(), "{one}");
    assert!(one.get("tenantId").is_none());
    for bad in [
        "/events?status=done",
        "/events?eventType=nope.nothing",
        "/events?limit=0",
        "/events?cursor=garbage",
    ] {
        let (s, reply) = stack
            .call("GET", &admin(bad), &stack.admin, Some(&tenant), None)
            .await;
        assert_eq!(s, 400, "{bad}: {reply}");
    }

    // Another tenant sees none of it.
    let other = stack.tenant().await;
    let other_admin = hookhub_shared::auth::mint_for(
        stack.stack.ctx.config.jwt_secret().unwrap(),
        "other-admin",
        hookhub_shared::auth::Role::TenantAdmin,
        Some(&other),
        1,
    );
    let (s, _) = stack
        .call(
            "GET",
            &admin(&format!("/events/{id}")),
            &other_admin,
            None,
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = stack.call("POST", &execute, &other_admin, None, None).await;
    assert_eq!(s, 404);
    let (_, empty) = stack
        .call("GET", &admin("/events"), &other_admin, None, None)
        .await;
    assert_eq!(empty["data"].as_array().unwrap().len(), 0);

    // Health and the dashboard.
    let (s, health) = stack
        .call("GET", &admin("/health"), &stack.admin, Some(&tenant), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(health["status"], "healthy", "{health}");
    assert_eq!(health["checks"]["database"]["status"], "ok");
    assert_eq!(health["checks"]["queue"]["status"], "ok");
    assert_eq!(health["checks"]["integrations"]["instagram"]["ready"], true);
    assert!(health["lastEvent"]["id"].is_string());
    assert_eq!(health["processing24h"]["successRate"], 100.0);
    assert!(!health.to_string().contains("app-secret"), "no secrets");
    let (_, other_health) = stack
        .call("GET", &admin("/health"), &other_admin, None, None)
        .await;
    assert_eq!(
        other_health["status"], "degraded",
        "no integration configured"
    );

    // The processor records an event's status before it adds to the counters, so the
    // dashboard may trail the event list by one write.
    let dashboard_url = admin("/monitoring/dashboard");
    stack
        .eventually(WAIT, || async {
            let (_, d) = stack
                .call("GET", &dashboard_url, &stack.admin, Some(&tenant), None)
                .await;
            d["windows"]["24h"]["processed"] == stored
        })
        .await;
    let (s, dashboard) = stack
        .call("GET", &dashboard_url, &stack.admin, Some(&tenant), None)
        .await;
    assert_eq!(s, 200);
    let day = &dashboard["windows"]["24h"];
    assert_eq!(day["received"], stored, "{dashboard}");
    assert_eq!(day["processed"], stored);
    assert_eq!(day["failed"], 0);
    assert_eq!(day["byType"]["comment.created"], 1);
    assert_eq!(
        day["byType"]["message.failed"], 2,
        "one per run that had WhatsApp"
    );
    assert!(day["averageProcessingLatencyMs"].is_number());
    assert_eq!(dashboard["windows"]["1h"]["received"], stored);
    let meta_errors = dashboard["errorAnalysis"]["metaErrors"].as_array().unwrap();
    assert_eq!(meta_errors[0]["code"], "131047");
    assert_eq!(meta_errors[0]["count"], 2);
    assert!(meta_errors[0]["recommendation"]
        .as_str()
        .unwrap()
        .contains("template"));
    assert!(!dashboard["recommendations"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn suites_are_listed_and_read_one_case_runs_alone_and_a_failed_event_is_reprocessed() {
    let stack = Stack::start("e2e-meta-reprocess").await;
    let tenant = stack.tenant().await;
    let other = stack.tenant().await;
    stack.configure_whatsapp(&tenant, WA_SECRET).await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    stack
        .endpoint(
            &tenant,
            &receiver.url,
            json!({"events": ["message.received"]}),
        )
        .await;
    let call = |method: &'static str, path: String, tenant: String| {
        let stack = &stack;
        async move {
            stack
                .call(
                    method,
                    &format!("/api/v1/meta{path}"),
                    &stack.admin,
                    Some(&tenant),
                    None,
                )
                .await
        }
    };
    let (s, suite) = stack
        .call(
            "POST",
            "/api/v1/meta/test-suites",
            &stack.admin,
            Some(&tenant),
            Some(json!({"accountId": "17841400008460056", "senderId": "16505551234", "senderUsername": "sheena.nelson"})),
        )
        .await;
    assert_eq!(s, 201, "{suite}");
    let suite_id = suite["id"].as_str().unwrap().to_string();
    let (s, listed) = call("GET", "/test-suites".into(), tenant.clone()).await;
    assert_eq!(s, 200, "{listed}");
    assert_eq!(listed["data"][0]["id"], suite_id.as_str());
    let (_, theirs) = call("GET", "/test-suites".into(), other.clone()).await;
    assert_eq!(
        theirs["data"],
        json!([]),
        "another tenant's suites are not listed"
    );
    let (s, read) = call("GET", format!("/test-suites/{suite_id}"), tenant.clone()).await;
    assert_eq!(s, 200, "{read}");
    assert!(read["cases"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "whatsapp_text"));
    let (s, _) = call("GET", format!("/test-suites/{suite_id}"), other.clone()).await;
    assert_eq!(s, 404);

    // One case alone.
    let (s, run) = call(
        "POST",
        format!("/test-suites/{suite_id}/cases/whatsapp_text/execute"),
        tenant.clone(),
    )
    .await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["total"], 1, "{run}");
    assert_eq!(run["passed"], 1, "{run}");
    assert_eq!(run["case"], "whatsapp_text");
    let (s, _) = call(
        "POST",
        format!("/test-suites/{suite_id}/cases/no_such_case/execute"),
        tenant.clone(),
    )
    .await;
    assert_eq!(s, 404);
    let (_, read) = call("GET", format!("/test-suites/{suite_id}"), tenant.clone()).await;
    assert_eq!(read["lastRun"]["case"], "whatsapp_text");

    // The case's event is processed and delivered once.
    let event_id = run["results"][0]["metaEventId"]
        .as_str()
        .unwrap()
        .to_string();
    let status_of = |tenant: String| {
        let (call, event_id) = (&call, event_id.clone());
        async move {
            let (_, event) = call("GET", format!("/events/{event_id}"), tenant).await;
            event
        }
    };
    stack
        .eventually(WAIT, || async {
            status_of(tenant.clone()).await["status"] == "processed"
        })
        .await;
    stack
        .eventually(WAIT, || async { receiver.count() == 1 })
        .await;
    let (s, refused) = call(
        "POST",
        format!("/events/{event_id}/reprocess"),
        tenant.clone(),
    )
    .await;
    assert_eq!(s, 409, "a processed event: {refused}");

    // It failed (as a dependency outage would leave it): reprocess takes it again.
    let store = stack.stack.ctx.meta_events();
    let mut failed = store.get(&tenant, &event_id).await.unwrap();
    failed.status = ProcessingStatus::Failed;
    failed.attempts = 5;
    store.record_outcome(&failed).await.unwrap();
    let (s, _) = call(
        "POST",
        format!("/events/{event_id}/reprocess"),
        other.clone(),
    )
    .await;
    assert_eq!(s, 404, "another tenant's event");
    let (s, reopened) = call(
        "POST",
        format!("/events/{event_id}/reprocess"),
        tenant.clone(),
    )
    .await;
    assert_eq!(s, 202, "{reopened}");
    assert_eq!(reopened["status"], "received");
    let (s, again) = call(
        "POST",
        format!("/events/{event_id}/reprocess"),
        tenant.clone(),
    )
    .await;
    assert!(
        s == 202 || s == 409,
        "a repeat is queued again or finds it processed: {s} {again}"
    );
    stack
        .eventually(WAIT, || async {
            status_of(tenant.clone()).await["status"] == "processed"
        })
        .await;
    assert_eq!(status_of(tenant.clone()).await["attempts"], 1);
    // Delivered again under the same webhook-id, for receivers to deduplicate.
    stack
        .eventually(WAIT, || async { receiver.count() >= 2 })
        .await;
    let got = receiver.all();
    assert!(got
        .iter()
        .all(|r| r.headers["webhook-id"] == got[0].headers["webhook-id"]));
}
