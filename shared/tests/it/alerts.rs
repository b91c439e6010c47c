//! The once-a-day claim around an alert email: claimed before SES is asked, released when
//! SES cannot take it (so a later try sends), kept once sent (so no second email that day).

use hookhub_shared::alerts::{AlertError, AlertResult, Disabled, MailError};
use hookhub_shared::validation::Fields;
use hookhub_test_support::{AwsCallCounter, QueueSettings, TestStack};
use serde_json::json;

#[tokio::test]
async fn an_ses_outage_releases_the_claim_and_a_sent_email_holds_it_for_the_day() {
    let stack = TestStack::with_settings(
        "alert-claim",
        QueueSettings::default(),
        &[("HOOKHUB_ALERT_SENDER", "alerts@claim.test".to_string())],
    )
    .await;
    let tenant = stack.create_tenant("Acme").await;
    stack
        .ctx
        .tenants()
        .update(
            &tenant,
            hookhub_shared::tenants::TenantUpdate::read(Fields::new(
                json!({"contactEmail": "ops@claim.test"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ))
            .unwrap(),
        )
        .await
        .unwrap();
    let id = stack
        .create_endpoint(
            &tenant,
            json!({"name": "Orders", "url": "https://shop.example/hook", "events": ["*"]}),
        )
        .await;
    let endpoints = stack.ctx.endpoints();
    let endpoint = endpoints.get(&tenant, &id).await.unwrap();
    assert!(endpoints.disable(&endpoint, "gone").await.unwrap());
    let disabled = Disabled {
        endpoint_id: id.clone(),
        reason: "the receiver answered 410 Gone".into(),
        consecutive_failures: 1,
        disabled_at: "2026-12-07T11:00:00.000Z".into(),
    };

    let calls = AwsCallCounter::default();
    let alerts = stack.counted_context(&calls).failure_alerts();
    calls.refuse(&["SendEmail"]);
    match alerts.alert(&tenant, &disabled).await {
        Err(AlertError::Mail(MailError::Unavailable(_))) => {}
        other => panic!("an outage is worth retrying: {other:?}"),
    }
    calls.refuse(&[]);
    match alerts.alert(&tenant, &disabled).await {
        Ok(AlertResult::Sent { to, message_id }) => {
            assert_eq!(to, "ops@claim.test");
            assert!(!message_id.is_empty());
        }
        other => panic!("released after the outage, so sent now: {other:?}"),
    }
    assert_eq!(
        alerts.alert(&tenant, &disabled).await.unwrap(),
        AlertResult::Skipped("an email about it went out in the last day")
    );
    assert_eq!(
        calls.take().get("SendEmail"),
        Some(&2),
        "the refused try and the sent one"
    );

    // Turned back on, the endpoint is not the subject of an alert.
    let other = stack
        .create_endpoint(
            &tenant,
            json!({"name": "Back", "url": "https://shop.example/b", "events": ["*"]}),
        )
        .await;
    let back = Disabled {
        endpoint_id: other,
        ..disabled
    };
    assert_eq!(
        alerts.alert(&tenant, &back).await.unwrap(),
        AlertResult::Skipped("it was enabled again")
    );
}
