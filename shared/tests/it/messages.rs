//! Sending messages through each provider, at the service level: the request each provider
//! receives (checked field by field against a local server speaking its API, or read back
//! from the emulator's SNS), and retry or final for each documented error. Jobs are taken
//! off the real queue and run by the worker's handler directly, so retries run at once.

use std::time::Duration;

use crate::support::providers::*;
use hookhub_shared::audit::Actor;
use hookhub_shared::auth::Role;
use hookhub_shared::error::ServiceError;
use hookhub_shared::integrations::IntegrationKind;
use hookhub_shared::jobs::{Job, JobHandler, Outcome};
use hookhub_shared::messages::{Channel, Content, MessageService, SendRequest, MAX_SEND_ATTEMPTS};
use hookhub_shared::validation::Fields;
use hookhub_test_support::{QueueSettings, TestStack};
use serde_json::{json, Value};

const TENANT: &str = "ten_01JDQ7Y3ZK5V8X9W2M4N6P8R0T";

fn admin() -> Actor {
    Actor::Admin {
        sub: "root".into(),
        role: Role::PlatformAdmin,
    }
}

async fn stack_with(mock: &ProviderMock, label: &str) -> TestStack {
    let settings: Vec<(&str, String)> = mock.settings();
    TestStack::with_settings(label, QueueSettings::default(), &settings).await
}

async fn configure(stack: &TestStack, tenant: &str, kind: IntegrationKind, settings: Value) {
    stack
        .ctx
        .integrations()
        .put(
            tenant,
            kind,
            Fields::new(settings.as_object().unwrap().clone()),
            &admin(),
        )
        .await
        .unwrap();
}

async fn twilio_tenant(stack: &TestStack, tenant: &str, extra: Value) {
    let mut settings = json!({"enabled": true, "provider": "twilio", "accountSid": TWILIO_SID,
                              "authToken": TWILIO_TOKEN, "phoneNumber": TWILIO_FROM});
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    configure(stack, tenant, IntegrationKind::Sms, settings).await;
}

async fn whatsapp_tenant(stack: &TestStack, tenant: &str) {
    configure(
        stack,
        tenant,
        IntegrationKind::Whatsapp,
        json!({"enabled": true, "phoneNumberId": WA_PHONE_ID, "businessAccountId": "102290129340398",
               "accessToken": WA_TOKEN, "appSecret": "wa-app-secret", "apiVersion": "v21.0"}),
    )
    .await;
}

fn sms(to: &str, text: &str) -> SendRequest {
    SendRequest {
        channel: Channel::Sms,
        to: to.into(),
        content: Content::Text { text: text.into() },
    }
}

