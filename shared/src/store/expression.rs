//! Updates written as DynamoDB's own expressions, for what [`Update`](super::Update) cannot
//! say: several `ADD`s with `SET`s of computed values, as the delivery counters and the
//! contact book make them. Still only `store` speaks to the DynamoDB client.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};

use super::keys::{Key, PK, SK};
use super::table::Table;
use super::{Item, StoreError};
use crate::aws::describe_error;

/// An update expression with its condition, names and values.
#[derive(Debug, Clone, Default)]
pub struct Expression {
    pub update: String,
    pub condition: Option<String>,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

/// What an expression's update did.
#[derive(Debug)]
pub enum Written {
    /// Applied: the attributes asked for (`returns`).
    Done(Item),
    /// Its condition failed: the item as it was.
    ConditionFailed(Item),
}

fn none_if_empty<K, V>(map: HashMap<K, V>) -> Option<HashMap<K, V>> {
    (!map.is_empty()).then_some(map)
}

impl Table {
    /// Applies `expression` to one item, answering the attributes `returns` names, or the
    /// item as it was when the condition failed.
    pub async fn write_expression(
        &self,
        key: &Key,
        expression: Expression,
        returns: ReturnValue,
    ) -> Result<Written, StoreError> {
        let result = self
            .client()
            .update_item()
            .table_name(self.name())
            .key(PK, AttributeValue::S(key.pk.clone()))
            .key(SK, AttributeValue::S(key.sk.clone()))
            .update_expression(expression.update)
            .set_condition_expression(expression.condition)
            .set_expression_attribute_names(none_if_empty(expression.names))
            .set_expression_attribute_values(none_if_empty(expression.values))
            .return_values(returns)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Written::Done(out.attributes.unwrap_or_default())),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                match e.into_err() {
                    UpdateItemError::ConditionalCheckFailedException(f) => {
                        Ok(Written::ConditionFailed(f.item.unwrap_or_default()))
                    }
                    _ => Ok(Written::ConditionFailed(Item::new())),
                }
            }
            Err(e) => Err(StoreError::Unavailable(describe_error(&e))),
        }
    }

    /// Applies several expressions, each to its item, all or none: `false` when DynamoDB
    /// cancelled them (a condition failed, or another write to the same items).
    pub async fn write_expressions_together(
        &self,
        writes: Vec<(Key, Expression)>,
    ) -> Result<bool, StoreError> {
        let mut request = self.client().transact_write_items();
        for (key, expression) in writes {
            let update = aws_sdk_dynamodb::types::Update::builder()
                .table_name(self.name())
                .key(PK, AttributeValue::S(key.pk))
                .key(SK, AttributeValue::S(key.sk))
                .update_expression(expression.update)
                .set_condition_expression(expression.condition)
                .set_expression_attribute_names(none_if_empty(expression.names))
                .set_expression_attribute_values(none_if_empty(expression.values))
                .build()
                .map_err(|e| StoreError::Corrupt(format!("transaction not built: {e}")))?;
            request = request.transact_items(TransactWriteItem::builder().update(update).build());
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_transaction_canceled_exception() => {
                Ok(false)
            }
            Err(e) => Err(StoreError::Unavailable(describe_error(&e))),
        }
    }
}
