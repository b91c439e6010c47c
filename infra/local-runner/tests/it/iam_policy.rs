//! Each function's IAM policy in `template.yaml` against what its code asks of AWS.
//!
//! The emulator enforces no IAM, so a missing permission passes every other test and fails
//! only once deployed. Here the three functions run with their own counted clients (as three
//! Lambda functions with three roles) through a walk that reaches every admin API route with
//! a success, both Meta ingress routes and every job kind of the worker, including its retry
//! and dead-letter paths. Every request is turned into the IAM actions AWS authorises it by
//! (a transaction by its parts' actions, an SQS batch by the single-message action) on the
//! resource it names. Each function's policy must grant exactly those: nothing it needs may
//! be missing, and nothing it grants may go unused.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::support::{emails_to, providers, Behaviour, Receiver, Stack};
use hookhub_shared::store::keys;
use hookhub_test_support::{AwsCallCounter, IamPermission};
use serde_json::{json, Value};
use serde_yaml_ng::Value as Yaml;

const TEMPLATE: &str = include_str!("../../../../template.yaml");
const WAIT: Duration = Duration::from_secs(60);
const WA_SECRET: &str = "wa-app-secret-0123456789abcdef";

/// The `(action, resource)` pairs a function's policy grants, resources by their logical
/// names: `Table`, `Table/index/*`, `DeliveryQueue`, `SecretsKey`, `UserPool`, `*`.
fn granted(function: &str) -> BTreeSet<IamPermission> {
    let template: Yaml = serde_yaml_ng::from_str(TEMPLATE).expect("template.yaml parses");
    let policies = template["Resources"][function]["Properties"]["Policies"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{function} has no Policies list"));
    let mut pairs = BTreeSet::new();
    for policy in policies {
        let policy = configured(policy);
        let statements = policy["Statement"].as_sequence().unwrap_or_else(|| {
            panic!("{function}: only inline statements are checked, found {policy:?}")
        });
        for statement in statements {
            assert_eq!(
                statement["Effect"].as_str(),
                Some("Allow"),
                "{function}: {statement:?}"
            );
            assert!(
                statement.get("Condition").is_none(),
                "{function}: conditions are not modelled here: {statement:?}"
            );
            for action in one_or_many(&statement["Action"]) {
                let action = action
                    .as_str()
                    .unwrap_or_else(|| panic!("{function}: action {action:?}"));
                for resource in one_or_many(&statement["Resource"]) {
                    pairs.insert((action.to_string(), logical_resource(resource)));
                }
            }
        }
    }
    pairs
}

/// A policy given only when a parameter is set (`!If [Condition, policy, !Ref AWS::NoValue]`)
/// is read as given: the walk runs with every optional feature configured.
fn configured(policy: &Yaml) -> &Yaml {
    match policy {
        Yaml::Tagged(tagged) if tagged.tag == "!If" => &tagged.value[1],
        other => other,
    }
}

fn one_or_many(value: &Yaml) -> Vec<&Yaml> {
    match value {
        Yaml::Sequence(items) => items.iter().collect(),
        Yaml::Null => Vec::new(),
        one => vec![one],
    }
}

/// `!GetAtt Table.Arn` → `Table`, `!Sub ${Table.Arn}/index/*` → `Table/index/*`, `"*"`;
/// an SES identity (`!Sub arn:…:identity/${AlertSender}`, or the list form naming a
/// variable of its own) → `identity/AlertSender`.
fn logical_resource(resource: &Yaml) -> String {
    match resource {
        Yaml::String(s) => s.clone(),
        Yaml::Tagged(tagged) => {
            let value = match &tagged.value {
                Yaml::Sequence(parts) => parts[0].as_str(),
                scalar => scalar.as_str(),
            }
            .expect("a scalar intrinsic, or !Sub's list form");
            if let Some((_, identity)) = value.split_once(":identity/") {
                return format!("identity/{}", identity.replace("${", "").replace('}', ""));
            }
            match tagged.tag.to_string().as_str() {
                "!GetAtt" => value
                    .strip_suffix(".Arn")
                    .unwrap_or_else(|| panic!("!GetAtt {value}: only .Arn is modelled"))
                    .to_string(),
                "!Sub" => value.replace("${", "").replace(".Arn}", ""),
                other => panic!("resource {other} {value} is not modelled"),
            }
        }
        other => panic!("resource {other:?} is not modelled"),
    }
}

/// The recorded permissions, with the stack's resource names turned into the template's
/// logical names.
fn needed(calls: &AwsCallCounter, stack: &Stack) -> BTreeSet<IamPermission> {
    let names = &stack.stack.stack;
    let queue_name = |url: &str| url.rsplit('/').next().unwrap_or_default().to_string();
    let table = format!("table/{}", names.table_name);
    let queue = format!("queue/{}", queue_name(&names.queue_url));
    let dead_letters = format!("queue/{}", queue_name(&names.dead_letter_queue_url));
    let sender = stack
        .stack
        .ctx
        .config
        .alert_sender
        .as_deref()
        .unwrap_or("-");
    let sender_identity = format!("identity/{sender}");
    let sender_domain = format!("identity/{}", sender.rsplit('@').next().unwrap_or_default());
    let user_pool = format!(
        "userpool/{}",
        stack
            .stack
            .ctx
            .config
            .user_pool_id
            .as_deref()
            .unwrap_or("-")
    );
    calls
        .permissions()
        .into_iter()
        .map(|(action, resource)| {
            let logical = if resource == table {
                "Table".to_string()
            } else if resource.starts_with(&format!("{table}/index/")) {
                "Table/index/*".to_string()
            } else if resource == queue {
                "DeliveryQueue".to_string()
            } else if resource == dead_letters {
                "DeliveryDeadLetterQueue".to_string()
            } else if resource == "key" {
                "SecretsKey".to_string()
            } else if resource == user_pool {
                "UserPool".to_string()
            } else if resource == sender_identity {
                "identity/AlertSender".to_string()
            } else if resource == sender_domain {
                "identity/AlertSenderDomain".to_string()
            } else if resource == "*" {
                "*".to_string()
            } else {
                panic!("{action} on {resource}, which the template does not create");
            };
            (action, logical)
        })
        .collect()
}

/// What is wrong with `granted` for a function whose calls need `needed`.
fn compare(
    function: &str,
    granted: &BTreeSet<IamPermission>,
    needed: &BTreeSet<IamPermission>,
) -> Vec<String> {
    let missing: Vec<_> = needed.difference(granted).collect();
    let unused: Vec<_> = granted.difference(needed).collect();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!(
            "{function} calls AWS without these grants (AccessDenied once deployed): {missing:?}"
        ));
    }
    if !unused.is_empty() {
        problems.push(format!(
            "{function} is granted what none of its calls needs (least privilege): {unused:?}"
        ));
    }
    problems
}