/// The next job on the stack's queue, taken off it.
async fn next_job(stack: &TestStack) -> Job {
    let sqs = &stack.clients.sqs;
    for _ in 0..20 {
        let out = sqs
            .receive_message()
            .queue_url(&stack.stack.queue_url)
            .max_number_of_messages(1)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(m) = out.messages.unwrap_or_default().into_iter().next() {
            sqs.delete_message()
                .queue_url(&stack.stack.queue_url)
                .receipt_handle(m.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
            return Job::from_body(&m.body.unwrap()).unwrap();
        }
    }
    panic!("no job on the queue");
}

/// Submits and runs the send job once.
async fn send_once(
    service: &MessageService,
    stack: &TestStack,
    tenant: &str,
    request: SendRequest,
) -> (String, Outcome) {
    let submitted = service.submit(tenant, request, None).await.unwrap();
    let job = next_job(stack).await;
    assert_eq!(job.kind, "message.send");
    let outcome = service.handle(&job).await.unwrap();
    (submitted.message.id, outcome)
}

#[tokio::test]
async fn twilio_gets_a_form_with_basic_auth_and_the_sid_is_recorded() {
    let mock = ProviderMock::start().await;
    let stack = stack_with(&mock, "msg-twilio").await;
    twilio_tenant(&stack, TENANT, json!({})).await;
    let service = stack.ctx.message_service();
    let (id, outcome) = send_once(
        &service,
        &stack,
        TENANT,
        sms("+14155550123", "Your code is 1234 ✅"),
    )
    .await;
    assert_eq!(outcome, Outcome::Done);

    let requests = mock.requests(Provider::Twilio);
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        request.path,
        format!("/2010-04-01/Accounts/{TWILIO_SID}/Messages.json")
    );
    assert_eq!(
        request.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let form = request.form();
    assert_eq!(form["To"], "+14155550123");
    assert_eq!(form["From"], TWILIO_FROM);
    assert_eq!(form["Body"], "Your code is 1234 ✅");
    assert!(!form.contains_key("MessagingServiceSid"));
    assert_eq!(form.len(), 3);

    let message = stack.ctx.messages().get(TENANT, &id).await.unwrap();
    assert_eq!(message.status, "sent");
    assert_eq!(message.provider, "twilio");
    assert_eq!(message.attempts, 1);
    assert!(message
        .provider_message_id
        .as_deref()
        .unwrap()
        .starts_with("SM"));
    assert!(message.sent_at.is_some());
    assert!(message.announced, "message.sent published");

    // A Messaging Service, when configured, picks the number instead of From.
    twilio_tenant(
        &stack,
        TENANT,
        json!({"messagingServiceSid": TWILIO_SERVICE}),
    )
    .await;
    send_once(&service, &stack, TENANT, sms("+14155550123", "again")).await;
    let form = mock.requests(Provider::Twilio)[1].form();
    assert_eq!(form["MessagingServiceSid"], TWILIO_SERVICE);
    assert!(!form.contains_key("From"));
}

#[tokio::test]
async fn twilio_errors_retry_or_fail_as_documented() {
    let mock = ProviderMock::start().await;
    let stack = stack_with(&mock, "msg-twilio-errors").await;
    twilio_tenant(&stack, TENANT, json!({})).await;
    let service = stack.ctx.message_service();
    let cases = [
        (twilio_error(20429, 429, "Too Many Requests"), true),
        (twilio_error(20500, 500, "Internal Server Error"), true),
        ((503, Value::Null), true),
        (
            twilio_error(
                21211,
                400,
                "The 'To' number +1415555 is not a valid phone number.",
            ),
            false,
        ),
        (
            twilio_error(21610, 400, "Attempt to send to unsubscribed recipient"),
            false,
        ),
        (
            twilio_error(21614, 400, "'To' number is not a valid mobile number"),
            false,
        ),
    ];
    for ((status, body), retry) in cases {
        let code = body["code"]
            .as_u64()
            .map_or(format!("http_{status}"), |c| c.to_string());
        mock.script(Provider::Twilio, vec![(status, body)]);
        let (id, outcome) = send_once(&service, &stack, TENANT, sms("+14155550123", "hi")).await;
        let message = stack.ctx.messages().get(TENANT, &id).await.unwrap();
        assert_eq!(message.error_code.as_deref(), Some(code.as_str()), "{code}");
        if retry {
            assert!(
                matches!(outcome, Outcome::RetryAfter(_)),
                "{code}: {outcome:?}"
            );
            assert_eq!(message.status, "queued", "{code}");
        } else {
            assert!(matches!(outcome, Outcome::GiveUp(_)), "{code}: {outcome:?}");
            assert_eq!(message.status, "failed", "{code}");
            assert!(message.failed_at.is_some());
            assert!(message.announced, "message.failed published");
        }
    }
    // A wrong auth token is Twilio's 20003, final.
    configure(
        &stack,
        TENANT,
        IntegrationKind::Sms,
        json!({"authToken": "wrong-token-0000"}),
    )
    .await;
    let (id, outcome) = send_once(&service, &stack, TENANT, sms("+14155550123", "hi")).await;
    assert!(matches!(outcome, Outcome::GiveUp(_)));
    let message = stack.ctx.messages().get(TENANT, &id).await.unwrap();
    assert_eq!(message.error_code.as_deref(), Some("20003"));
}

#[tokio::test]
async fn a_retried_message_is_sent_on_a_later_attempt_and_fails_after_the_last() {
    let mock = ProviderMock::start().await;
    let stack = stack_with(&mock, "msg-retry").await;
    twilio_tenant(&stack, TENANT, json!({})).await;
    let service = stack.ctx.message_service();

    mock.script(
        Provider::Twilio,
        vec![twilio_error(20429, 429, "Too Many Requests")],
    );
    let id = service
        .submit(TENANT, sms("+14155550123", "hi"), None)
        .await
        .unwrap()
        .message
        .id;
    let job = next_job(&stack).await;
    let outcome = service.handle(&job).await.unwrap();
    let Outcome::RetryAfter(wait) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        wait >= Duration::from_secs(1),
        "Retry-After honoured: {wait:?}"
    );
    let outcome = service.handle(&job.retry(wait, 0)).await.unwrap();
    assert_eq!(outcome, Outcome::Done);
    let message = stack.ctx.messages().get(TENANT, &id).await.unwrap();
    assert_eq!((message.status.as_str(), message.attempts), ("sent", 2));
    assert_eq!(message.error_code, None, "a later success clears the error");

    let always: Vec<_> = (0..MAX_SEND_ATTEMPTS)
        .map(|_| twilio_error(20500, 500, "Internal Server Error"))
        .collect();
    mock.script(Provider::Twilio, always);
    let submitted = service
        .submit(TENANT, sms("+14155550124", "hi"), None)
        .await
        .unwrap();
    let mut job = next_job(&stack).await;
    for attempt in 1..=MAX_SEND_ATTEMPTS {
        let outcome = service.handle(&job).await.unwrap();
        if attempt < MAX_SEND_ATTEMPTS {
            assert!(
                matches!(outcome, Outcome::RetryAfter(_)),
                "attempt {attempt}"
            );
            job = job.retry(Duration::ZERO, 0);
        } else {
            assert!(matches!(outcome, Outcome::GiveUp(_)), "attempt {attempt}");
        }
    }
    let message = stack
        .ctx
        .messages()
        .get(TENANT, &submitted.message.id)
        .await
        .unwrap();
    assert_eq!(message.status, "failed");
    assert_eq!(message.attempts, MAX_SEND_ATTEMPTS);
}

