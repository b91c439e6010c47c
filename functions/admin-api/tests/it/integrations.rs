use crate::support::Api;
use hookhub_shared::integrations::IntegrationKind;
use hookhub_shared::store::keys;
use serde_json::{json, Value};

const TOKEN: &str = "EAATestAccessToken123456789";
const APP_SECRET: &str = "app-secret-0123456789abcdef";
const VERIFY: &str = "my_verify_token_123";

fn every_string(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| every_string(x, out)),
        Value::Object(o) => o.values().for_each(|x| every_string(x, out)),
        _ => {}
    }
}

async fn put(api: &Api, tenant: &str, kind: &str, body: Value) -> crate::support::Reply {
    api.call(
        "PUT",
        &format!("/api/platform/tenants/{tenant}/integrations/{kind}"),
        &api.admin,
        Some(body),
    )
    .await
}

#[tokio::test]
async fn every_secret_is_masked_in_every_response_and_sealed_at_rest() {
    let api = Api::new("api-int-mask").await;
    let tenant = api.create_tenant("Acme").await;
    let secrets = [
        TOKEN,
        APP_SECRET,
        VERIFY,
        "ig-access-token-abcdefghijklmnop",
        "ig-app-secret-1234567890",
        "twilio-auth-token-0123456789abcdef",
        "n8n-api-key-secret-value",
    ];
    let replies = [
        put(&api, &tenant, "whatsapp", json!({
            "enabled": true, "phoneNumberId": "106540352242922", "businessAccountId": "102290129340398",
            "accessToken": TOKEN, "webhookVerifyToken": VERIFY, "phoneNumber": "+15550783881", "appSecret": APP_SECRET
        })).await,
        put(&api, &tenant, "instagram", json!({
            "enabled": true, "accountId": "17841400000000000", "appId": "123456789",
            "appSecret": "ig-app-secret-1234567890", "accessToken": "ig-access-token-abcdefghijklmnop",
            "webhookVerifyToken": VERIFY
        })).await,
        put(&api, &tenant, "sms", json!({
            "enabled": true, "provider": "twilio", "accountSid": "AC0123456789abcdef0123456789abcdef",
            "authToken": "twilio-auth-token-0123456789abcdef", "phoneNumber": "+15551234567"
        })).await,
        put(&api, &tenant, "n8n", json!({"baseUrl": "https://n8n.example.com/webhook/acme", "apiKey": "n8n-api-key-secret-value"})).await,
    ];
    for r in &replies {
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_eq!(replies[0].body["accessToken"], "EAATestAcc***456789");
    assert_eq!(replies[0].body["webhookVerifyToken"], "***_123");
    assert_eq!(
        replies[0].body["phoneNumberId"], "106540352242922",
        "plain fields as stored"
    );

    let all = api
        .call(
            "GET",
            &format!("/api/platform/tenants/{tenant}/integrations"),
            &api.admin,
            None,
        )
        .await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body["whatsapp"]["appSecret"], "app-secret***abcdef");
    assert_eq!(all.body["sms"]["provider"], "twilio");
    let mut shown = Vec::new();
    for r in replies.iter().map(|r| &r.body).chain([&all.body]) {
        every_string(r, &mut shown);
    }
    for secret in secrets {
        assert!(
            shown.iter().all(|s| !s.contains(secret)),
            "{secret} appears unmasked in a response"
        );
    }
    assert!(
        shown.iter().all(|s| !s.starts_with("hh1.")),
        "no ciphertext in responses"
    );

    // At rest: the raw items hold ciphertext only.
    for kind in ["whatsapp", "instagram", "sms", "n8n"] {
        let raw = api
            .stack
            .ctx
            .table
            .get(&keys::integration(&tenant, kind))
            .await
            .unwrap()
            .unwrap();
        let dump = format!("{raw:?}");
        for secret in secrets {
            assert!(
                !dump.contains(secret),
                "{secret} stored in plaintext in {kind}"
            );
        }
        assert!(dump.contains("hh1."), "{kind} has sealed fields");
    }

    // The sealed values open to the originals for the code that needs them.
    let service = api.stack.ctx.integrations();
    let record = service
        .get(&tenant, IntegrationKind::Whatsapp)
        .await
        .unwrap()
        .unwrap();
    let opened = service
        .open_secret(&tenant, IntegrationKind::Whatsapp, &record, "accessToken")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened.as_str(), TOKEN);
}

