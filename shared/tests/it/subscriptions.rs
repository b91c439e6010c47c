//! The tenant's subscription index follows every endpoint and workflow change, in the same
//! transaction, so publishing from it picks exactly the targets that querying every
//! endpoint item would.

use hookhub_shared::store::{keys, to_item, StoreError};
use hookhub_shared::validation::Fields;
use hookhub_shared::webhooks::endpoint::{EndpointKind, EndpointService};
use hookhub_shared::webhooks::subscriptions::SubscriptionIndex;
use hookhub_test_support::TestStack;
use serde_json::{json, Value};

fn fields(v: Value) -> Fields {
    Fields::new(v.as_object().cloned().expect("an object"))
}

/// The targets from the endpoint items themselves, as tenants without an index get them.
async fn queried_targets(
    endpoints: &EndpointService,
    tenant: &str,
    event_type: &str,
) -> Vec<String> {
    let mut all = endpoints.all(tenant).await.unwrap();
    all.extend(
        endpoints
            .with_kind(EndpointKind::Workflow)
            .all(tenant)
            .await
            .unwrap(),
    );
    let mut ids: Vec<String> = all
        .into_iter()
        .filter(|e| e.is_active && e.subscribes_to(event_type))
        .map(|e| e.id)
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn the_index_follows_every_endpoint_change() {
    let stack = TestStack::new("subscriptions").await;
    let ctx = &stack.ctx;
    let tenant = stack.create_tenant("Index").await;
    let endpoints = ctx.endpoints();
    let workflows = endpoints.with_kind(EndpointKind::Workflow);
    let index = SubscriptionIndex::new(ctx.table.clone());
    let types = ["message.received", "contact.created", "booking.created"];

    // Published targets, checked against the endpoint items at every step.
    let check = |expected: Vec<(&'static str, Vec<String>)>| {
        let (index, endpoints, tenant) = (&index, &endpoints, &tenant);
        async move {
            let stored = index.read(tenant).await.unwrap().expect("an index");
            for event_type in types {
                let mut wanted = expected
                    .iter()
                    .find(|(t, _)| *t == event_type)
                    .map(|(_, ids)| ids.clone())
                    .unwrap_or_default();
                wanted.sort();
                assert_eq!(stored.targets(event_type), wanted, "{event_type}");
                assert_eq!(
                    queried_targets(endpoints, tenant, event_type).await,
                    wanted,
                    "{event_type}: the items agree"
                );
                let published = ctx
                    .events()
                    .publish(tenant, event_type, json!({}), None, "api")
                    .await
                    .unwrap();
                assert_eq!(published.deliveries as usize, wanted.len(), "{event_type}");
            }
        }
    };
    check(vec![]).await;

    let url = "http://127.0.0.1:9/hook";
    let create = |service: &EndpointService, body: Value| {
        let (service, tenant) = (service.clone(), tenant.clone());
        async move {
            service
                .create(&tenant, fields(body))
                .await
                .unwrap()
                .endpoint
                .id
        }
    };
    let messages = create(
        &endpoints,
        json!({"name": "m", "url": url, "events": ["message.*"]}),
    )
    .await;
    let everything = create(
        &endpoints,
        json!({"name": "all", "url": url, "events": ["*"]}),
    )
    .await;
    let flow = create(
        &workflows,
        json!({"workflowName": "crm-sync", "webhookUrl": url, "events": ["contact.*"]}),
    )
    .await;
    let (m, all, wf) = (messages.clone(), everything.clone(), flow.clone());
    check(vec![
        ("message.received", vec![m.clone(), all.clone()]),
        ("contact.created", vec![all.clone(), wf.clone()]),
        ("booking.created", vec![all.clone()]),
    ])
    .await;

    // New filters; a URL change alone leaves the index as it is.
    endpoints
        .update(
            &tenant,
            &messages,
            fields(json!({"events": ["booking.created"]})),
        )
        .await
        .unwrap();
    endpoints
        .update(
            &tenant,
            &everything,
            fields(json!({"url": "http://127.0.0.1:9/other"})),
        )
        .await
        .unwrap();
    let edited = || {
        vec![
            ("message.received", vec![all.clone()]),
            ("contact.created", vec![all.clone(), wf.clone()]),
            ("booking.created", vec![m.clone(), all.clone()]),
        ]
    };
    check(edited()).await;

    // Disabled (as the worker does after ten failures), then re-enabled.
    let current = endpoints.get(&tenant, &everything).await.unwrap();
    assert!(endpoints
        .disable(&current, "10 consecutive failures")
        .await
        .unwrap());
    check(vec![
        ("contact.created", vec![wf.clone()]),
        ("booking.created", vec![m.clone()]),
    ])
    .await;
    endpoints
        .update(&tenant, &everything, fields(json!({"isActive": true})))
        .await
        .unwrap();
    check(edited()).await;

    // Deleted.
    endpoints.delete(&tenant, &messages).await.unwrap();
    workflows.delete(&tenant, &flow).await.unwrap();
    check(vec![
        ("message.received", vec![all.clone()]),
        ("contact.created", vec![all.clone()]),
        ("booking.created", vec![all.clone()]),
    ])
    .await;
    let stored = index.read(&tenant).await.unwrap().unwrap();
    assert_eq!(stored.lines.len(), 1, "{stored:?}");
}

/// A lost race on an endpoint leaves the index untouched: both are written together or not.
#[tokio::test]
async fn a_refused_endpoint_write_leaves_the_index_alone() {
    let stack = TestStack::new("subscriptions-race").await;
    let ctx = &stack.ctx;
    let tenant = stack.create_tenant("Race").await;
    let endpoints = ctx.endpoints();
    let id = endpoints
        .create(
            &tenant,
            fields(json!({"name": "e", "url": "http://127.0.0.1:9/h", "events": ["message.*"]})),
        )
        .await
        .unwrap()
        .endpoint
        .id;
    let index = SubscriptionIndex::new(ctx.table.clone());
    let mut next = endpoints.get(&tenant, &id).await.unwrap();
    next.is_active = false;
    // Written against a version that is no longer stored, as a concurrent writer would.
    let write = ctx.table.transaction().put_if(
        to_item(&keys::endpoint(&tenant, &id), &next).unwrap(),
        "updatedAt",
        "2001-01-01T00:00:00.000Z",
    );
    let refused = index.with_line(write, &next).await.unwrap().commit().await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    let stored = index.read(&tenant).await.unwrap().unwrap();
    assert!(stored.lines[&id].active, "the index line is unchanged");
    assert!(endpoints.get(&tenant, &id).await.unwrap().is_active);
    assert_eq!(stored.targets("message.received"), [id]);
}