#[tokio::test]
async fn vonage_gets_its_form_and_its_statuses_retry_or_fail() {
    let mock = ProviderMock::start().await;
    let stack = stack_with(&mock, "msg-vonage").await;
    configure(
        &stack,
        TENANT,
        IntegrationKind::Sms,
        json!({"enabled": true, "provider": "vonage", "apiKey": VONAGE_KEY, "apiSecret": VONAGE_SECRET, "from": VONAGE_FROM}),
    )
    .await;
    let service = stack.ctx.message_service();
    let (id, outcome) = send_once(
        &service,
        &stack,
        TENANT,
        sms("+447700900000", "Hello from hookhub"),
    )
    .await;
    assert_eq!(outcome, Outcome::Done);
    let request = &mock.requests(Provider::Vonage)[0];
    let form = request.form();
    assert_eq!(form["api_key"], VONAGE_KEY);
    assert_eq!(form["api_secret"], VONAGE_SECRET);
    assert_eq!(form["from"], VONAGE_FROM);
    assert_eq!(form["to"], "447700900000", "E.164 without the +");
    assert_eq!(form["text"], "Hello from hookhub");
    assert!(!form.contains_key("type"), "GSM text is sent as text");
    let message = stack.ctx.messages().get(TENANT, &id).await.unwrap();
    assert_eq!(message.status, "sent");
    assert!(message
        .provider_message_id
        .as_deref()
        .unwrap()
        .starts_with("0A"));

    send_once(&service, &stack, TENANT, sms("+447700900000", "Привет")).await;
    assert_eq!(mock.requests(Provider::Vonage)[1].form()["type"], "unicode");

    for (status, text, retry) in [
        ("1", "Throttled", true),
        ("5", "Internal Error", true),
        ("10", "Too many existing binds", true),
        ("2", "Missing to param", false),
        ("3", "Invalid to param", false),
        ("9", "Partner quota violation", false),
        ("15", "Illegal Sender Address - rejected", false),
    ] {
        mock.script(Provider::Vonage, vec![vonage_error(status, text)]);
        let (id, outcome) = send_once(&service, &stack, TENANT, sms("+447700900000", "hi")).await;
        assert_eq!(
            matches!(outcome, Outcome::RetryAfter(_)),
            retry,
            "status {status}"
        );
        let message = stack.ctx.messages().get(TENANT, &id).await.unwrap();
        assert_eq!(message.error_code.as_deref(), Some(status));
        assert_eq!(message.error_message.as_deref(), Some(text));
    }
    // Wrong credentials: Vonage's status 4, final.
    configure(
        &stack,
        TENANT,
        IntegrationKind::Sms,
        json!({"apiSecret": "not-the-secret"}),
    )
    .await;
    let (id, outcome) = send_once(&service, &stack, TENANT, sms("+447700900000", "hi")).await;
    assert!(matches!(outcome, Outcome::GiveUp(_)));
    assert_eq!(
        stack
            .ctx
            .messages()
            .get(TENANT, &id)
            .await
            .unwrap()
            .error_code
            .as_deref(),
        Some("4")
    );
}

