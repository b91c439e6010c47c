//! The table foundation against the emulator's DynamoDB.

use aws_sdk_dynamodb::types::AttributeValue;
use hookhub_shared::store::{keys, Index, Item, Query, StoreError};
use hookhub_test_support::TestStack;

fn item(pk: &str, sk: &str, value: &str) -> Item {
    Item::from([
        (keys::PK.to_string(), AttributeValue::S(pk.into())),
        (keys::SK.to_string(), AttributeValue::S(sk.into())),
        ("value".to_string(), AttributeValue::S(value.into())),
    ])
}

#[tokio::test]
async fn losing_conditional_put_is_a_conflict_and_keeps_the_first() {
    let stack = TestStack::new("store-cond").await;
    let table = &stack.ctx.table;
    let key = keys::endpoint("ten_A", "wh_1");
    table
        .put_new(item(&key.pk, &key.sk, "first"))
        .await
        .unwrap();
    let second = table.put_new(item(&key.pk, &key.sk, "second")).await;
    assert!(matches!(second, Err(StoreError::Conflict(_))), "{second:?}");
    let stored = table.get(&key).await.unwrap().unwrap();
    assert_eq!(stored["value"], AttributeValue::S("first".into()));
}

#[tokio::test]
async fn pages_with_cursors_within_one_partition_only() {
    let stack = TestStack::new("store-page").await;
    let table = &stack.ctx.table;
    let mine = keys::tenant_partition("ten_A");
    let theirs = keys::tenant_partition("ten_B");
    for i in 0..5 {
        table
            .put(item(&mine, &format!("{}{i}", keys::ENDPOINT_PREFIX), "a"))
            .await
            .unwrap();
        table
            .put(item(&theirs, &format!("{}{i}", keys::ENDPOINT_PREFIX), "b"))
            .await
            .unwrap();
    }

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = table
            .query(
                Query::new(Index::Primary, mine.clone())
                    .prefix(keys::ENDPOINT_PREFIX)
                    .page(Some(2), cursor.as_deref()),
            )
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|i| i["sk"].as_s().unwrap().clone()));
        assert!(page
            .items
            .iter()
            .all(|i| i["value"] == AttributeValue::S("a".into())));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);

    // A cursor taken from tenant B's list cannot continue tenant A's, nor the reverse.
    let their_page = table
        .query(Query::new(Index::Primary, theirs.clone()).page(Some(1), None))
        .await
        .unwrap();
    let their_cursor = their_page.next_cursor.unwrap();
    let crossed = table
        .query(Query::new(Index::Primary, mine.clone()).page(Some(1), Some(&their_cursor)))
        .await;
    assert!(
        matches!(crossed, Err(StoreError::InvalidCursor(_))),
        "{crossed:?}"
    );
    let garbage = table
        .query(Query::new(Index::Primary, mine).page(Some(1), Some("bm90LWEtY3Vyc29y")))
        .await;
    assert!(matches!(garbage, Err(StoreError::InvalidCursor(_))));
}

#[tokio::test]
async fn ttl_is_enabled_on_the_table() {
    let stack = TestStack::new("store-ttl").await;
    let ttl = stack
        .clients
        .dynamodb
        .describe_time_to_live()
        .table_name(&stack.stack.table_name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some(keys::TTL)
    );
}

/// DynamoDB deletes expired items up to days after their `ttl`; the emulator never does.
/// Until then an expired item must count as gone: reads skip it and a conditional write
/// that wants the key free takes it over.
#[tokio::test]
async fn an_expired_item_not_yet_deleted_counts_as_gone() {
    let stack = TestStack::new("store-ttl").await;
    let table = &stack.ctx.table;
    let key = keys::idempotency("ten_A", "events", "order-1");
    let now = chrono::Utc::now().timestamp();
    let with_ttl = |value: &str, ttl: i64| {
        let mut it = item(&key.pk, &key.sk, value);
        it.insert(keys::TTL.into(), AttributeValue::N(ttl.to_string()));
        it
    };
    table.put(with_ttl("stale", now - 60)).await.unwrap();
    assert!(table.get(&key).await.unwrap().is_none(), "read as gone");
    assert!(table
        .batch_get(std::slice::from_ref(&key))
        .await
        .unwrap()
        .is_empty());
    let page = table
        .query(Query::new(Index::Primary, key.pk.clone()))
        .await
        .unwrap();
    assert!(page.items.is_empty(), "{:?}", page.items);
    assert_eq!(
        table
            .put_new_or_existing(with_ttl("fresh", now + 3600))
            .await
            .unwrap(),
        None,
        "the expired item's key is free"
    );
    let stored = table.get(&key).await.unwrap().unwrap();
    assert_eq!(stored["value"], AttributeValue::S("fresh".into()));

    // A live item still holds its key.
    let again = table.put_new(with_ttl("third", now + 3600)).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    // And a transaction's "new" write takes over an expired key likewise.
    let other = keys::idempotency("ten_A", "events", "order-2");
    let mut stale = item(&other.pk, &other.sk, "stale");
    stale.insert(keys::TTL.into(), AttributeValue::N((now - 1).to_string()));
    table.put(stale).await.unwrap();
    table
        .transaction()
        .put_new(item(&other.pk, &other.sk, "fresh"))
        .commit()
        .await
        .unwrap();
    let stored = table.get(&other).await.unwrap().unwrap();
    assert_eq!(stored["value"], AttributeValue::S("fresh".into()));
}

/// An Idempotency-Key is remembered for its window only: a record past its expiry, still in
/// the table, no longer makes a publish a duplicate or a conflict.
#[tokio::test]
async fn a_publish_key_past_its_window_is_free_again() {
    let stack = TestStack::new("idem-ttl").await;
    let tenant = stack.create_tenant("Expiry").await;
    let events = stack.ctx.events();
    let first = events
        .publish(
            &tenant,
            "contact.created",
            serde_json::json!({"contact": {"id": "c1"}}),
            Some("k-1"),
            "api",
        )
        .await
        .unwrap();
    let key = keys::idempotency(&tenant, "events", "k-1");
    let expire = hookhub_shared::store::Update::default().set(
        keys::TTL,
        AttributeValue::N((chrono::Utc::now().timestamp() - 1).to_string()),
    );
    stack.ctx.table.update(&key, expire).await.unwrap();
    // Another event under the same key: within the window a 409, past it a new event.
    let second = events
        .publish(
            &tenant,
            "contact.deleted",
            serde_json::json!({"contact": {"id": "c1"}}),
            Some("k-1"),
            "api",
        )
        .await
        .unwrap();
    assert!(!second.duplicate);
    assert_ne!(second.event_id, first.event_id);
}