/// The admin API's routes that answered with a success, by their template.
struct Walk<'a> {
    stack: &'a Stack,
    reached: BTreeSet<(String, String)>,
}

impl<'a> Walk<'a> {
    /// Calls the admin API as a platform admin and expects `status`.
    async fn expect(
        &mut self,
        status: u16,
        method: &str,
        path: &str,
        tenant: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let token = self.stack.admin.clone();
        self.expect_as(&token, status, method, path, tenant, body)
            .await
    }

    async fn expect_as(
        &mut self,
        token: &str,
        status: u16,
        method: &str,
        path: &str,
        tenant: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let (s, reply) = self.stack.call(method, path, token, tenant, body).await;
        assert_eq!(s, status, "{method} {path}: {reply}");
        let route = route_of(method, path.split('?').next().unwrap_or(path))
            .unwrap_or_else(|| panic!("{method} {path} is no admin API route"));
        self.reached.insert(route);
        reply
    }
}

/// The route template a concrete path is served by; static segments win over parameters,
/// as in the router.
fn route_of(method: &str, path: &str) -> Option<(String, String)> {
    let segments: Vec<&str> = path.split('/').collect();
    admin_api::ROUTES
        .iter()
        .filter(|(m, _)| *m == method)
        .filter_map(|(m, template)| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut fixed = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') {
                    continue;
                }
                if part != segment {
                    return None;
                }
                fixed += 1;
            }
            Some((fixed, (m.to_string(), template.to_string())))
        })
        .max_by_key(|(fixed, _)| *fixed)
        .map(|(_, route)| route)
}

async fn post_meta(stack: &Stack, tenant: &str, body: &Value) {
    let (status, reply) = stack.post_meta(tenant, WA_SECRET, body).await;
    assert_eq!(status, 200, "{reply}");
}

