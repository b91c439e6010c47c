//! Outbound messages hookhub sent through a provider, and the delivery status the provider
//! reports back. Statuses only move forward (sent → delivered → read; failed unless read),
//! whatever order the provider's webhooks arrive in.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::aws::describe_error;
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{self, IdKind};
use crate::store::{from_item, keys, to_item, Index, StoreError, Table};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundMessage {
    pub id: String,
    pub tenant_id: String,
    pub channel: String,
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_message_id: Option<String>,
    pub to: String,
    pub status: String,
    #[serde(default)]
    pub status_rank: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// How far along a status is; a report never moves a message back.
pub fn status_rank(status: &str) -> Option<u32> {
    match status {
        "queued" | "accepted" => Some(0),
        "sent" => Some(10),
        "delivered" => Some(20),
        "failed" => Some(25),
        "read" => Some(30),
        _ => None,
    }
}

pub fn messages_partition(tenant_id: &str) -> String {
    format!("T#{tenant_id}#MESSAGES")
}

fn provider_ref(provider: &str, provider_message_id: &str) -> String {
    format!("PROVIDERMSG#{provider}#{provider_message_id}")
}

#[derive(Clone)]
pub struct MessageLog {
    table: Table,
}

impl MessageLog {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    pub async fn record(&self, message: &OutboundMessage) -> ServiceResult<()> {
        let key = crate::store::Key {
            pk: messages_partition(&message.tenant_id),
            sk: message.id.clone(),
        };
        let mut item = to_item(&key, message)?;
        if let Some(pid) = &message.provider_message_id {
            item.insert(
                keys::GSI1_PK.into(),
                AttributeValue::S(provider_ref(&message.provider, pid)),
            );
            item.insert(
                keys::GSI1_SK.into(),
                AttributeValue::S(message.tenant_id.clone()),
            );
        }
        self.table.put(item).await?;
        Ok(())
    }

    pub async fn get(&self, tenant_id: &str, id: &str) -> ServiceResult<OutboundMessage> {
        if !ids::is_valid(IdKind::Message, id) {
            return Err(ServiceError::NotFound("message"));
        }
        let key = crate::store::Key {
            pk: messages_partition(tenant_id),
            sk: id.into(),
        };
        let item = self
            .table
            .get(&key)
            .await?
            .ok_or(ServiceError::NotFound("message"))?;
        Ok(from_item(item)?)
    }

    /// Applies a provider's status report to the tenant's message with that provider id.
    /// Answers the message id when it moved the status; `None` when the message is not one
    /// of this tenant's, or the report is older than what is recorded.
    pub async fn apply_status(
        &self,
        tenant_id: &str,
        provider: &str,
        provider_message_id: &str,
        status: &str,
        error_code: Option<&str>,
        at: &str,
    ) -> ServiceResult<Option<String>> {
        let Some(rank) = status_rank(status) else {
            return Ok(None);
        };
        // The index partition is the provider's id; the sort key pins it to this tenant.
        let found: Option<OutboundMessage> = self
            .table
            .query_one(
                Index::Gsi1,
                provider_ref(provider, provider_message_id),
                tenant_id,
            )
            .await?;
        let Some(message) = found else {
            return Ok(None);
        };
        let mut request = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .key(keys::PK, AttributeValue::S(messages_partition(tenant_id)))
            .key(keys::SK, AttributeValue::S(message.id.clone()))
            .condition_expression("attribute_exists(#pk) AND #rank < :rank")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#rank", "statusRank")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#updated", "updatedAt")
            .expression_attribute_values(":rank", AttributeValue::N(rank.to_string()))
            .expression_attribute_values(":status", AttributeValue::S(status.into()))
            .expression_attribute_values(":at", AttributeValue::S(at.into()));
        let expression = match error_code {
            Some(code) => {
                request = request
                    .expression_attribute_names("#error", "errorCode")
                    .expression_attribute_values(":error", AttributeValue::S(code.into()));
                "SET #status = :status, #rank = :rank, #updated = :at, #error = :error"
            }
            None => "SET #status = :status, #rank = :rank, #updated = :at",
        };
        match request.update_expression(expression).send().await {
            Ok(_) => Ok(Some(message.id)),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(None)
            }
            Err(e) => Err(ServiceError::Store(StoreError::Unavailable(
                describe_error(&e),
            ))),
        }
    }
}
