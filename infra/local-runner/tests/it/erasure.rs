//! Erasing a contact who has Meta events, hookhub events, deliveries (one failed with the
//! receiver echoing the body, its retry still queued) and messages: the erasure runs as a
//! job whose status can be read, and afterwards no stored item holds the person's number,
//! the queued retry and a retry from the log send the erased data, and another person's
//! data is untouched.

use std::time::Duration;

use serde_json::{json, Value};

use crate::contacts::{configure, post_signed, whatsapp_message};
use crate::support::{Behaviour, Received, Receiver, Stack};

const WA_SECRET: &str = "wa-app-secret-0123456789abcdef";
const ANA: &str = "15551230001";
const BEN: &str = "15551230002";
const WAIT: Duration = Duration::from_secs(40);

async fn get(stack: &Stack, tenant: &str, path: &str) -> (u16, Value) {
    stack
        .call("GET", path, &stack.admin, Some(tenant), None)
        .await
}

/// Every string stored in the stack's table, item by item.
async fn stored_items(stack: &Stack) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = stack
            .stack
            .clients
            .dynamodb
            .scan()
            .table_name(&stack.stack.ctx.config.table_name)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        out.extend(page.items().iter().map(|i| format!("{i:?}")));
        match page.last_evaluated_key() {
            Some(k) => start = Some(k.clone()),
            None => return out,
        }
    }
}

/// What the receiver got for the same delivery as `first` (its webhook-id), in order.
fn same_delivery(receiver: &Receiver, first: &Received) -> Vec<Received> {
    receiver
        .all()
        .into_iter()
        .filter(|r| r.headers["webhook-id"] == first.headers["webhook-id"])
        .collect()
}