/// Polls `check` until it answers something, for at most `WAIT`.
async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not seen within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn id(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {value}"))
        .to_string()
}

const TEMPORARY: &str = "Temporary-passw0rd!";
const CHOSEN: &str = "Chosen-passw0rd-iam!";

/// Sign-in and people management: invitations at both scopes, a first sign-in with its
/// new-password challenge, refresh, password reset, sign-out, disable, enable, remove, and
/// a person left in `spare` for the tenant's deletion to remove.
async fn walk_people(walk: &mut Walk<'_>, tenant: &str, spare: &str) {
    let platform = id_of(
        &walk
            .expect(
                201,
                "POST",
                "/api/platform/users",
                None,
                Some(json!({"email": "ops@iam.test", "temporaryPassword": TEMPORARY})),
            )
            .await,
    );
    walk.expect(200, "GET", "/api/platform/users", None, None)
        .await;
    for action in ["disable", "enable"] {
        walk.expect(
            200,
            "POST",
            &format!("/api/platform/users/{platform}/{action}"),
            None,
            None,
        )
        .await;
    }
    walk.expect(
        204,
        "DELETE",
        &format!("/api/platform/users/{platform}"),
        None,
        None,
    )
    .await;
    walk.expect(200, "GET", "/api/platform/audit", None, None)
        .await;

    let users = format!("/api/platform/tenants/{tenant}/users");
    let alice = id_of(
        &walk
            .expect(
                201,
                "POST",
                &users,
                None,
                Some(json!({"email": "alice@iam.test", "temporaryPassword": TEMPORARY})),
            )
            .await,
    );
    walk.expect(
        201,
        "POST",
        &format!("/api/platform/tenants/{spare}/users"),
        None,
        Some(json!({"email": "bob@iam.test", "temporaryPassword": TEMPORARY})),
    )
    .await;
    walk.expect(200, "GET", &users, None, None).await;
    let challenge = walk
        .expect(
            200,
            "POST",
            "/api/auth/login",
            None,
            Some(json!({"email": "alice@iam.test", "password": TEMPORARY})),
        )
        .await;
    let tokens = walk
        .expect(
            200,
            "POST",
            "/api/auth/challenge",
            None,
            Some(
                json!({"email": "alice@iam.test", "session": challenge["session"],
                        "newPassword": CHOSEN}),
            ),
        )
        .await;
    let refreshed = walk
        .expect(
            200,
            "POST",
            "/api/auth/refresh",
            None,
            Some(json!({"refreshToken": tokens["refreshToken"]})),
        )
        .await;
    let alice_token = refreshed["idToken"]
        .as_str()
        .expect("an ID token")
        .to_string();
    walk.expect_as(&alice_token, 200, "GET", "/api/auth/me", None, None)
        .await;
    walk.expect_as(&alice_token, 200, "GET", "/api/v1/users", None, None)
        .await;
    walk.expect(
        202,
        "POST",
        "/api/auth/forgot-password",
        None,
        Some(json!({"email": "alice@iam.test"})),
    )
    .await;
    // The emulator takes any code without its own prefix as the emailed one.
    walk.expect(
        204,
        "POST",
        "/api/auth/confirm-forgot-password",
        None,
        Some(json!({"email": "alice@iam.test", "code": "123456", "newPassword": CHOSEN})),
    )
    .await;
    walk.expect_as(&alice_token, 204, "POST", "/api/auth/logout", None, None)
        .await;
    for action in ["disable", "enable"] {
        walk.expect(
            200,
            "POST",
            &format!("{users}/{alice}/{action}"),
            None,
            None,
        )
        .await;
    }
    walk.expect(204, "DELETE", &format!("{users}/{alice}"), None, None)
        .await;
}

fn id_of(person: &Value) -> String {
    person["userId"]
        .as_str()
        .unwrap_or_else(|| panic!("no userId in {person}"))
        .to_string()
}