#[tokio::test]
async fn blank_or_missing_secret_keeps_the_stored_one_and_enabled_toggles() {
    let api = Api::new("api-int-keep").await;
    let tenant = api.create_tenant("Acme").await;
    let first = put(
        &api,
        &tenant,
        "whatsapp",
        json!({
            "phoneNumberId": "106540352242922", "accessToken": TOKEN, "appSecret": APP_SECRET
        }),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.body["enabled"], true,
        "a first configuration is enabled"
    );

    let second = put(
        &api,
        &tenant,
        "whatsapp",
        json!({
            "enabled": false, "phoneNumberId": "999", "accessToken": "", "appSecret": null
        }),
    )
    .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body["enabled"], false);
    assert_eq!(second.body["phoneNumberId"], "999");
    assert_eq!(second.body["accessToken"], "EAATestAcc***456789");

    let service = api.stack.ctx.integrations();
    let record = service
        .get(&tenant, IntegrationKind::Whatsapp)
        .await
        .unwrap()
        .unwrap();
    for (field, expected) in [("accessToken", TOKEN), ("appSecret", APP_SECRET)] {
        let opened = service
            .open_secret(&tenant, IntegrationKind::Whatsapp, &record, field)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(opened.as_str(), expected, "{field} kept");
    }

    let third = put(
        &api,
        &tenant,
        "whatsapp",
        json!({"enabled": true, "accessToken": "EAANewToken0000000000000000"}),
    )
    .await;
    assert_eq!(third.status, 200);
    assert_eq!(third.body["accessToken"], "EAANewToke***000000");

    let audit = api
        .call(
            "GET",
            &format!("/api/platform/tenants/{tenant}/audit"),
            &api.admin,
            None,
        )
        .await;
    assert_eq!(audit.status, 200);
    let entries = audit.body["data"].as_array().unwrap();
    let integration_entries: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "integration.updated")
        .collect();
    assert_eq!(integration_entries.len(), 3);
    // Newest first: the third PUT changed enabled and the token.
    assert_eq!(
        integration_entries[0]["fields"],
        json!(["accessToken", "enabled"])
    );
    assert_eq!(integration_entries[0]["actor"], "platform_admin:root");
    assert_eq!(
        integration_entries[1]["fields"],
        json!(["enabled", "phoneNumberId"])
    );
    let dump = audit.body.to_string();
    assert!(!dump.contains(TOKEN) && !dump.contains("EAANewToken") && !dump.contains(APP_SECRET));
}

#[tokio::test]
async fn provider_specific_validation_lists_every_bad_field() {
    let api = Api::new("api-int-valid").await;
    let tenant = api.create_tenant("Acme").await;

    let twilio = put(&api, &tenant, "sms", json!({
        "provider": "twilio", "accountSid": "AB123", "authToken": "x", "phoneNumber": "555-1234",
        "messagingServiceSid": "MGnothex", "region": "us-east-1"
    }))
    .await;
    assert_eq!(twilio.status, 422, "{}", twilio.body);
    let fields: Vec<&str> = twilio.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["accountSid", "phoneNumber", "messagingServiceSid", "region"]
    );

    let no_provider = put(&api, &tenant, "sms", json!({"enabled": true})).await;
    assert_eq!(no_provider.status, 422);
    assert_eq!(no_provider.body["error"]["details"][0]["field"], "provider");
    let bad_provider = put(&api, &tenant, "sms", json!({"provider": "pigeon"})).await;
    assert_eq!(bad_provider.status, 422);

    let incomplete = put(
        &api,
        &tenant,
        "sms",
        json!({"provider": "vonage", "apiKey": "abcd1234"}),
    )
    .await;
    assert_eq!(
        incomplete.status, 422,
        "enabled vonage needs a secret and a sender"
    );
    let fields: Vec<&str> = incomplete.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["apiSecret", "from"]);

    let sns = put(
        &api,
        &tenant,
        "sms",
        json!({"provider": "sns", "region": "Mars-1", "senderId": "1234567890123"}),
    )
    .await;
    assert_eq!(sns.status, 422);
    let half_keys = put(
        &api,
        &tenant,
        "sms",
        json!({"provider": "sns", "region": "us-east-1", "accessKeyId": "AKIAIOSFODNN7EXAMPLE"}),
    )
    .await;
    assert_eq!(half_keys.status, 422, "{}", half_keys.body);
    let sns_ok = put(&api, &tenant, "sms", json!({"provider": "sns", "region": "eu-west-1", "senderId": "HOOKHUB", "smsType": "Transactional"})).await;
    assert_eq!(sns_ok.status, 200, "{}", sns_ok.body);

    // Switching provider drops the previous provider's credentials.
    let twilio_ok = put(&api, &tenant, "sms", json!({
        "provider": "twilio", "accountSid": "AC0123456789abcdef0123456789abcdef", "authToken": "tok-0123456789",
        "messagingServiceSid": "MG0123456789abcdef0123456789abcdef"
    }))
    .await;
    assert_eq!(twilio_ok.status, 200, "{}", twilio_ok.body);
    assert!(twilio_ok.body.get("region").is_none());
    assert!(twilio_ok.body.get("senderId").is_none());

    let n8n = put(
        &api,
        &tenant,
        "n8n",
        json!({"baseUrl": "https://user:pw@n8n.example.com/"}),
    )
    .await;
    assert_eq!(n8n.status, 422);
    let wrong_types = put(
        &api,
        &tenant,
        "whatsapp",
        json!({"enabled": "yes", "phoneNumberId": 12, "phoneNumber": "+1"}),
    )
    .await;
    assert_eq!(wrong_types.status, 422);
    let fields: Vec<&str> = wrong_types.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["enabled", "phoneNumberId", "phoneNumber"]);

    let unknown_kind = put(&api, &tenant, "telegram", json!({})).await;
    assert_eq!(unknown_kind.status, 404);
    let unknown_tenant = put(
        &api,
        "ten_01JDQ7Y3ZK5V8X9W2M4N6P8R0T",
        "n8n",
        json!({"baseUrl": "https://x.example.com"}),
    )
    .await;
    assert_eq!(unknown_tenant.status, 404);

    // Failed PUTs stored nothing: only the two good SMS configurations are in the audit log.
    let audit = api
        .call(
            "GET",
            &format!("/api/platform/tenants/{tenant}/audit"),
            &api.admin,
            None,
        )
        .await;
    let n = audit.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "integration.updated")
        .count();
    assert_eq!(n, 2);
}
