//! The contact book: people who wrote to a tenant, captured from inbound Meta events. A
//! contact is keyed by where it was seen (channel and that channel's id), so capturing the
//! same person again is an idempotent upsert that only refreshes what changed.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::{Deserialize, Serialize};

use crate::aws::describe_error;
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{new_id, IdKind};
use crate::meta::ContactSeen;
use crate::store::{from_item, keys, StoreError, Table};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub id: String,
    pub channel: String,
    pub external_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub first_seen_at: String,
    pub last_seen_at: String,
    #[serde(default)]
    pub events: u64,
}

#[derive(Clone)]
pub struct ContactBook {
    table: Table,
}

impl ContactBook {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Creates the contact on first sight, otherwise refreshes its name, username and last
    /// seen time (a name Meta did not send is kept).
    pub async fn record_seen(
        &self,
        tenant_id: &str,
        seen: &ContactSeen,
        at: &str,
    ) -> ServiceResult<Contact> {
        let key = keys::contact(tenant_id, seen.channel.as_str(), &seen.external_id);
        let new_id = new_id(IdKind::Contact);
        let mut sets = vec![
            "#id = if_not_exists(#id, :id)",
            "#channel = :channel",
            "#externalId = :externalId",
            "#first = if_not_exists(#first, :at)",
            "#last = :at",
            "#gsi1pk = :gsi1pk",
            "#gsi1sk = if_not_exists(#gsi1sk, :id)",
        ];
        let mut request = self
            .table
            .client()
            .update_item()
            .table_name(self.table.name())
            .key(keys::PK, AttributeValue::S(key.pk))
            .key(keys::SK, AttributeValue::S(key.sk))
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#channel", "channel")
            .expression_attribute_names("#externalId", "externalId")
            .expression_attribute_names("#first", "firstSeenAt")
            .expression_attribute_names("#last", "lastSeenAt")
            .expression_attribute_names("#gsi1pk", keys::GSI1_PK)
            .expression_attribute_names("#gsi1sk", keys::GSI1_SK)
            .expression_attribute_names("#events", "events")
            .expression_attribute_values(":id", AttributeValue::S(new_id))
            .expression_attribute_values(
                ":channel",
                AttributeValue::S(seen.channel.as_str().into()),
            )
            .expression_attribute_values(":externalId", AttributeValue::S(seen.external_id.clone()))
            .expression_attribute_values(":at", AttributeValue::S(at.into()))
            .expression_attribute_values(
                ":gsi1pk",
                AttributeValue::S(format!("T#{tenant_id}#CONTACTIDS")),
            )
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::AllNew);
        if let Some(name) = &seen.name {
            sets.push("#name = :name");
            request = request
                .expression_attribute_names("#name", "name")
                .expression_attribute_values(":name", AttributeValue::S(name.clone()));
        }
        if let Some(username) = &seen.username {
            sets.push("#username = :username");
            request = request
                .expression_attribute_names("#username", "username")
                .expression_attribute_values(":username", AttributeValue::S(username.clone()));
        }
        let out = request
            .update_expression(format!("SET {} ADD #events :one", sets.join(", ")))
            .send()
            .await
            .map_err(|e| ServiceError::Store(StoreError::Unavailable(describe_error(&e))))?;
        Ok(from_item(out.attributes.unwrap_or_default())?)
    }

    pub async fn get(
        &self,
        tenant_id: &str,
        channel: &str,
        external_id: &str,
    ) -> ServiceResult<Option<Contact>> {
        match self
            .table
            .get(&keys::contact(tenant_id, channel, external_id))
            .await?
        {
            Some(item) => Ok(Some(from_item(item)?)),
            None => Ok(None),
        }
    }
}
