use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::cursor::{decode_cursor, encode_cursor};
use super::keys::{Index, Key, PK, SK, TTL};
use super::{StoreError, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::aws::describe_error;

pub type Item = HashMap<String, AttributeValue>;

fn unavailable<E: std::error::Error + 'static>(err: E) -> StoreError {
    StoreError::Unavailable(describe_error(&err))
}

/// A query on one partition of the table or of an index.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    pub index: Index,
    pub partition: String,
    /// Only sort keys starting with this.
    pub sort_prefix: Option<String>,
    /// Only sort keys from the first to the second, inclusive.
    pub sort_between: Option<(String, String)>,
    pub newest_first: bool,
    pub limit: Option<u32>,
    pub cursor: Option<&'a str>,
    /// Only items whose attributes equal these values (applied after the page is read, so
    /// a page may hold fewer than `limit` items and still have a next one).
    pub filter_eq: Vec<(String, String)>,
    /// Only items whose attributes start with these values (applied as `filter_eq` is).
    pub filter_prefix: Vec<(String, String)>,
    /// Only items whose attribute is one of these values (applied as `filter_eq` is).
    pub filter_any: Vec<(String, Vec<String>)>,
}

impl<'a> Query<'a> {
    pub fn new(index: Index, partition: impl Into<String>) -> Self {
        Self {
            index,
            partition: partition.into(),
            sort_prefix: None,
            sort_between: None,
            newest_first: false,
            limit: None,
            cursor: None,
            filter_eq: Vec::new(),
            filter_prefix: Vec::new(),
            filter_any: Vec::new(),
        }
    }

    pub fn filter_eq(mut self, attr: impl Into<String>, value: impl Into<String>) -> Self {
        self.filter_eq.push((attr.into(), value.into()));
        self
    }

    pub fn filter_any(mut self, attr: impl Into<String>, values: &[&str]) -> Self {
        self.filter_any
            .push((attr.into(), values.iter().map(|v| v.to_string()).collect()));
        self
    }