#[tokio::test]
async fn whatsapp_text_and_template_go_to_the_cloud_api_with_the_bearer_token() {
    let mock = ProviderMock::start().await;
    let stack = stack_with(&mock, "msg-whatsapp").await;
    whatsapp_tenant(&stack, TENANT).await;
    let service = stack.ctx.message_service();
    let text = SendRequest {
        channel: Channel::Whatsapp,
        to: "+16505551234".into(),
        content: Content::Text {
            text: "Your order has shipped".into(),
        },
    };
    let (id, outcome) = send_once(&service, &stack, TENANT, text).await;
    assert_eq!(outcome, Outcome::Done);
    let request = &mock.requests(Provider::Whatsapp)[0];
    assert_eq!(request.path, format!("/v21.0/{WA_PHONE_ID}/messages"));
    assert_eq!(
        request.headers["authorization"],
        format!("Bearer {WA_TOKEN}")
    );
    assert_eq!(
        request.json(),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
               "type": "text", "text": {"preview_url": false, "body": "Your order has shipped"}})
    );
    let message = stack.ctx.messages().get(TENANT, &id).await.unwrap();
    assert_eq!(
        (message.status.as_str(), message.provider.as_str()),
        ("sent", "whatsapp")
    );
    assert!(message
        .provider_message_id
        .as_deref()
        .unwrap()
        .starts_with("wamid."));

    let components = json!([{"type": "body", "parameters": [{"type": "text", "text": "A-1042"}]}]);
    let template = SendRequest {
        channel: Channel::Whatsapp,
        to: "+16505551234".into(),
        content: Content::Template {
            name: "order_update".into(),
            language: "en_US".into(),
            components: components.as_array().unwrap().clone(),
        },
    };
    send_once(&service, &stack, TENANT, template).await;
    assert_eq!(
        mock.requests(Provider::Whatsapp)[1].json(),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
               "type": "template", "template": {"name": "order_update", "language": {"code": "en_US"},
                                                "components": components}})
    );
}