#[tokio::test]
async fn an_erased_contact_leaves_no_trace_and_later_sends_carry_none() {
    let stack = Stack::start("e2e-erasure").await;
    let tenant = stack.tenant().await;
    configure(&stack, &tenant).await;
    let (s, reply) = stack
        .call(
            "PUT",
            &format!("/api/platform/tenants/{tenant}/integrations/sms"),
            &stack.admin,
            None,
            Some(json!({"enabled": true, "provider": "sns", "region": "us-east-1"})),
        )
        .await;
    assert_eq!(s, 200, "{reply}");
    // The first delivery fails and the receiver echoes what it got; the retry comes
    // seconds later, after the erasure.
    let receiver = Receiver::start(Behaviour::FailFirstEchoing(1)).await;
    let (endpoint, _) = stack
        .endpoint(
            &tenant,
            &receiver.url,
            json!({"events": ["message.received"], "retryAttempts": 2, "retryDelay": 10}),
        )
        .await;

    post_signed(
        &stack,
        &tenant,
        WA_SECRET,
        &whatsapp_message(ANA, "Ana Erased", "wamid.E1"),
    )
    .await;
    stack
        .eventually(WAIT, || async { receiver.count() >= 1 })
        .await;
    post_signed(
        &stack,
        &tenant,
        WA_SECRET,
        &whatsapp_message(BEN, "Ben Kept", "wamid.E2"),
    )
    .await;
    stack
        .eventually(WAIT, || async { receiver.count() >= 2 })
        .await;
    let first = &receiver.all()[0];
    assert!(String::from_utf8_lossy(&first.body).contains(ANA));
    let mut sms = Vec::new();
    for to in [ANA, BEN] {
        let (s, sent) = stack
            .call(
                "POST",
                "/api/v1/messages",
                &stack.admin,
                Some(&tenant),
                Some(json!({"channel": "sms", "to": format!("+{to}"), "text": format!("Hello {to}")})),
            )
            .await;
        assert_eq!(s, 202, "{sent}");
        sms.push(sent["id"].as_str().unwrap().to_string());
    }
    let (_, contacts) = get(&stack, &tenant, "/api/v1/contacts").await;
    let ana = contacts["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["externalId"] == ANA)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, edited) = stack
        .call(
            "PATCH",
            &format!("/api/v1/contacts/{ana}"),
            &stack.admin,
            Some(&tenant),
            Some(json!({"tags": ["vip"]})),
        )
        .await;
    assert_eq!(s, 200, "{edited}");
    let (_, logs) = get(
        &stack,
        &tenant,
        &format!("/api/v1/webhooks/{endpoint}/logs"),
    )
    .await;
    let failed = logs["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["success"] == false)
        .expect("the failed first attempt")
        .clone();
    let failed_log = failed["id"].as_str().unwrap().to_string();
    let (_, detail) = get(
        &stack,
        &tenant,
        &format!("/api/v1/webhooks/logs/{failed_log}"),
    )
    .await;
    assert!(detail.to_string().contains(ANA), "echoed before: {detail}");

    // Another tenant can neither erase nor read the erasure.
    let other = stack.tenant().await;
    let (s, _) = stack
        .call(
            "DELETE",
            &format!("/api/v1/contacts/{ana}"),
            &stack.admin,
            Some(&other),
            None,
        )
        .await;
    assert_eq!(s, 404);

    let (s, erased) = stack
        .call(
            "DELETE",
            &format!("/api/v1/contacts/{ana}"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(s, 202, "{erased}");
    let status_url = erased["erasure"]["statusUrl"].as_str().unwrap().to_string();
    let erasure_id = erased["erasure"]["id"].as_str().unwrap().to_string();
    assert!(!erased.to_string().contains(ANA), "{erased}");
    let (s, _) = get(&stack, &other, &status_url).await;
    assert_eq!(s, 404, "another tenant's erasure");
    let deadline = std::time::Instant::now() + WAIT;
    let done = loop {
        let (s, status) = get(&stack, &tenant, &status_url).await;
        assert_eq!(s, 200, "{status}");
        if status["status"] == "done" {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "not done: {status}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(
        !done.to_string().contains(ANA),
        "no identifiers shown: {done}"
    );
    assert_eq!(done["erased"]["metaEvents"], 1, "{done}");
    assert_eq!(done["erased"]["messages"], 1, "{done}");
    assert_eq!(done["erased"]["attempts"], 1, "the echoed response: {done}");
    assert!(done["erased"]["events"].as_u64().unwrap() >= 2, "{done}");
    let (_, listed) = get(&stack, &tenant, "/api/v1/contacts/erasures").await;
    assert_eq!(listed["data"][0]["id"], erasure_id.as_str());

    // Nothing stored holds Ana's number any more; Ben's is all there.
    let items = stored_items(&stack).await;
    let holding: Vec<&String> = items.iter().filter(|i| i.contains(ANA)).collect();
    assert!(holding.is_empty(), "still stored: {holding:#?}");
    assert!(items.iter().any(|i| i.contains(BEN)));
    assert!(items.iter().all(|i| !i.contains("Ana Erased")));

    let (_, message) = get(&stack, &tenant, &format!("/api/v1/messages/{}", sms[0])).await;
    assert_eq!(message["to"], "[erased]", "{message}");
    let (_, kept) = get(&stack, &tenant, &format!("/api/v1/messages/{}", sms[1])).await;
    assert_eq!(kept["to"], format!("+{BEN}"));
    let (_, detail) = get(
        &stack,
        &tenant,
        &format!("/api/v1/webhooks/logs/{failed_log}"),
    )
    .await;
    assert!(!detail.to_string().contains(ANA), "{detail}");
    assert_eq!(detail["response"]["body"], "[erased]", "{detail}");

    // The retry queued before the erasure sends the erased event, as does a retry from
    // the log.
    stack
        .eventually(WAIT, || async {
            same_delivery(&receiver, first).len() >= 2
        })
        .await;
    let (s, retried) = stack
        .call(
            "POST",
            &format!("/api/v1/webhooks/logs/{failed_log}/retry"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert!(s < 300, "{s} {retried}");
    stack
        .eventually(WAIT, || async {
            same_delivery(&receiver, first).len() >= 3
        })
        .await;
    let resent: Vec<Value> = same_delivery(&receiver, first)
        .iter()
        .skip(1)
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    for body in &resent {
        assert_eq!(body["data"], json!({"erased": true}), "{body}");
    }
}
