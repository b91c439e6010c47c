//! Outbound messages end to end through the local runner: `POST /api/v1/messages`, the
//! worker sending through local servers speaking Twilio's and the WhatsApp Cloud API's
//! protocols (or the emulator's SNS), statuses read back, events delivered to a subscribed
//! receiver, WhatsApp status webhooks moving a message forward, and a platform admin's
//! integration test.

#[path = "../../../../shared/tests/it/support/emulator.rs"]
mod emulator;

use std::time::Duration;

use crate::support::providers::*;
use crate::support::{Behaviour, Receiver, Stack};
use hookhub_shared::signing::body_hmac::sign;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);
const WA_SECRET: &str = "wa-app-secret-0123456789abcdef";

async fn start(label: &str) -> (Stack, ProviderMock) {
    let mock = ProviderMock::start().await;
    let stack = Stack::start_with(label, &mock.settings()).await;
    (stack, mock)
}

async fn put_integration(stack: &Stack, tenant: &str, kind: &str, body: Value) {
    stack.put_integration(tenant, kind, body).await;
}

async fn twilio(stack: &Stack, tenant: &str) {
    put_integration(
        stack,
        tenant,
        "sms",
        json!({"enabled": true, "provider": "twilio", "accountSid": TWILIO_SID,
               "authToken": TWILIO_TOKEN, "phoneNumber": TWILIO_FROM}),
    )
    .await;
}