    pub fn filter_prefix(mut self, attr: impl Into<String>, prefix: impl Into<String>) -> Self {
        self.filter_prefix.push((attr.into(), prefix.into()));
        self
    }

    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.sort_prefix = Some(prefix.into());
        self
    }

    pub fn between(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.sort_between = Some((from.into(), to.into()));
        self
    }

    /// Only sort keys that are ids of `kind` made in this window (either end open): ids
    /// are time-ordered, so a time range is a key range.
    pub fn made_between(
        self,
        kind: crate::ids::IdKind,
        from: Option<chrono::DateTime<chrono::Utc>>,
        to: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Self {
        if from.is_none() && to.is_none() {
            return self;
        }
        let from = from.unwrap_or(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
        let to = to.unwrap_or_else(chrono::Utc::now);
        self.between(
            crate::ids::bound_at(kind, from, false),
            crate::ids::bound_at(kind, to, true),
        )
    }

    pub fn newest_first(mut self) -> Self {
        self.newest_first = true;
        self
    }

    pub fn page(mut self, limit: Option<u32>, cursor: Option<&'a str>) -> Self {
        self.limit = limit;
        self.cursor = cursor;
        self
    }
}

/// What an UpdateItem does: attributes set, removed and counted up, under a condition
/// (written with the `#names` and `:values` given here) beyond the item's existence.
#[derive(Debug, Default)]
pub struct Update<'a> {
    set: Vec<(&'a str, AttributeValue)>,
    remove: Vec<&'a str>,
    increment: Vec<&'a str>,
    condition: Option<&'a str>,
    names: Vec<(&'a str, &'a str)>,
    values: Vec<(&'a str, AttributeValue)>,
}

impl<'a> Update<'a> {
    pub fn set(mut self, name: &'a str, value: AttributeValue) -> Self {
        self.set.push((name, value));
        self
    }

    pub fn set_s(self, name: &'a str, value: impl Into<String>) -> Self {
        self.set(name, AttributeValue::S(value.into()))
    }

    pub fn remove(mut self, name: &'a str) -> Self {
        self.remove.push(name);
        self
    }

    /// Adds one (from zero when the attribute is missing).
    pub fn increment(mut self, name: &'a str) -> Self {
        self.increment.push(name);
        self
    }

    pub fn when(mut self, condition: &'a str) -> Self {
        self.condition = Some(condition);
        self
    }

    pub fn name(mut self, placeholder: &'a str, name: &'a str) -> Self {
        self.names.push((placeholder, name));
        self
    }

    pub fn value(mut self, placeholder: &'a str, value: AttributeValue) -> Self {
        self.values.push((placeholder, value));
        self
    }
}

/// What became of an update.
#[derive(Debug)]
pub enum Updated {
    /// Applied: the item as it now is.
    Done(Item),
    /// Not applied: the item as it is, or `None` when there is no such item.
    ConditionFailed(Option<Item>),
}

#[derive(Debug, Default)]
pub struct Page {
    pub items: Vec<Item>,
    pub next_cursor: Option<String>,
}

/// The one DynamoDB table.
#[derive(Clone, Debug)]
pub struct Table {
    client: aws_sdk_dynamodb::Client,
    name: String,
}

impl Table {
    pub fn new(client: aws_sdk_dynamodb::Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    pub(super) fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reachability check for health reports.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .describe_table()
            .table_name(&self.name)
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    /// Writes `item` only if no live item has its key (an expired one is overwritten); a lost
    /// race is `Conflict`, not an error.
    pub async fn put_new(&self, item: Item) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression(FREE)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":now", now_value())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Err(StoreError::Conflict(
                    "an item with this key already exists".into(),
                ))
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Like `put_new`, but a key that is taken answers with the item holding it, read in
    /// the same call (`ReturnValuesOnConditionCheckFailure`).
    pub async fn put_new_or_existing(&self, item: Item) -> Result<Option<Item>, StoreError> {
        let key = Key {
            pk: item
                .get(PK)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default(),
            sk: item
                .get(SK)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default(),
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression(FREE)
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#ttl", TTL)
            .expression_attribute_values(":now", now_value())
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(SdkError::ServiceError(e)) => match e.into_err() {
                PutItemError::ConditionalCheckFailedException(failed) => match failed.item {
                    Some(existing) if !existing.is_empty() => Ok(Some(existing)),
                    // An emulator that does not return the item: read it.
                    _ => Ok(Some(self.get(&key).await?.unwrap_or_default())),
                },
                other => Err(unavailable(other)),
            },
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Up to 100 items by key in one call (retrying what DynamoDB leaves unprocessed); the
    /// items come back in no particular order.
    pub async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, StoreError> {
        let mut pending: Vec<HashMap<String, AttributeValue>> = keys
            .iter()
            .map(|k| {
                HashMap::from([
                    (PK.to_string(), AttributeValue::S(k.pk.clone())),
                    (SK.to_string(), AttributeValue::S(k.sk.clone())),
                ])
            })
            .collect();
        let mut found = Vec::new();
        for attempt in 0..5u32 {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                // What DynamoDB left unprocessed it was throttling: give it a moment.
                tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
            }
            let request = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.name, request)
                .send()
                .await
                .map_err(unavailable)?;
            if let Some(mut responses) = out.responses {
                found.extend(
                    responses
                        .remove(&self.name)
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|item| !expired(item)),
                );
            }
            if let Some(mut unprocessed) = out.unprocessed_keys {
                if let Some(left) = unprocessed.remove(&self.name) {
                    pending = left.keys;
                }
            }
        }
        if !pending.is_empty() {
            return Err(StoreError::Unavailable(
                "batch read left keys unprocessed".into(),
            ));
        }
        Ok(found)
    }

    /// Adds to several numeric attributes of one item at once (creating it if needed), and
    /// sets `ttl` if the item has none. Attribute names go through placeholders, so any name
    /// (reserved words, `:` and `.`) is safe.
    pub async fn add_counters(
        &self,
        key: &Key,
        counters: &[(String, i64)],
        ttl: i64,
    ) -> Result<(), StoreError> {
        if counters.is_empty() {
            return Ok(());
        }
        let mut request = self
            .client
            .update_item()
            .table_name(&self.name)
            .key(PK, AttributeValue::S(key.pk.clone()))
            .key(SK, AttributeValue::S(key.sk.clone()))
            .expression_attribute_names("#ttl", super::keys::TTL)
            .expression_attribute_values(":ttl", AttributeValue::N(ttl.to_string()));
        let mut adds = Vec::with_capacity(counters.len());
        for (i, (name, by)) in counters.iter().enumerate() {
            adds.push(format!("#c{i} :c{i}"));
            request = request
                .expression_attribute_names(format!("#c{i}"), name)
                .expression_attribute_values(format!(":c{i}"), AttributeValue::N(by.to_string()));
        }
        request
            .update_expression(format!(
                "ADD {} SET #ttl = if_not_exists(#ttl, :ttl)",
                adds.join(", ")
            ))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    /// Unconditional puts, 25 to a BatchWriteItem call.
    pub async fn put_all(&self, items: Vec<Item>) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let mut requests = Vec::with_capacity(items.len());
        for item in items {
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        for chunk in requests.chunks(25) {
            self.write_batch(chunk.to_vec()).await?;
        }
        Ok(())
    }

    pub async fn put(&self, item: Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    pub async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.client
            .get_item()
            .table_name(&self.name)
            .key(PK, AttributeValue::S(key.pk.clone()))
            .key(SK, AttributeValue::S(key.sk.clone()))
            .consistent_read(true)
            .send()
            .await
            .map(|out| out.item.filter(|item| !expired(item)))
            .map_err(unavailable)
    }

    /// Replaces an item only if `attr` still holds `expected` (optimistic concurrency): a
    /// concurrent change in between is `Conflict`, never a silent overwrite.
    pub async fn put_if(&self, item: Item, attr: &str, expected: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("#a = :expected")
            .expression_attribute_names("#a", attr)
            .expression_attribute_values(":expected", AttributeValue::S(expected.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Err(StoreError::Conflict(
                    "the item changed or was deleted concurrently; retry".into(),
                ))
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Atomically adds `by` to a numeric attribute (creating the item if needed) and returns
    /// the new value; `ttl` is set when given. Never read-modify-write.
    pub async fn increment(
        &self,
        key: &Key,
        attr: &str,
        by: i64,
        ttl: Option<i64>,
    ) -> Result<i64, StoreError> {
        self.increment_and_set(key, attr, by, ttl, &[]).await
    }

    /// [`increment`](Self::increment), setting `also` in the same write.
    pub async fn increment_and_set(
        &self,
        key: &Key,
        attr: &str,
        by: i64,
        ttl: Option<i64>,
        also: &[(&str, AttributeValue)],
    ) -> Result<i64, StoreError> {
        let mut sets = Vec::new();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.name)
            .key(PK, AttributeValue::S(key.pk.clone()))
            .key(SK, AttributeValue::S(key.sk.clone()))
            .expression_attribute_names("#n", attr)
            .expression_attribute_values(":by", AttributeValue::N(by.to_string()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew);
        if let Some(ttl) = ttl {
            sets.push("#ttl = if_not_exists(#ttl, :ttl)".to_string());
            request = request
                .expression_attribute_names("#ttl", super::keys::TTL)
                .expression_attribute_values(":ttl", AttributeValue::N(ttl.to_string()));
        }
        for (i, (name, value)) in also.iter().enumerate() {
            sets.push(format!("#a{i} = :a{i}"));
            request = request
                .expression_attribute_names(format!("#a{i}"), *name)
                .expression_attribute_values(format!(":a{i}"), value.clone());
        }
        let expression = match sets.is_empty() {
            true => "ADD #n :by".to_string(),
            false => format!("ADD #n :by SET {}", sets.join(", ")),
        };
        let out = request
            .update_expression(expression)
            .send()
            .await
            .map_err(unavailable)?;
        out.attributes()
            .and_then(|a| a.get(attr))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| StoreError::Corrupt(format!("counter {attr} is not a number")))
    }

    /// Deletes every item of one partition, in batches of 25; returns how many.
    pub async fn delete_partition(&self, partition: &str) -> Result<usize, StoreError> {
        let mut deleted = 0;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.name)
                .key_condition_expression("#p = :p")
                .expression_attribute_names("#p", PK)
                .expression_attribute_names("#s", SK)
                .expression_attribute_values(":p", AttributeValue::S(partition.to_string()))
                .projection_expression("#p, #s")
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(unavailable)?;
            let keys: Vec<Item> = out.items.unwrap_or_default();
            for chunk in keys.chunks(25) {
                self.batch_delete(chunk).await?;
                deleted += chunk.len();
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(deleted),
            }
        }
    }

    async fn batch_delete(&self, keys: &[Item]) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
        let requests = keys
            .iter()
            .map(|k| {
                WriteRequest::builder()
                    .delete_request(
                        DeleteRequest::builder()
                            .set_key(Some(k.clone()))
                            .build()
                            .expect("key is set"),
                    )
                    .build()
            })
            .collect();
        self.write_batch(requests).await
    }

    /// One BatchWriteItem of at most 25 requests; what DynamoDB leaves unprocessed
    /// (throttling) is retried with a short backoff, and an error if it keeps being left.
    async fn write_batch(
        &self,
        mut pending: Vec<aws_sdk_dynamodb::types::WriteRequest>,
    ) -> Result<(), StoreError> {
        for attempt in 0..8u32 {
            if pending.is_empty() {
                return Ok(());
            }
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.name, std::mem::take(&mut pending))
                .send()
                .await
                .map_err(unavailable)?;
            pending = out
                .unprocessed_items
                .and_then(|mut m| m.remove(&self.name))
                .unwrap_or_default();
            if !pending.is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(25 << attempt)).await;
            }
        }
        if pending.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Unavailable(format!(
                "batch write left {} items unprocessed",
                pending.len()
            )))
        }
    }

    /// Takes the lease item at `key` until `until_ms` (milliseconds since the epoch) unless
    /// another holder's lease is still running at `now_ms`: one conditional PutItem. `false`
    /// when it is held. The item outlives its lease by a day, then expires.
    pub async fn take_lease(
        &self,
        key: &Key,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<bool, StoreError> {
        let number = |n: i64| AttributeValue::N(n.to_string());
        let item = Item::from([
            (PK.into(), AttributeValue::S(key.pk.clone())),
            (SK.into(), AttributeValue::S(key.sk.clone())),
            ("leaseUntil".into(), number(until_ms)),
            (TTL.into(), number(until_ms / 1000 + 86_400)),
        ]);
        let result = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk) OR #lease < :now")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#lease", "leaseUntil")
            .expression_attribute_values(":now", number(now_ms))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PutItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(false)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    pub async fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.name)
            .key(PK, AttributeValue::S(key.pk.clone()))
            .key(SK, AttributeValue::S(key.sk.clone()))
            .send()
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    /// A page of records of one type, with the cursor to the next.
    pub async fn query_records<T: DeserializeOwned>(
        &self,
        query: Query<'_>,
    ) -> Result<(Vec<T>, Option<String>), StoreError> {
        let page = self.query(query).await?;
        let records = page
            .items
            .into_iter()
            .map(from_item)
            .collect::<Result<Vec<T>, _>>()?;
        Ok((records, page.next_cursor))
    }

    /// Sets each attribute given a value and removes each given `None`, on an item that must
    /// already exist (one UpdateItem, so attributes not named are left as they are). Answers
    /// whether the item existed.
    pub async fn update_existing(
        &self,
        key: &Key,
        attributes: &[(&str, Option<AttributeValue>)],
    ) -> Result<bool, StoreError> {
        let mut update = Update::default();
        for (name, value) in attributes {
            match value {
                Some(v) => update = update.set(name, v.clone()),
                None => update = update.remove(name),
            }
        }
        Ok(matches!(self.update(key, update).await?, Updated::Done(_)))
    }

    /// One UpdateItem on an item that must exist and meet the update's condition. Answers
    /// the item as it now is, or, when it does not exist or the condition fails, the item
    /// as it was (if it exists).
    pub async fn update(&self, key: &Key, update: Update<'_>) -> Result<Updated, StoreError> {
        let mut clauses = Vec::new();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.name)
            .key(PK, AttributeValue::S(key.pk.clone()))
            .key(SK, AttributeValue::S(key.sk.clone()))
            .expression_attribute_names("#pk", PK)
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            );
        for (i, (name, value)) in update.set.into_iter().enumerate() {
            request = request
                .expression_attribute_names(format!("#s{i}"), name)
                .expression_attribute_values(format!(":s{i}"), value);
            clauses.push(format!("#s{i} = :s{i}"));
        }
        for (i, name) in update.increment.iter().enumerate() {
            request = request.expression_attribute_names(format!("#n{i}"), *name);
            clauses.push(format!("#n{i} = if_not_exists(#n{i}, :zero) + :one"));
        }
        if !update.increment.is_empty() {
            request = request
                .expression_attribute_values(":zero", AttributeValue::N("0".into()))
                .expression_attribute_values(":one", AttributeValue::N("1".into()));
        }
        let mut expression = String::new();
        if !clauses.is_empty() {
            expression = format!("SET {}", clauses.join(", "));
        }
        if !update.remove.is_empty() {
            let mut removes = Vec::new();
            for (i, name) in update.remove.iter().enumerate() {
                request = request.expression_attribute_names(format!("#r{i}"), *name);
                removes.push(format!("#r{i}"));
            }
            expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let condition = match update.condition {
            Some(extra) => format!("attribute_exists(#pk) AND ({extra})"),
            None => "attribute_exists(#pk)".to_string(),
        };
        for (placeholder, name) in update.names {
            request = request.expression_attribute_names(placeholder, name);
        }
        for (placeholder, value) in update.values {
            request = request.expression_attribute_values(placeholder, value);
        }
        let result = request
            .update_expression(expression.trim())
            .condition_expression(condition)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Updated::Done(out.attributes.unwrap_or_default())),
            Err(SdkError::ServiceError(e)) => match e.into_err() {
                aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(failed) => {
                    Ok(Updated::ConditionFailed(failed.item.filter(|i| !i.is_empty())))
                }
                other => Err(unavailable(other)),
            },
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The record stored under `key`, if any.
    pub async fn get_record<T: DeserializeOwned>(
        &self,
        key: &Key,
    ) -> Result<Option<T>, StoreError> {
        self.get(key).await?.map(from_item).transpose()
    }

    /// The one record of an index partition whose sort key is exactly `sort` (an item found
    /// by a secondary key: an id, a provider's id).
    pub async fn query_one<T: DeserializeOwned>(
        &self,
        index: Index,
        partition: impl Into<String>,
        sort: &str,
    ) -> Result<Option<T>, StoreError> {
        let query = Query::new(index, partition)
            .between(sort, sort)
            .page(Some(1), None);
        let (mut found, _) = self.query_records::<T>(query).await?;
        Ok(found.pop())
    }

    pub async fn query(&self, query: Query<'_>) -> Result<Page, StoreError> {
        let limit = query
            .limit
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .clamp(1, MAX_PAGE_SIZE);
        let start = query
            .cursor
            .map(|c| decode_cursor(c, query.index, &query.partition))
            .transpose()?;
        let mut condition = "#p = :p".to_string();
        let mut request = self
            .client
            .query()
            .table_name(&self.name)
            .set_index_name(query.index.name().map(str::to_string))
            .expression_attribute_names("#p", query.index.partition_attr())
            .expression_attribute_values(":p", AttributeValue::S(query.partition.clone()))
            .scan_index_forward(!query.newest_first)
            .limit(limit as i32)
            .set_exclusive_start_key(start);
        if let Some(prefix) = &query.sort_prefix {
            condition.push_str(" AND begins_with(#s, :s)");
            request = request
                .expression_attribute_names("#s", query.index.sort_attr())
                .expression_attribute_values(":s", AttributeValue::S(prefix.clone()));
        } else if let Some((from, to)) = &query.sort_between {
            condition.push_str(" AND #s BETWEEN :from AND :to");
            request = request
                .expression_attribute_names("#s", query.index.sort_attr())
                .expression_attribute_values(":from", AttributeValue::S(from.clone()))
                .expression_attribute_values(":to", AttributeValue::S(to.clone()));
        }
        let tests = query
            .filter_eq
            .iter()
            .map(|(attr, value)| ("{attr} = {value}", attr, value))
            .chain(
                query
                    .filter_prefix
                    .iter()
                    .map(|(attr, value)| ("begins_with({attr}, {value})", attr, value)),
            );
        let mut filters = Vec::new();
        for (i, (test, attr, value)) in tests.enumerate() {
            request = request
                .expression_attribute_names(format!("#f{i}"), attr)
                .expression_attribute_values(format!(":f{i}"), AttributeValue::S(value.clone()));
            filters.push(
                test.replace("{attr}", &format!("#f{i}"))
                    .replace("{value}", &format!(":f{i}")),
            );
        }
        for (i, (attr, values)) in query.filter_any.iter().enumerate() {
            request = request.expression_attribute_names(format!("#a{i}"), attr);
            let mut placeholders = Vec::new();
            for (j, value) in values.iter().enumerate() {
                let name = format!(":a{i}_{j}");
                request =
                    request.expression_attribute_values(&name, AttributeValue::S(value.clone()));
                placeholders.push(name);
            }
            filters.push(format!("#a{i} IN ({})", placeholders.join(", ")));
        }
        if !filters.is_empty() {
            request = request.filter_expression(filters.join(" AND "));
        }
        let out = request
            .key_condition_expression(condition)
            .send()
            .await
            .map_err(unavailable)?;
        let next_cursor = match out.last_evaluated_key() {
            Some(k) if !k.is_empty() => Some(encode_cursor(k)?),
            _ => None,
        };
        let mut items = out.items.unwrap_or_default();
        items.retain(|item| !expired(item));
        Ok(Page { items, next_cursor })
    }
}

/// A key is free when no item holds it, or the item's expiry has passed: DynamoDB deletes
/// expired items up to days late, and until then they must not count.
pub(crate) const FREE: &str = "attribute_not_exists(#pk) OR #ttl < :now";

pub(crate) fn now_value() -> AttributeValue {
    AttributeValue::N(chrono::Utc::now().timestamp().to_string())
}

/// Whether an item's expiry (`ttl`, epoch seconds) has passed; reads treat it as gone.
pub fn expired(item: &Item) -> bool {
    item.get(TTL)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .is_some_and(|ttl| ttl < chrono::Utc::now().timestamp())
}

/// A record as an item, with its key attributes.
pub fn to_item<T: Serialize>(key: &Key, record: &T) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(record)
        .map_err(|e| StoreError::Corrupt(format!("cannot serialise record: {e}")))?;
    item.insert(PK.into(), AttributeValue::S(key.pk.clone()));
    item.insert(SK.into(), AttributeValue::S(key.sk.clone()));
    Ok(item)
}

pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}
