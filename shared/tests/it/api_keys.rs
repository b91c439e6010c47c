//! API-key authentication reads a base item, strongly consistently, so that a revoked or
//! regenerated key is refused from the next request on. DynamoDB's indexes are eventually
//! consistent (the emulator's are not), so an index read would let a revoked key work for a
//! moment on AWS: these tests pin the calls themselves.

use aws_sdk_dynamodb::types::AttributeValue;
use hookhub_shared::api_keys::{hash_key, ApiKeyCreate, KeyRejection};
use hookhub_shared::store::keys;
use hookhub_shared::validation::Fields;
use hookhub_test_support::{AwsCallCounter, TestStack};
use serde_json::json;

fn fields(value: serde_json::Value) -> Fields {
    Fields::new(value.as_object().cloned().expect("an object"))
}

#[tokio::test]
async fn authentication_is_one_consistent_read_and_revocation_and_regeneration_apply_at_once() {
    let stack = TestStack::new("keys-consistent").await;
    let tenant = stack.create_tenant("Acme").await;
    let calls = AwsCallCounter::default();
    let ctx = stack.counted_context(&calls);
    let keys = ctx.api_keys();
    let issued = keys
        .create(
            &tenant,
            ApiKeyCreate::read(fields(
                json!({"name": "sync", "permissions": ["read:webhooks"]}),
            ))
            .unwrap(),
        )
        .await
        .unwrap();
    calls.take();

    let first = keys.authenticate(&issued.plaintext, None).await.unwrap();
    assert_eq!(first.map(|k| k.id), Ok(issued.key.id.clone()));
    let counted = calls.take();
    assert_eq!(counted.get("GetItem"), Some(&1), "{counted:?}");
    assert_eq!(counted.get("Query"), None, "no index read: {counted:?}");
    // Used within the minute: no write, one read.
    keys.authenticate(&issued.plaintext, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(calls.take(), [("GetItem".to_string(), 1)].into());

    let regenerated = keys.regenerate(&tenant, &issued.key.id).await.unwrap();
    assert_eq!(
        keys.authenticate(&issued.plaintext, None).await.unwrap(),
        Err(KeyRejection::Unknown),
        "the old secret stops at once"
    );
    calls.take();
    let used = keys
        .authenticate(&regenerated.plaintext, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(used.id, issued.key.id);

    keys.revoke(&tenant, &issued.key.id).await.unwrap();
    assert_eq!(
        keys.authenticate(&regenerated.plaintext, None)
            .await
            .unwrap(),
        Err(KeyRejection::Revoked)
    );
    // Known keys, used or refused, are decided without an index (an unknown secret also
    // asks the index for keys stored before the lookup item).
    let counted = calls.take();
    assert!(!counted.contains_key("Query"), "{counted:?}");
}

#[tokio::test]
async fn a_key_made_before_the_lookup_item_still_works_and_its_changes_apply_at_once() {
    let stack = TestStack::new("keys-legacy").await;
    let tenant = stack.create_tenant("Acme").await;
    let keys = stack.ctx.api_keys();
    let issued = keys
        .create(
            &tenant,
            ApiKeyCreate::read(fields(
                json!({"name": "old", "permissions": ["read:webhooks"]}),
            ))
            .unwrap(),
        )
        .await
        .unwrap();
    // As stored before: the record carries the hash in the index, and there is no lookup.
    let table = &stack.ctx.table;
    let record_key = keys::api_key(&tenant, &issued.key.id);
    let mut record = table.get(&record_key).await.unwrap().unwrap();
    record.insert(
        keys::GSI1_PK.into(),
        AttributeValue::S(keys::api_key_hash_partition(&hash_key(&issued.plaintext))),
    );
    record.insert(keys::GSI1_SK.into(), AttributeValue::S("APIKEY".into()));
    table.put(record).await.unwrap();
    table
        .delete(&keys::api_key_by_hash(&hash_key(&issued.plaintext)))
        .await
        .unwrap();

    let found = keys.authenticate(&issued.plaintext, None).await.unwrap();
    assert_eq!(found.map(|k| k.id), Ok(issued.key.id.clone()));

    let regenerated = keys.regenerate(&tenant, &issued.key.id).await.unwrap();
    assert_eq!(
        keys.authenticate(&issued.plaintext, None).await.unwrap(),
        Err(KeyRejection::Unknown)
    );
    keys.revoke(&tenant, &issued.key.id).await.unwrap();
    assert_eq!(
        keys.authenticate(&regenerated.plaintext, None)
            .await
            .unwrap(),
        Err(KeyRejection::Revoked)
    );
}

#[tokio::test]
async fn deleting_a_tenant_stops_its_keys() {
    let stack = TestStack::new("keys-tenant-gone").await;
    let tenant = stack.create_tenant("Acme").await;
    let keys = stack.ctx.api_keys();
    let issued = keys
        .create(
            &tenant,
            ApiKeyCreate::read(fields(json!({"name": "sync", "permissions": ["*"]}))).unwrap(),
        )
        .await
        .unwrap();
    stack.ctx.tenants().delete(&tenant).await.unwrap();
    assert_eq!(
        keys.authenticate(&issued.plaintext, None).await.unwrap(),
        Err(KeyRejection::Unknown)
    );
    let lookup = keys::api_key_by_hash(&hash_key(&issued.plaintext));
    assert!(stack.ctx.table.get(&lookup).await.unwrap().is_none());
}