async fn send(stack: &Stack, tenant: &str, body: Value, key: Option<&str>) -> (u16, Value) {
    let mut request = stack
        .http
        .post(format!("{}/api/v1/messages", stack.base))
        .bearer_auth(&stack.admin)
        .header("x-tenant-id", tenant)
        .json(&body);
    if let Some(k) = key {
        request = request.header("idempotency-key", k);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn message(stack: &Stack, tenant: &str, id: &str) -> Value {
    let (s, reply) = stack
        .call(
            "GET",
            &format!("/api/v1/messages/{id}"),
            &stack.admin,
            Some(tenant),
            None,
        )
        .await;
    assert_eq!(s, 200, "{reply}");
    reply
}

async fn wait_for_status(stack: &Stack, tenant: &str, id: &str, status: &str) -> Value {
    stack
        .eventually(WAIT, || async {
            message(stack, tenant, id).await["status"] == status
        })
        .await;
    message(stack, tenant, id).await
}

#[tokio::test]
async fn an_sms_is_sent_through_twilio_its_status_read_back_and_message_sent_delivered() {
    let (stack, mock) = start("e2e-msg-sms").await;
    let tenant = stack.tenant().await;
    twilio(&stack, &tenant).await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    let (_, secret) = stack
        .endpoint(&tenant, &receiver.url, json!({"events": ["message.*"]}))
        .await;

    let (s, reply) = send(
        &stack,
        &tenant,
        json!({"channel": "sms", "to": "+14155550123", "text": "Your table is ready"}),
        None,
    )
    .await;
    assert_eq!(s, 202, "{reply}");
    assert_eq!(reply["status"], "queued");
    assert_eq!(reply["provider"], "twilio");
    let id = reply["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("msg_"));

    let sent = wait_for_status(&stack, &tenant, &id, "sent").await;
    assert!(sent["providerMessageId"]
        .as_str()
        .unwrap()
        .starts_with("SM"));
    assert_eq!(sent["attempts"], 1);
    assert_eq!(sent["error"], Value::Null);
    assert!(sent["sentAt"].is_string());
    let form = mock.requests(Provider::Twilio)[0].form();
    assert_eq!(form["To"], "+14155550123");
    assert_eq!(form["Body"], "Your table is ready");

    stack
        .eventually(WAIT, || async { receiver.count() >= 1 })
        .await;
    let got = &receiver.all()[0];
    standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .verify(&got.body, &got.headers)
        .expect("signed like every delivery");
    let event: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(event["event"], "message.sent");
    assert_eq!(event["data"]["message"]["id"], id.as_str());
    assert_eq!(
        event["data"]["message"]["providerMessageId"],
        sent["providerMessageId"]
    );

    // Listing with filters.
    let (s, list) = stack
        .call(
            "GET",
            "/api/v1/messages?status=sent&channel=sms&to=%2B14155550123",
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["id"], id.as_str());
    let (_, none) = stack
        .call(
            "GET",
            "/api/v1/messages?status=failed",
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(none["data"].as_array().unwrap().len(), 0);
    for bad in ["status=lost", "channel=fax", "to=12345", "from=yesterday"] {
        let (s, reply) = stack
            .call(
                "GET",
                &format!("/api/v1/messages?{bad}"),
                &stack.admin,
                Some(&tenant),
                None,
            )
            .await;
        assert_eq!(s, 400, "{bad}: {reply}");
    }

    // Another tenant cannot see it; an unknown or malformed id is a 404.
    let other = stack.tenant().await;
    for (who, path) in [
        (other.as_str(), format!("/api/v1/messages/{id}")),
        (
            tenant.as_str(),
            "/api/v1/messages/msg_01JDQ7Y3ZK5V8X9W2M4N6P8R0T".into(),
        ),
        (tenant.as_str(), "/api/v1/messages/..%2F..%2Fetc".into()),
    ] {
        let (s, _) = stack
            .call("GET", &path, &stack.admin, Some(who), None)
            .await;
        assert_eq!(s, 404, "{path}");
    }
}

#[tokio::test]
async fn idempotency_key_returns_the_first_message_and_sends_once() {
    let (stack, mock) = start("e2e-msg-idem").await;
    let tenant = stack.tenant().await;
    twilio(&stack, &tenant).await;
    let body = json!({"channel": "sms", "to": "+14155550123", "text": "Order A-1042 shipped"});
    let (s1, first) = send(&stack, &tenant, body.clone(), Some("order-1042-shipped")).await;
    let (s2, second) = send(&stack, &tenant, body.clone(), Some("order-1042-shipped")).await;
    assert_eq!((s1, s2), (202, 202), "{first} {second}");
    assert_eq!(first["id"], second["id"]);
    assert_eq!(first["duplicate"], false);
    assert_eq!(second["duplicate"], true);
    let id = first["id"].as_str().unwrap();
    wait_for_status(&stack, &tenant, id, "sent").await;
    let (s3, third) = send(&stack, &tenant, body, Some("order-1042-shipped")).await;
    assert_eq!(s3, 202);
    assert_eq!(third["status"], "sent");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(mock.requests(Provider::Twilio).len(), 1, "sent once");

    // The same key for another message is refused, and sends nothing.
    let (s, reply) = send(
        &stack,
        &tenant,
        json!({"channel": "sms", "to": "+14155550123", "text": "something else"}),
        Some("order-1042-shipped"),
    )
    .await;
    assert_eq!(s, 409, "{reply}");
    assert!(reply["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Idempotency-Key"));
    // Keys are per tenant.
    let other = stack.tenant().await;
    twilio(&stack, &other).await;
    let (s, reply) = send(
        &stack,
        &other,
        json!({"channel": "sms", "to": "+14155550123", "text": "Order A-1042 shipped"}),
        Some("order-1042-shipped"),
    )
    .await;
    assert_eq!(s, 202);
    assert_eq!(reply["duplicate"], false);
}

#[tokio::test]
async fn bad_requests_and_unusable_integrations_queue_nothing() {
    let (stack, mock) = start("e2e-msg-refused").await;
    let tenant = stack.tenant().await;
    let sms = json!({"channel": "sms", "to": "+14155550123", "text": "hi"});

    let (s, reply) = send(&stack, &tenant, sms.clone(), None).await;
    assert_eq!(s, 409, "{reply}");
    assert_eq!(reply["error"]["code"], "failed_precondition");
    assert!(reply["error"]["message"]
        .as_str()
        .unwrap()
        .contains("integrations/sms"));
    let (s, reply) = send(
        &stack,
        &tenant,
        json!({"channel": "whatsapp", "to": "+14155550123", "text": "hi"}),
        None,
    )
    .await;
    assert_eq!(s, 409, "{reply}");

    twilio(&stack, &tenant).await;
    put_integration(&stack, &tenant, "sms", json!({"enabled": false})).await;
    let (s, reply) = send(&stack, &tenant, sms.clone(), None).await;
    assert_eq!(s, 409, "{reply}");
    assert!(reply["error"]["message"]
        .as_str()
        .unwrap()
        .contains("disabled"));
    put_integration(&stack, &tenant, "sms", json!({"enabled": true})).await;

    for (body, field) in [
        (
            json!({"channel": "sms", "to": "4155550123", "text": "hi"}),
            "to",
        ),
        (
            json!({"channel": "sms", "to": 14155550123i64, "text": "hi"}),
            "to",
        ),
        (
            json!({"channel": "pigeon", "to": "+14155550123", "text": "hi"}),
            "channel",
        ),
        (json!({"channel": "sms", "to": "+14155550123"}), "text"),
        (
            json!({"channel": "sms", "to": "+14155550123", "text": "x".repeat(1601)}),
            "text",
        ),
        (
            json!({"channel": "sms", "to": "+14155550123", "template": {"name": "hello_world", "language": "en_US"}}),
            "template",
        ),
    ] {
        let (s, reply) = send(&stack, &tenant, body.clone(), None).await;
        assert_eq!(s, 422, "{body}: {reply}");
        assert_eq!(
            reply["error"]["details"][0]["field"], field,
            "{body}: {reply}"
        );
    }
    let response = stack
        .http
        .post(format!("{}/api/v1/messages", stack.base))
        .bearer_auth(&stack.admin)
        .header("x-tenant-id", &tenant)
        .header("content-type", "application/json")
        .body("{\"channel\": \"sms\",")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // An API key without send:messages is refused.
    let (s, key) = stack
        .call(
            "POST",
            "/api/v1/api-keys",
            &stack.admin,
            Some(&tenant),
            Some(json!({"name": "events only", "permissions": ["write:events"]})),
        )
        .await;
    assert_eq!(s, 201, "{key}");
    let (s, _) = stack
        .call(
            "POST",
            "/api/v1/messages",
            key["key"].as_str().unwrap(),
            None,
            Some(sms),
        )
        .await;
    assert_eq!(s, 403);

    tokio::time::sleep(Duration::from_secs(1)).await;
    let (_, list) = stack
        .call("GET", "/api/v1/messages", &stack.admin, Some(&tenant), None)
        .await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0, "nothing stored");
    assert!(mock.requests(Provider::Twilio).is_empty(), "nothing sent");
}

fn whatsapp_status(wamid: &str, state: &str, extra: Value) -> Value {
    let mut status = json!({"id": wamid, "status": state, "timestamp": "1763800001", "recipient_id": "16505551234"});
    for (k, v) in extra.as_object().unwrap() {
        status[k] = v.clone();
    }
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": WA_PHONE_ID},
        "statuses": [status]
    }}]}]})
}

