//! Meta webhooks end to end through the local runner: a signed POST to the ingress is
//! stored, processed by the worker, fanned out to a subscribed endpoint and an n8n
//! workflow (real local receivers), its sender captured as a contact, and WhatsApp
//! statuses applied to a message hookhub sent.

mod support;

use std::time::Duration;

use hookhub_shared::messages::OutboundMessage;
use hookhub_shared::meta::ProcessingStatus;
use hookhub_shared::signing::body_hmac::sign;
use serde_json::{json, Value};
use support::{Behaviour, Receiver, Stack};

const WAIT: Duration = Duration::from_secs(30);
const WA_SECRET: &str = "wa-app-secret-0123456789abcdef";

async fn configure_whatsapp(stack: &Stack, tenant: &str) {
    let (s, reply) = stack
        .call(
            "PUT",
            &format!("/api/platform/tenants/{tenant}/integrations/whatsapp"),
            &stack.admin,
            None,
            Some(json!({"enabled": true, "phoneNumberId": "106540352242922", "businessAccountId": "102290129340398",
                        "accessToken": "EAATestAccessToken123456789", "webhookVerifyToken": "verify-me",
                        "appSecret": WA_SECRET})),
        )
        .await;
    assert_eq!(s, 200, "{reply}");
}

async fn post_signed(stack: &Stack, tenant: &str, body: &Value) -> (u16, Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    let resp = stack
        .http
        .post(format!("{}/webhooks/meta/{tenant}", stack.base))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(WA_SECRET, &bytes))
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
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
    configure_whatsapp(&stack, &tenant).await;
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
        .get(&tenant, "whatsapp", "16505551234")
        .await
        .unwrap()
        .expect("the sender is captured");
    assert_eq!(contact.name.as_deref(), Some("Sheena Nelson"));
    assert!(contact.id.starts_with("con_"));

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
    configure_whatsapp(&stack, &tenant).await;
    let messages = stack.stack.ctx.messages();
    let now = hookhub_shared::time::now_rfc3339();
    let sent = OutboundMessage {
        id: hookhub_shared::ids::new_id(hookhub_shared::ids::IdKind::Message),
        tenant_id: tenant.clone(),
        channel: "whatsapp".into(),
        provider: "whatsapp".into(),
        provider_message_id: Some("wamid.OUTBOUND1".into()),
        to: "16505551234".into(),
        status: "sent".into(),
        status_rank: 10,
        error_code: None,
        created_at: now.clone(),
        updated_at: now,
    };
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
    configure_whatsapp(&stack, &other).await;
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
