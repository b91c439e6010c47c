//! Writes to several items that happen together or not at all (TransactWriteItems): an
//! endpoint and the tenant's subscription index, say, so neither can drift from the other.

use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::keys::{Key, PK, SK};
use super::table::{Item, Table};
use super::StoreError;
use crate::aws::describe_error;

/// Collected writes; nothing is sent before [`Transaction::commit`].
pub struct Transaction<'t> {
    table: &'t Table,
    writes: Vec<TransactWriteItem>,
    /// A write that could not be built (a programming error, reported at commit).
    broken: Option<String>,
}

impl Table {
    pub fn transaction(&self) -> Transaction<'_> {
        Transaction {
            table: self,
            writes: Vec::new(),
            broken: None,
        }
    }
}

fn key_values(key: &Key) -> [(String, AttributeValue); 2] {
    [
        (PK.to_string(), AttributeValue::S(key.pk.clone())),
        (SK.to_string(), AttributeValue::S(key.sk.clone())),
    ]
}

impl Transaction<'_> {
    fn add<E: std::fmt::Display>(mut self, write: Result<TransactWriteItem, E>) -> Self {
        match write {
            Ok(w) => self.writes.push(w),
            Err(e) => self.broken = Some(e.to_string()),
        }
        self
    }

    /// Writes `item` only if no live item has its key (an expired one is overwritten).
    pub fn put_new(self, item: Item) -> Self {
        let put = Put::builder()
            .table_name(self.table.name())
            .set_item(Some(item))
            .condition_expression(super::table::FREE)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#ttl", super::keys::TTL)
            .expression_attribute_values(":now", super::table::now_value())
            .build()
            .map(|p| TransactWriteItem::builder().put(p).build());
        self.add(put)
    }

    /// Writes `item` whether or not one has its key.
    pub fn put(self, item: Item) -> Self {
        let put = Put::builder()
            .table_name(self.table.name())
            .set_item(Some(item))
            .build()
            .map(|p| TransactWriteItem::builder().put(p).build());
        self.add(put)
    }

    /// Replaces an item only if `attr` still holds `expected`.
    pub fn put_if(self, item: Item, attr: &str, expected: &str) -> Self {
        let put = Put::builder()
            .table_name(self.table.name())
            .set_item(Some(item))
            .condition_expression("#a = :expected")
            .expression_attribute_names("#a", attr)
            .expression_attribute_values(":expected", AttributeValue::S(expected.to_string()))
            .build()
            .map(|p| TransactWriteItem::builder().put(p).build());
        self.add(put)
    }

    /// Deletes an item (nothing happens to the others if it is already gone).
    pub fn delete(self, key: &Key) -> Self {
        let delete = Delete::builder()
            .table_name(self.table.name())
            .set_key(Some(key_values(key).into_iter().collect()))
            .build()
            .map(|d| TransactWriteItem::builder().delete(d).build());
        self.add(delete)
    }

    /// Updates an existing item with an update expression of the caller's; the item must
    /// exist, and `condition` (when given) must hold too.
    pub fn update(
        self,
        key: &Key,
        expression: &str,
        condition: Option<&str>,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> Self {
        let condition = match condition {
            Some(extra) => format!("attribute_exists(#pk) AND ({extra})"),
            None => "attribute_exists(#pk)".to_string(),
        };
        let mut update = Update::builder()
            .table_name(self.table.name())
            .set_key(Some(key_values(key).into_iter().collect()))
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_names("#pk", PK);
        for (placeholder, name) in names {
            update = update.expression_attribute_names(*placeholder, *name);
        }
        for (placeholder, value) in values {
            update = update.expression_attribute_values(placeholder, value);
        }
        let update = update
            .build()
            .map(|u| TransactWriteItem::builder().update(u).build());
        self.add(update)
    }

    /// Sends the writes. A condition that failed is `Conflict`; a transaction DynamoDB
    /// cancelled only because another one was writing the same items at that moment
    /// (`TransactionConflict`, or throttling) is sent again, the same writes, after a short
    /// jittered pause, up to [`COMMIT_ATTEMPTS`] times, then `Contended`. Either way, when it
    /// fails none of the writes happened.
    pub async fn commit(self) -> Result<(), StoreError> {
        if let Some(broken) = self.broken {
            return Err(StoreError::Corrupt(format!(
                "transaction not built: {broken}"
            )));
        }
        for attempt in 1..=COMMIT_ATTEMPTS {
            let result = self
                .table
                .client()
                .transact_write_items()
                .set_transact_items(Some(self.writes.clone()))
                .send()
                .await;
            let cancelled = match result {
                Ok(_) => return Ok(()),
                Err(SdkError::ServiceError(e)) => match e.into_err() {
                    TransactWriteItemsError::TransactionCanceledException(c) => c,
                    other => return Err(StoreError::Unavailable(describe_error(&other))),
                },
                Err(e) => return Err(StoreError::Unavailable(describe_error(&e))),
            };
            let codes: Vec<&str> = cancelled
                .cancellation_reasons()
                .iter()
                .filter_map(|r| r.code())
                .filter(|c| *c != "None")
                .collect();
            if !codes.is_empty() && codes.iter().all(|c| RETRYABLE.contains(c)) {
                if attempt < COMMIT_ATTEMPTS {
                    tokio::time::sleep(backoff(attempt)).await;
                }
                continue;
            }
            return Err(StoreError::Conflict(
                "the items changed or were deleted concurrently; retry".into(),
            ));
        }
        Err(StoreError::Contended(
            "other changes to the same items were being saved at the same moment; nothing was \
             changed, retry"
                .into(),
        ))
    }
}

/// How many times a transaction is sent before its conflicts are reported.
pub const COMMIT_ATTEMPTS: u32 = 4;

/// Cancellation reasons that say "not now" rather than "not so".
const RETRYABLE: [&str; 3] = [
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
];

/// 20, 40, 80 ms, each with up to as much again at random, so writers that collided once do
/// not collide again in step.
fn backoff(attempt: u32) -> Duration {
    use rand::Rng;
    let base = 20u64 << (attempt - 1).min(4);
    Duration::from_millis(base + rand::thread_rng().gen_range(0..=base))
}