async fn post_signed(stack: &Stack, tenant: &str, body: &Value) -> u16 {
    let bytes = serde_json::to_vec(body).unwrap();
    stack
        .http
        .post(format!("{}/webhooks/meta/{tenant}", stack.base))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(WA_SECRET, &bytes))
        .body(bytes)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_whatsapp_message_moves_forward_with_signed_status_webhooks() {
    let (stack, mock) = start("e2e-msg-whatsapp").await;
    let tenant = stack.tenant().await;
    put_integration(
        &stack,
        &tenant,
        "whatsapp",
        json!({"enabled": true, "phoneNumberId": WA_PHONE_ID, "businessAccountId": "102290129340398",
               "accessToken": WA_TOKEN, "webhookVerifyToken": "verify-me", "appSecret": WA_SECRET}),
    )
    .await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    stack
        .endpoint(
            &tenant,
            &receiver.url,
            json!({"events": ["message.delivered", "message.read", "message.failed"]}),
        )
        .await;

    let (s, reply) = send(
        &stack,
        &tenant,
        json!({"channel": "whatsapp", "to": "+16505551234",
               "template": {"name": "order_update", "language": {"code": "en_US"},
                            "components": [{"type": "body", "parameters": [{"type": "text", "text": "A-1042"}]}]}}),
        None,
    )
    .await;
    assert_eq!(s, 202, "{reply}");
    let id = reply["id"].as_str().unwrap().to_string();
    let sent = wait_for_status(&stack, &tenant, &id, "sent").await;
    let wamid = sent["providerMessageId"].as_str().unwrap().to_string();
    let request = mock.requests(Provider::Whatsapp)[0].json();
    assert_eq!(request["template"]["name"], "order_update");
    assert_eq!(
        request["template"]["components"][0]["parameters"][0]["text"],
        "A-1042"
    );

    assert_eq!(
        post_signed(
            &stack,
            &tenant,
            &whatsapp_status(&wamid, "delivered", json!({}))
        )
        .await,
        200
    );
    wait_for_status(&stack, &tenant, &id, "delivered").await;
    assert_eq!(
        post_signed(&stack, &tenant, &whatsapp_status(&wamid, "read", json!({}))).await,
        200
    );
    let read = wait_for_status(&stack, &tenant, &id, "read").await;
    assert!(
        read["deliveredAt"].is_string() && read["readAt"].is_string(),
        "{read}"
    );

    // A late failure does not undo "read".
    let failed = whatsapp_status(
        &wamid,
        "failed",
        json!({"errors": [{"code": 131026, "title": "Message undeliverable"}]}),
    );
    assert_eq!(post_signed(&stack, &tenant, &failed).await, 200);
    stack
        .eventually(WAIT, || async { receiver.count() >= 3 })
        .await;
    assert_eq!(message(&stack, &tenant, &id).await["status"], "read");

    let mut seen: Vec<(String, String)> = receiver
        .all()
        .iter()
        .map(|r| {
            let e: Value = serde_json::from_slice(&r.body).unwrap();
            (
                e["event"].as_str().unwrap().to_string(),
                e["data"]["messageId"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("message.delivered".to_string(), id.clone()),
            ("message.failed".to_string(), id.clone()),
            ("message.read".to_string(), id.clone()),
        ],
        "each status event names the message hookhub sent"
    );
}

#[tokio::test]
async fn a_platform_admin_tests_an_integration_by_sending_a_real_message() {
    let (stack, mock) = start("e2e-msg-test").await;
    let tenant = stack.tenant().await;
    let path = format!("/api/platform/tenants/{tenant}/integrations/sms/test");
    let body = json!({"to": "+14155550123", "text": "hookhub test message"});

    let (s, reply) = stack
        .call("POST", &path, &stack.admin, None, Some(body.clone()))
        .await;
    assert_eq!(s, 409, "no integration yet: {reply}");

    twilio(&stack, &tenant).await;
    let (s, reply) = stack
        .call("POST", &path, &stack.admin, None, Some(body.clone()))
        .await;
    assert_eq!(s, 200, "{reply}");
    assert_eq!(reply["success"], true);
    assert_eq!(reply["provider"], "twilio");
    assert_eq!(reply["providerStatus"], "queued");
    assert!(reply["providerMessageId"]
        .as_str()
        .unwrap()
        .starts_with("SM"));
    let test_message = message(&stack, &tenant, reply["messageId"].as_str().unwrap()).await;
    assert_eq!(test_message["test"], true);
    assert_eq!(test_message["status"], "sent");

    mock.script(
        Provider::Twilio,
        vec![twilio_error(
            21211,
            400,
            "The 'To' number +14155550123 is not a valid phone number.",
        )],
    );
    let (s, reply) = stack
        .call("POST", &path, &stack.admin, None, Some(body.clone()))
        .await;
    assert_eq!(s, 200, "{reply}");
    assert_eq!(reply["success"], false);
    assert_eq!(reply["error"]["code"], "21211");
    assert_eq!(reply["error"]["retryable"], false);
    assert_eq!(reply["error"]["httpStatus"], 400);
    assert_eq!(mock.requests(Provider::Twilio).len(), 2);

    // Instagram's test reads its account and sends nothing: a number to send to is refused.
    let (s, reply) = stack
        .call(
            "POST",
            &format!("/api/platform/tenants/{tenant}/integrations/instagram/test"),
            &stack.admin,
            None,
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, 422, "{reply}");
    let (s, _) = stack
        .call(
            "POST",
            &format!("/api/platform/tenants/{tenant}/integrations/telegram/test"),
            &stack.admin,
            None,
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = stack
        .call(
            "POST",
            "/api/platform/tenants/ten_01JDQ7Y3ZK5V8X9W2M4N6P8R0T/integrations/sms/test",
            &stack.admin,
            None,
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = stack
        .call("POST", &path, &stack.admin, None, Some(json!({"to": "+1"})))
        .await;
    assert_eq!(s, 422);
    let tenant_admin = hookhub_shared::auth::mint_for(
        stack.stack.ctx.config.jwt_secret().unwrap(),
        "alice",
        hookhub_shared::auth::Role::TenantAdmin,
        Some(&tenant),
        1,
    );
    let (s, _) = stack
        .call("POST", &path, &tenant_admin, None, Some(body))
        .await;
    assert_eq!(s, 403, "platform admins only");
    assert_eq!(mock.requests(Provider::Twilio).len(), 2);

    let (_, audit) = stack
        .call(
            "GET",
            &format!("/api/platform/tenants/{tenant}/audit"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert!(audit.to_string().contains("integration.tested"), "{audit}");
}

#[tokio::test]
async fn an_sms_through_the_emulators_sns_is_published_and_read_back() {
    let (stack, _mock) = start("e2e-msg-sns").await;
    let tenant = stack.tenant().await;
    put_integration(
        &stack,
        &tenant,
        "sms",
        json!({"enabled": true, "provider": "sns", "region": "us-east-1"}),
    )
    .await;
    let to = format!("+1206555{:04}", std::process::id() % 10_000);
    let (s, reply) = send(
        &stack,
        &tenant,
        json!({"channel": "sms", "to": to, "text": "Your code is 482913"}),
        None,
    )
    .await;
    assert_eq!(s, 202, "{reply}");
    let id = reply["id"].as_str().unwrap().to_string();
    let sent = wait_for_status(&stack, &tenant, &id, "sent").await;
    assert_eq!(sent["provider"], "sns");
    let sns_id = sent["providerMessageId"].as_str().unwrap();
    let published = emulator::published_sms().await;
    let sms = published
        .iter()
        .find(|m| m["message_id"] == sns_id)
        .expect("the emulator's SNS holds it");
    assert_eq!(sms["phone_number"], to.as_str());
    assert_eq!(sms["message"], "Your code is 482913");
}

#[tokio::test]
async fn test_connection_reads_the_meta_account_with_its_token_and_names_graphs_errors() {
    let (stack, mock) = start("e2e-graph-check").await;
    let tenant = stack.tenant().await;
    let test = |kind: &'static str| {
        let (stack, tenant) = (&stack, tenant.clone());
        async move {
            stack
                .call(
                    "POST",
                    &format!("/api/platform/tenants/{tenant}/integrations/{kind}/test"),
                    &stack.admin,
                    None,
                    None,
                )
                .await
        }
    };
    // Nothing to test before the integration is saved.
    let (s, reply) = test("instagram").await;
    assert_eq!(s, 409, "{reply}");

    put_integration(
        &stack,
        &tenant,
        "whatsapp",
        json!({"enabled": true, "phoneNumberId": WA_PHONE_ID, "accessToken": WA_TOKEN, "appSecret": WA_SECRET}),
    )
    .await;
    put_integration(
        &stack,
        &tenant,
        "instagram",
        json!({"enabled": true, "accountId": IG_ACCOUNT_ID, "appSecret": WA_SECRET, "accessToken": IG_TOKEN}),
    )
    .await;
    let (s, wa) = test("whatsapp").await;
    assert_eq!(s, 200, "{wa}");
    assert_eq!(wa["healthy"], true, "{wa}");
    assert_eq!(wa["account"]["verified_name"], "Acme Bistro");
    let (s, ig) = test("instagram").await;
    assert_eq!(s, 200, "{ig}");
    assert_eq!(ig["status"], "ok", "{ig}");
    assert_eq!(ig["account"]["username"], "acme.bistro");
    let read = mock.requests(Provider::Graph);
    assert_eq!(read.len(), 2);
    assert_eq!(read[1].path, format!("/v21.0/{IG_ACCOUNT_ID}"));
    assert_eq!(
        read[1].headers["authorization"],
        format!("Bearer {IG_TOKEN}").as_str(),
        "the token goes in the header, never in the URL"
    );
    assert!(!ig.to_string().contains(IG_TOKEN));
    assert!(
        messages_sent(&stack, &tenant).await == 0,
        "a connection test sends nothing"
    );

    // Graph's errors, as Meta documents them.
    for (status, code, expected) in [
        (400, 190, "token_invalid"),
        (403, 200, "permission_denied"),
        (400, 4, "rate_limited"),
        (400, 17, "rate_limited"),
        (400, 613, "rate_limited"),
        (500, 2, "error"),
    ] {
        mock.script(
            Provider::Graph,
            vec![(status, json!({"error": {"message": format!("error {code}"), "type": "OAuthException", "code": code}}))],
        );
        let (s, reply) = test("instagram").await;
        assert_eq!(s, 200, "{reply}");
        assert_eq!(reply["healthy"], false);
        assert_eq!(reply["status"], expected, "{code}: {reply}");
        assert_eq!(reply["error"]["code"], code);
        assert!(reply["advice"].as_str().is_some_and(|a| !a.is_empty()));
    }
    // A token Graph does not know.
    put_integration(
        &stack,
        &tenant,
        "instagram",
        json!({"accessToken": "IGQVJRevokedToken0000000"}),
    )
    .await;
    let (_, revoked) = test("instagram").await;
    assert_eq!(revoked["status"], "token_invalid", "{revoked}");

    // Platform admins only; another tenant's integration is not reachable by id.
    let tenant_admin = hookhub_shared::auth::mint_for(
        stack.stack.ctx.config.jwt_secret().unwrap(),
        "alice",
        hookhub_shared::auth::Role::TenantAdmin,
        Some(&tenant),
        1,
    );
    let (s, _) = stack
        .call(
            "POST",
            &format!("/api/platform/tenants/{tenant}/integrations/instagram/test"),
            &tenant_admin,
            None,
            None,
        )
        .await;
    assert_eq!(s, 403);
    let other = stack.tenant().await;
    let (s, reply) = stack
        .call(
            "POST",
            &format!("/api/platform/tenants/{other}/integrations/instagram/test"),
            &stack.admin,
            None,
            None,
        )
        .await;
    assert_eq!(s, 409, "{reply}");
}

async fn messages_sent(stack: &Stack, tenant: &str) -> usize {
    let (_, page) = stack
        .call("GET", "/api/v1/messages", &stack.admin, Some(tenant), None)
        .await;
    page["data"].as_array().map_or(0, Vec::len)
}