#[tokio::test]
async fn every_functions_policy_grants_exactly_what_its_calls_need() {
    // Graph calls (subscriptions, health checks) go to a local server answering like Meta.
    let graph = providers::ProviderMock::start().await;
    let mut settings = graph.settings();
    settings.push(("HOOKHUB_ALERT_SENDER", "alerts@iam.test".to_string()));
    let (stack, calls) = Stack::start_counted("iam", &settings).await;
    let ok = Receiver::start(Behaviour::Ok).await;
    let failing = Receiver::start(Behaviour::AlwaysFail).await;
    let gone = Receiver::start(Behaviour::Gone).await;
    let flow = Receiver::start(Behaviour::Ok).await;
    let mut walk = Walk {
        stack: &stack,
        reached: BTreeSet::new(),
    };

    // Platform: tenants, integrations, audit.
    walk.expect(200, "GET", "/api/health", None, None).await;
    walk.expect(200, "GET", "/api/openapi.json", None, None)
        .await;
    let tenant = id(&walk
        .expect(
            201,
            "POST",
            "/api/platform/tenants",
            None,
            Some(json!({"name": "IAM"})),
        )
        .await);
    let spare = id(&walk
        .expect(
            201,
            "POST",
            "/api/platform/tenants",
            None,
            Some(json!({"name": "Spare"})),
        )
        .await);
    let t = |path: &str| format!("/api/platform/tenants/{tenant}{path}");
    walk.expect(200, "GET", "/api/platform/tenants", None, None)
        .await;
    walk.expect(200, "GET", &t(""), None, None).await;
    walk.expect(
        200,
        "PATCH",
        &t(""),
        None,
        Some(json!({"contactEmail": "ops@iam.test"})),
    )
    .await;
    walk.expect(
        200,
        "PUT",
        &t("/integrations/whatsapp"),
        None,
        Some(json!({"enabled": true, "phoneNumberId": "106540352242922",
                    "businessAccountId": "102290129340398", "accessToken": "EAATestAccessToken123456789",
                    "webhookVerifyToken": "verify-me", "appSecret": WA_SECRET})),
    )
    .await;
    walk.expect(
        200,
        "PUT",
        &t("/integrations/sms"),
        None,
        Some(json!({"enabled": true, "provider": "sns", "region": "us-east-1"})),
    )
    .await;
    walk.expect(200, "GET", &t("/integrations"), None, None)
        .await;
    walk.expect(
        200,
        "POST",
        &t("/integrations/sms/test"),
        None,
        Some(json!({"to": "+12065550100", "text": "IAM test"})),
    )
    .await;
    walk.expect(200, "GET", &t("/audit"), None, None).await;

    // n8n workflows.
    let workflow = id(&walk
        .expect(
            201,
            "POST",
            &t("/webhooks"),
            None,
            Some(json!({"workflowName": "iam_flow", "webhookUrl": flow.url, "events": ["message.received"]})),
        )
        .await);
    let doomed_workflow = id(&walk
        .expect(
            201,
            "POST",
            &t("/webhooks"),
            None,
            Some(json!({"workflowName": "iam_doomed", "webhookUrl": flow.url})),
        )
        .await);
    walk.expect(200, "GET", &t("/webhooks"), None, None).await;
    walk.expect(
        200,
        "PUT",
        &t(&format!("/webhooks/{workflow}")),
        None,
        Some(json!({"webhookUrl": flow.url})),
    )
    .await;
    walk.expect(
        202,
        "POST",
        &t(&format!("/webhooks/{workflow}/call")),
        None,
        Some(json!({"hello": "flow"})),
    )
    .await;
    walk.expect(
        202,
        "POST",
        &t("/webhooks/by-name/iam_flow/call"),
        None,
        Some(json!({"hello": "by name"})),
    )
    .await;
    walk.expect(
        202,
        "POST",
        &t("/webhooks/broadcast"),
        None,
        Some(json!({"hello": "everyone"})),
    )
    .await;
    // Waiting: the admin API makes the call, logs and counts it itself.
    let answered = walk
        .expect(
            200,
            "POST",
            &t("/webhooks/by-name/iam_flow/call?wait=true"),
            None,
            Some(json!({"hello": "and answer"})),
        )
        .await;
    walk.expect(200, "GET", &t("/webhooks/logs"), None, None)
        .await;
    walk.expect(
        200,
        "GET",
        &t(&format!(
            "/webhooks/logs/{}",
            answered["logId"].as_str().unwrap()
        )),
        None,
        None,
    )
    .await;
    walk.expect(200, "GET", &t("/webhooks/analytics/summary"), None, None)
        .await;
    walk.expect(200, "GET", &t("/webhooks/analytics/recent"), None, None)
        .await;
    walk.expect(
        200,
        "GET",
        &t(&format!("/webhooks/{workflow}/analytics")),
        None,
        None,
    )
    .await;
    walk.expect(
        204,
        "DELETE",
        &t(&format!("/webhooks/{doomed_workflow}")),
        None,
        None,
    )
    .await;

    // API keys, one of them used.
    let key = walk
        .expect(
            201,
            "POST",
            "/api/v1/api-keys",
            Some(&tenant),
            Some(json!({"name": "reader", "permissions": ["read:webhooks"]})),
        )
        .await;
    let key_id = id(&key);
    walk.expect(200, "GET", "/api/v1/api-keys", Some(&tenant), None)
        .await;
    walk.expect(
        200,
        "GET",
        &format!("/api/v1/api-keys/{key_id}/usage"),
        Some(&tenant),
        None,
    )
    .await;
    walk.expect(200, "GET", "/api/v1/audit", Some(&tenant), None)
        .await;
    let regenerated = walk
        .expect(
            200,
            "POST",
            &format!("/api/v1/api-keys/{key_id}/regenerate"),
            Some(&tenant),
            None,
        )
        .await;
    let api_key = regenerated["key"]
        .as_str()
        .expect("the new key")
        .to_string();
    walk.expect_as(&api_key, 200, "GET", "/api/v1/webhooks", None, None)
        .await;
    walk.expect(
        204,
        "DELETE",
        &format!("/api/v1/api-keys/{key_id}"),
        Some(&tenant),
        None,
    )
    .await;

    // Webhook endpoints, a publish, its deliveries and their logs.
    walk.expect(200, "GET", "/api/v1/webhooks/events", Some(&tenant), None)
        .await;
    let endpoint = id(&walk
        .expect(
            201,
            "POST",
            "/api/v1/webhooks",
            Some(&tenant),
            Some(json!({"name": "ok", "url": ok.url, "events": ["*"]})),
        )
        .await);
    let broken = id(&walk
        .expect(
            201,
            "POST",
            "/api/v1/webhooks",
            Some(&tenant),
            Some(
                json!({"name": "failing", "url": failing.url, "events": ["contact.*"],
                        "retryAttempts": 1, "retryDelay": 1}),
            ),
        )
        .await);
    // Answers 410 to the event published below: disabled at once, and the tenant's contact
    // emailed.
    walk.expect(
        201,
        "POST",
        "/api/v1/webhooks",
        Some(&tenant),
        Some(json!({"name": "gone", "url": gone.url, "events": ["contact.created"]})),
    )
    .await;
    let emails_before = emails_to("ops@iam.test").await.len();
    let doomed = id(&walk
        .expect(
            201,
            "POST",
            "/api/v1/webhooks",
            Some(&tenant),
            Some(json!({"name": "doomed", "url": ok.url, "events": ["contact.deleted"]})),
        )
        .await);
    let w = |path: &str| format!("/api/v1/webhooks{path}");
    walk.expect(200, "GET", &w(&format!("/{endpoint}")), Some(&tenant), None)
        .await;
    walk.expect(
        200,
        "PATCH",
        &w(&format!("/{endpoint}")),
        Some(&tenant),
        Some(json!({"description": "every event"})),
    )
    .await;
    walk.expect(
        200,
        "POST",
        &w(&format!("/{endpoint}/test")),
        Some(&tenant),
        Some(json!({})),
    )
    .await;
    walk.expect(
        200,
        "POST",
        &w(&format!("/{endpoint}/rotate-secret")),
        Some(&tenant),
        Some(json!({})),
    )
    .await;
    walk.expect(
        202,
        "POST",
        "/api/v1/events",
        Some(&tenant),
        Some(json!({"type": "contact.created", "data": {"contact": {"id": "c1"}}})),
    )
    .await;
    walk.expect(
        204,
        "DELETE",
        &w(&format!("/{doomed}")),
        Some(&tenant),
        None,
    )
    .await;

    wait_for("the email about the endpoint that is gone", || async {
        (emails_to("ops@iam.test").await.len() > emails_before).then_some(())
    })
    .await;

    // The failing endpoint gives up after its one retry; the good one got the event.
    let failed_for_good = wait_for("the failing endpoint's two attempts", || async {
        let logs = stack.logs(&tenant, &broken).await;
        (logs.len() >= 2).then(|| logs[0].clone())
    })
    .await;
    let ok_logs = stack.logs(&tenant, &endpoint).await;
    let ok_log = ok_logs
        .iter()
        .find(|l| l["eventType"] == "contact.created")
        .unwrap_or_else(|| panic!("no delivery of the published event: {ok_logs:?}"));
    walk.expect(200, "GET", &w("/logs"), Some(&tenant), None)
        .await;
    walk.expect(
        200,
        "GET",
        &w(&format!("/logs/{}", id(ok_log))),
        Some(&tenant),
        None,
    )
    .await;
    walk.expect(200, "GET", "/api/v1/events", Some(&tenant), None)
        .await;
    walk.expect(
        200,
        "GET",
        &format!("/api/v1/events/{}", ok_log["eventId"].as_str().unwrap()),
        Some(&tenant),
        None,
    )
    .await;
    walk.expect(200, "GET", &w("/analytics"), Some(&tenant), None)
        .await;
    walk.expect(
        200,
        "GET",
        &w(&format!("/{broken}/logs")),
        Some(&tenant),
        None,
    )
    .await;
    walk.expect(
        200,
        "GET",
        &w(&format!("/{endpoint}/stats")),
        Some(&tenant),
        None,
    )
    .await;
    walk.expect(
        202,
        "POST",
        &w(&format!("/logs/{}/retry", id(ok_log))),
        Some(&tenant),
        None,
    )
    .await;
    let since = (chrono::Utc::now() - chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let recovered = walk
        .expect(
            202,
            "POST",
            &w(&format!("/{broken}/recover?since={since}")),
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(
        recovered["recovered"], 1,
        "{recovered} after {failed_for_good}"
    );

    // Messages.
    let message = id(&walk
        .expect(
            202,
            "POST",
            "/api/v1/messages",
            Some(&tenant),
            Some(json!({"channel": "sms", "to": "+12065550101", "text": "hello"})),
        )
        .await);
    walk.expect(200, "GET", "/api/v1/messages", Some(&tenant), None)
        .await;
    let message_path = format!("/api/v1/messages/{message}");
    wait_for("the message sent", || async {
        let (_, reply) = stack
            .call("GET", &message_path, &stack.admin, Some(&tenant), None)
            .await;
        (reply["status"] == "sent").then_some(())
    })
    .await;
    walk.expect(
        200,
        "GET",
        &format!("/api/v1/messages/{message}"),
        Some(&tenant),
        None,
    )
    .await;

    // Meta: Meta's subscription check and a signed message through the ingress.
    let verify = stack
        .http
        .get(format!(
            "{}/webhooks/meta/{tenant}?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42",
            stack.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(verify.status(), 200);
    let inbound = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
        "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
            "messages": [{"from": "16505551234", "id": "wamid.IAM1", "timestamp": "1700000000",
                          "type": "text", "text": {"body": "hi"}}]}}]}]});
    // Tenants stored before the subscription index have none: their fan-out lists endpoints.
    stack
        .stack
        .ctx
        .table
        .delete(&keys::subscriptions(&tenant))
        .await
        .unwrap();
    post_meta(&stack, &tenant, &inbound).await;
    let contact = wait_for("the contact captured", || async {
        let (_, reply) = stack
            .call("GET", "/api/v1/contacts", &stack.admin, Some(&tenant), None)
            .await;
        reply["data"].as_array().and_then(|d| d.first()).map(id)
    })
    .await;
    // A processing run that fails part-way (its fan-out cannot list the endpoints) gives its
    // claim up for the retry, which then finishes the event.
    calls.delivery_worker.refuse(&["Query"]);
    let second = serde_json::to_string(&inbound)
        .unwrap()
        .replace("wamid.IAM1", "wamid.IAM2");
    post_meta(&stack, &tenant, &serde_json::from_str(&second).unwrap()).await;
    let released = (
        "dynamodb:DeleteItem".to_string(),
        format!("table/{}", stack.stack.stack.table_name),
    );
    wait_for("the claim released", || async {
        calls
            .delivery_worker
            .permissions()
            .contains(&released)
            .then_some(())
    })
    .await;
    calls.delivery_worker.refuse(&[]);
    wait_for("both Meta events processed", || async {
        let (_, reply) = stack
            .call(
                "GET",
                "/api/v1/meta/events?status=processed",
                &stack.admin,
                Some(&tenant),
                None,
            )
            .await;
        (reply["data"].as_array().map_or(0, Vec::len) >= 2).then_some(())
    })
    .await;
    let events = walk
        .expect(200, "GET", "/api/v1/meta/events", Some(&tenant), None)
        .await;
    let meta_event = id(&events["data"][0]);
    walk.expect(
        200,
        "GET",
        &format!("/api/v1/meta/events/{meta_event}"),
        Some(&tenant),
        None,
    )
    .await;
    walk.expect(
        201,
        "POST",
        "/api/v1/meta/subscriptions",
        Some(&tenant),
        Some(json!({"channel": "whatsapp"})),
    )
    .await;
    walk.expect(
        200,
        "GET",
        "/api/v1/meta/subscriptions",
        Some(&tenant),
        None,
    )
    .await;
    walk.expect(
        200,
        "POST",
        "/api/v1/meta/health/check",
        Some(&tenant),
        None,
    )
    .await;
    walk.expect(
        204,
        "DELETE",
        "/api/v1/meta/subscriptions/whatsapp",
        Some(&tenant),
        None,
    )
    .await;
    walk.expect(200, "GET", "/api/v1/meta/health", Some(&tenant), None)
        .await;
    walk.expect(
        200,
        "GET",
        "/api/v1/meta/monitoring/dashboard",
        Some(&tenant),
        None,
    )
    .await;
    let suite = id(&walk
        .expect(
            201,
            "POST",
            "/api/v1/meta/test-suites",
            Some(&tenant),
            Some(
                json!({"accountId": "17841400008460056", "senderId": "16505551234",
                        "senderUsername": "sheena.nelson"}),
            ),
        )
        .await);
    walk.expect(
        200,
        "POST",
        &format!("/api/v1/meta/test-suites/{suite}/execute"),
        Some(&tenant),
        None,
    )
    .await;
    walk.expect(200, "GET", "/api/v1/meta/test-suites", Some(&tenant), None)
        .await;
    walk.expect(
        200,
        "GET",
        &format!("/api/v1/meta/test-suites/{suite}"),
        Some(&tenant),
        None,
    )
    .await;
    walk.expect(
        200,
        "POST",
        &format!("/api/v1/meta/test-suites/{suite}/cases/whatsapp_text/execute"),
        Some(&tenant),
        None,
    )
    .await;
    // A failed event, as an outage would leave one, is reprocessed.
    let store = stack.stack.ctx.meta_events();
    let mut failed = store.get(&tenant, &meta_event).await.unwrap();
    failed.status = hookhub_shared::meta::ProcessingStatus::Failed;
    store.record_outcome(&failed).await.unwrap();
    walk.expect(
        202,
        "POST",
        &format!("/api/v1/meta/events/{meta_event}/reprocess"),
        Some(&tenant),
        None,
    )
    .await;

    // Contacts.
    walk.expect(200, "GET", "/api/v1/contacts", Some(&tenant), None)
        .await;
    let c = format!("/api/v1/contacts/{contact}");
    walk.expect(200, "GET", &c, Some(&tenant), None).await;
    walk.expect(
        200,
        "PATCH",
        &c,
        Some(&tenant),
        Some(json!({"tags": ["vip"], "exportConsent": true})),
    )
    .await;
    walk.expect(
        200,
        "GET",
        "/api/v1/export/contacts.csv",
        Some(&tenant),
        None,
    )
    .await;
    walk.expect(
        200,
        "GET",
        "/api/v1/export/contacts.json",
        Some(&tenant),
        None,
    )
    .await;
    walk.expect(200, "GET", "/api/v1/export/audit", Some(&tenant), None)
        .await;
    let erased = walk.expect(202, "DELETE", &c, Some(&tenant), None).await;
    let status_url = erased["erasure"]["statusUrl"].as_str().unwrap().to_string();
    walk.expect(200, "GET", "/api/v1/contacts/erasures", Some(&tenant), None)
        .await;
    // The worker runs the erasure job to its end, so its calls are in the record.
    let mut erasure = walk
        .expect(200, "GET", &status_url, Some(&tenant), None)
        .await;
    for _ in 0..100 {
        if erasure["status"] == "done" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        erasure = walk
            .expect(200, "GET", &status_url, Some(&tenant), None)
            .await;
    }
    assert_eq!(erasure["status"], "done", "{erasure}");
    walk_people(&mut walk, &tenant, &spare).await;
    walk.expect(
        204,
        "DELETE",
        &format!("/api/platform/tenants/{spare}"),
        None,
        None,
    )
    .await;

    // The worker's other paths: the scheduled sweep, and a message it cannot read, which
    // goes to the dead-letter queue.
    let sweep =
        hookhub_shared::jobs::Job::new(hookhub_shared::meta::SWEEP_JOB, "platform", json!({}));
    stack
        .stack
        .ctx
        .queue
        .enqueue(
            &[
                sweep,
                hookhub_shared::jobs::Job::new(
                    hookhub_shared::meta::GRAPH_HEALTH_JOB,
                    "platform",
                    json!({}),
                ),
            ],
            Duration::ZERO,
        )
        .await
        .expect("sweep job enqueued");
    stack
        .stack
        .clients
        .sqs
        .send_message()
        .queue_url(&stack.stack.stack.queue_url)
        .message_body("not a job")
        .send()
        .await
        .expect("garbage enqueued");
    let queues = &stack.stack;
    wait_for("the queue drained", || async {
        let drained = queues.queue_depth(&queues.stack.queue_url).await == 0;
        let dead = queues
            .queue_depth(&queues.stack.dead_letter_queue_url)
            .await;
        (drained && dead == 1).then_some(())
    })
    .await;

    // Every route was reached with a success, so every handler's calls are in the record.
    let all: BTreeSet<(String, String)> = admin_api::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let unreached: Vec<_> = all.difference(&walk.reached).collect();
    assert!(
        unreached.is_empty(),
        "routes the walk missed: {unreached:?}"
    );
    let jobs: BTreeSet<String> = calls
        .delivery_worker
        .permissions()
        .into_iter()
        .map(|(action, _)| action)
        .collect();
    assert!(!jobs.is_empty(), "the worker made no AWS call");

    let functions: BTreeMap<&str, &AwsCallCounter> = [
        ("AdminApiFunction", &calls.admin_api),
        ("MetaIngressFunction", &calls.meta_ingress),
        ("DeliveryWorkerFunction", &calls.delivery_worker),
    ]
    .into_iter()
    .collect();
    let mut problems = Vec::new();
    for (function, counter) in functions {
        problems.extend(compare(
            function,
            &granted(function),
            &needed(counter, &stack),
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn pairs(list: &[(&str, &str)]) -> BTreeSet<IamPermission> {
    list.iter()
        .map(|(a, r)| (a.to_string(), r.to_string()))
        .collect()
}

#[test]
fn a_policy_that_lacks_a_needed_action_or_grants_an_unused_one_is_reported() {
    let needed = pairs(&[
        ("dynamodb:BatchGetItem", "Table"),
        ("dynamodb:Query", "Table/index/*"),
    ]);
    assert!(compare("F", &needed, &needed).is_empty());
    let problems = compare("F", &pairs(&[("dynamodb:Query", "Table/index/*")]), &needed);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("AccessDenied") && problems[0].contains("BatchGetItem"));
    let mut broad = needed.clone();
    broad.insert(("dynamodb:Query".into(), "Table".into()));
    let problems = compare("F", &broad, &needed);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("least privilege"), "{problems:?}");
}

#[test]
fn the_templates_resources_are_read_by_their_logical_names() {
    let statement: Yaml =
        serde_yaml_ng::from_str("Resource: [!GetAtt Table.Arn, !Sub '${Table.Arn}/index/*', '*']")
            .unwrap();
    let names: Vec<String> = one_or_many(&statement["Resource"])
        .into_iter()
        .map(logical_resource)
        .collect();
    assert_eq!(names, ["Table", "Table/index/*", "*"]);
    let ses: Yaml = serde_yaml_ng::from_str(
        "Resource:\n  - !Sub 'arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${AlertSender}'\n  - !Sub ['arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${D}', {D: x}]",
    )
    .unwrap();
    let names: Vec<String> = one_or_many(&ses["Resource"])
        .into_iter()
        .map(logical_resource)
        .collect();
    assert_eq!(names, ["identity/AlertSender", "identity/D"]);
    // Every function's policy parses into pairs.
    for function in [
        "AdminApiFunction",
        "MetaIngressFunction",
        "DeliveryWorkerFunction",
    ] {
        assert!(!granted(function).is_empty(), "{function}");
    }
}