#[tokio::test]
async fn whatsapp_error_codes_retry_or_fail_as_documented() {
    let mock = ProviderMock::start().await;
    let stack = stack_with(&mock, "msg-whatsapp-errors").await;
    whatsapp_tenant(&stack, TENANT).await;
    let service = stack.ctx.message_service();
    let cases = [
        (130429, 429, true),
        (131056, 400, true),
        (131000, 500, true),
        (131016, 503, true),
        (1, 400, true),
        (2, 503, true),
        (4, 400, true),
        (80007, 400, true),
        (190, 401, false),
        (131047, 400, false),
        (131026, 400, false),
        (100, 400, false),
    ];
    for (code, status, retry) in cases {
        mock.script(
            Provider::Whatsapp,
            vec![whatsapp_error(code, status, "Meta says no")],
        );
        let request = SendRequest {
            channel: Channel::Whatsapp,
            to: "+16505551234".into(),
            content: Content::Text { text: "hi".into() },
        };
        let (id, outcome) = send_once(&service, &stack, TENANT, request).await;
        assert_eq!(
            matches!(outcome, Outcome::RetryAfter(_)),
            retry,
            "code {code}: {outcome:?}"
        );
        let message = stack.ctx.messages().get(TENANT, &id).await.unwrap();
        assert_eq!(message.error_code, Some(code.to_string()));
        assert_eq!(message.status, if retry { "queued" } else { "failed" });
    }
}

#[tokio::test]
async fn sns_publishes_the_sms_with_its_attributes_to_the_emulator() {
    let stack = TestStack::new("msg-sns").await;
    // The tenant's own keys, sender id and promotional type.
    configure(
        &stack,
        TENANT,
        IntegrationKind::Sms,
        json!({"enabled": true, "provider": "sns", "region": "eu-west-1", "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
               "secretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "senderId": "HOOKHUB",
               "smsType": "Promotional"}),
    )
    .await;
    let service = stack.ctx.message_service();
    let recorder = crate::support::emulator::Recorder::start().await;
    let to = format!("+1555{:07}", rand_digits());
    let (id, outcome) = send_once(&service, &stack, TENANT, sms(&to, "Your table is ready")).await;
    let publishes = recorder.stop_and_find("Action=Publish", &to).await;
    assert_eq!(outcome, Outcome::Done);

    let message = stack.ctx.messages().get(TENANT, &id).await.unwrap();
    assert_eq!(
        (message.status.as_str(), message.provider.as_str()),
        ("sent", "sns")
    );
    let message_id = message.provider_message_id.unwrap();
    let stored = crate::support::emulator::published_sms().await;
    let sms_record = stored
        .iter()
        .find(|m| m["message_id"] == message_id.as_str())
        .expect("the emulator holds the SMS under the recorded id");
    assert_eq!(sms_record["phone_number"], to.as_str());
    assert_eq!(sms_record["message"], "Your table is ready");

    assert_eq!(publishes.len(), 1);
    let publish = &publishes[0];
    assert_eq!(publish.form["PhoneNumber"], to);
    assert_eq!(
        publish.attribute("AWS.SNS.SMS.SMSType"),
        Some(("String".into(), "Promotional".into()))
    );
    assert_eq!(
        publish.attribute("AWS.SNS.SMS.SenderID"),
        Some(("String".into(), "HOOKHUB".into()))
    );
    assert!(
        publish
            .authorization
            .contains("Credential=AKIAIOSFODNN7EXAMPLE/"),
        "the tenant's keys sign it"
    );
    assert!(
        publish.authorization.contains("/eu-west-1/sns/"),
        "in the tenant's region"
    );

    // Without keys: the function's own credentials, Transactional by default, no sender id.
    let other = "ten_01JDQ7Y3ZK5V8X9W2M4N6P8R0V";
    configure(
        &stack,
        other,
        IntegrationKind::Sms,
        json!({"enabled": true, "provider": "sns", "region": "us-east-1"}),
    )
    .await;
    let recorder = crate::support::emulator::Recorder::start().await;
    let to = format!("+1555{:07}", rand_digits());
    let (_, outcome) = send_once(&service, &stack, other, sms(&to, "Hi")).await;
    let publishes = recorder.stop_and_find("Action=Publish", &to).await;
    assert_eq!(outcome, Outcome::Done);
    assert_eq!(publishes.len(), 1);
    let publish = &publishes[0];
    assert_eq!(
        publish.attribute("AWS.SNS.SMS.SMSType"),
        Some(("String".into(), "Transactional".into()))
    );
    assert_eq!(publish.attribute("AWS.SNS.SMS.SenderID"), None);
    assert!(
        publish.authorization.contains("Credential=test/"),
        "the function's own credentials"
    );
}

fn rand_digits() -> u32 {
    (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos())
        % 10_000_000
}

#[tokio::test]
async fn an_integration_unusable_at_send_time_fails_the_message_and_nothing_is_sent_twice() {
    let mock = ProviderMock::start().await;
    let stack = stack_with(&mock, "msg-unusable").await;
    twilio_tenant(&stack, TENANT, json!({})).await;
    let service = stack.ctx.message_service();

    // No integration at all: refused before anything is stored.
    let err = service
        .submit(
            "ten_01JDQ7Y3ZK5V8X9W2M4N6P8R0W",
            sms("+14155550123", "hi"),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::FailedPrecondition(ref m) if m.contains("no sms integration")),
        "{err}"
    );

    // Disabled between queueing and sending: failed with the reason, never sent.
    let submitted = service
        .submit(TENANT, sms("+14155550123", "hi"), None)
        .await
        .unwrap();
    configure(
        &stack,
        TENANT,
        IntegrationKind::Sms,
        json!({"enabled": false}),
    )
    .await;
    let job = next_job(&stack).await;
    assert!(matches!(
        service.handle(&job).await.unwrap(),
        Outcome::GiveUp(_)
    ));
    let message = stack
        .ctx
        .messages()
        .get(TENANT, &submitted.message.id)
        .await
        .unwrap();
    assert_eq!(message.status, "failed");
    assert_eq!(
        message.error_code.as_deref(),
        Some("integration_unavailable")
    );
    assert!(mock.requests(Provider::Twilio).is_empty());

    // The same job delivered twice (SQS is at least once) sends once. While one attempt holds
    // the message's lease, another is turned away without sending. The overlap is set up here
    // rather than raced: the claim is one conditional update, which DynamoDB makes atomic but
    // the emulator (threads, no locks) does not, so two racing attempts could both pass it there.
    configure(
        &stack,
        TENANT,
        IntegrationKind::Sms,
        json!({"enabled": true}),
    )
    .await;
    let submitted = service
        .submit(TENANT, sms("+14155550123", "once"), None)
        .await
        .unwrap();
    let job = next_job(&stack).await;
    let lease = Duration::from_secs(1);
    stack
        .ctx
        .messages()
        .claim(TENANT, &submitted.message.id, lease)
        .await
        .unwrap()
        .expect("the first attempt takes the lease");
    let turned_away = service.handle(&job).await.expect_err("the lease is held");
    assert!(
        turned_away
            .to_string()
            .contains("being sent by another attempt"),
        "{turned_away}"
    );
    assert!(mock.requests(Provider::Twilio).is_empty());
    // The holder died without finishing: once its lease runs out, the redelivery sends.
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    assert_eq!(service.handle(&job).await.unwrap(), Outcome::Done);
    assert_eq!(mock.requests(Provider::Twilio).len(), 1);
    // And any later delivery of the job finds it sent.
    assert_eq!(service.handle(&job).await.unwrap(), Outcome::Done);
    assert_eq!(mock.requests(Provider::Twilio).len(), 1);
    let message = stack
        .ctx
        .messages()
        .get(TENANT, &submitted.message.id)
        .await
        .unwrap();
    // Two claims: the one that died and the one that sent.
    assert_eq!((message.status.as_str(), message.attempts), ("sent", 2));
}
