//! Outbound messages hookhub sends through a provider, and the delivery status the provider
//! reports back. Statuses only move forward (queued → sent → delivered → read; failed
//! unless read), whatever order the provider's reports arrive in.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::content::Content;
use crate::error::{ServiceError, ServiceResult};
use crate::ids::{self, new_id, IdKind};
use crate::store::{from_item, keys, to_item, Index, Item, Key, Query, Table, Update, Updated};

pub const QUEUED: &str = "queued";
pub const SENT: &str = "sent";
pub const FAILED: &str = "failed";
/// What an erased message's recipient and text become.
pub const ERASED: &str = "[erased]";

/// The statuses a message goes through, as the API shows them.
pub const STATUSES: &[&str] = &[QUEUED, SENT, "delivered", "read", FAILED];

/// A message as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Message))]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "msg_01JDQ7Y3ZK5V8X9W2M4N6P8R0T")
    )]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = super::content::openapi::channel))]
    pub channel: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::provider))]
    pub provider: String,
    pub to: String,
    pub content: Content,
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::status))]
    pub status: String,
    pub provider_message_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub error: Option<MessageError>,
    /// tries made to hand it to the provider
    pub attempts: u32,
    /// sent by a platform admin's integration test
    pub test: bool,
    /// on POST: a repeat of an earlier request with the same Idempotency-Key
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub duplicate: Option<bool>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub sent_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub delivered_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub read_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub failed_at: Option<String>,
}

/// Why the provider did not take a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageError {
    pub code: Option<String>,
    pub message: Option<String>,
}

#[cfg(feature = "openapi")]
mod openapi {
    use utoipa::openapi::schema::{ObjectBuilder, Type};

    /// Who can carry a message.
    pub fn provider() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["twilio", "vonage", "sns", "whatsapp"]))
    }

    pub fn status() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(super::STATUSES.iter().copied()))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundMessage {
    pub id: String,
    pub tenant_id: String,
    /// `sms` or `whatsapp`.
    pub channel: String,
    /// `twilio`, `vonage`, `sns` or `whatsapp`.
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_message_id: Option<String>,
    pub to: String,
    pub content: Content,
    pub status: String,
    #[serde(default)]
    pub status_rank: u32,
    /// Tries made to hand the message to the provider.
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Sent by a platform admin's integration test rather than through the API.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
    /// Whether its `message.sent` / `message.failed` event has been published.
    #[serde(default)]
    pub announced: bool,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<String>,
}

impl OutboundMessage {
    pub fn queued(
        tenant_id: &str,
        channel: &str,
        provider: &str,
        to: &str,
        content: Content,
    ) -> Self {
        let now = crate::time::now_rfc3339();
        Self {
            id: new_id(IdKind::Message),
            tenant_id: tenant_id.into(),
            channel: channel.into(),
            provider: provider.into(),
            provider_message_id: None,
            to: to.into(),
            content,
            status: QUEUED.into(),
            status_rank: 0,
            attempts: 0,
            error_code: None,
            error_message: None,
            test: false,
            announced: false,
            created_at: now.clone(),
            updated_at: now,
            sent_at: None,
            delivered_at: None,
            read_at: None,
            failed_at: None,
        }
    }

    /// What the API shows.
    pub fn view(&self) -> MessageView {
        let error = match (&self.error_code, &self.error_message) {
            (None, None) => None,
            (code, message) => Some(MessageError {
                code: code.clone(),
                message: message.clone(),
            }),
        };
        MessageView {
            id: self.id.clone(),
            channel: self.channel.clone(),
            provider: self.provider.clone(),
            to: self.to.clone(),
            content: self.content.clone(),
            status: self.status.clone(),
            provider_message_id: self.provider_message_id.clone(),
            error,
            attempts: self.attempts,
            test: self.test,
            duplicate: None,
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            sent_at: self.sent_at.clone(),
            delivered_at: self.delivered_at.clone(),
            read_at: self.read_at.clone(),
            failed_at: self.failed_at.clone(),
        }
    }

    /// The id of the event announcing what became of it (`message.sent` or
    /// `message.failed`: one or the other), derived so a repeat publishes nothing new.
    pub fn event_id(&self) -> String {
        let body = self.id.split_once('_').map_or("", |(_, b)| b);
        format!("{}_{body}", IdKind::Event.prefix())
    }
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

fn key(tenant_id: &str, id: &str) -> Key {
    Key {
        pk: messages_partition(tenant_id),
        sk: id.into(),
    }
}

/// Filters of a listing.
#[derive(Debug, Default, Clone)]
pub struct MessageFilter {
    pub status: Option<String>,
    pub channel: Option<String>,
    pub to: Option<String>,
    /// Created at or after / before, as ids bounding the range.
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

/// What a provider's status report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusApplied {
    /// The tenant's message with that provider id, if there is one.
    pub message_id: Option<String>,
    /// Whether the report moved its status forward.
    pub moved: bool,
}

#[derive(Clone)]
pub struct MessageLog {
    table: Table,
}

impl MessageLog {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Stores a new message (its id must be new), with its provider reference when it has one.
    pub async fn record(&self, message: &OutboundMessage) -> ServiceResult<()> {
        let mut item = to_item(&key(&message.tenant_id, &message.id), message)?;
        if let Some(pid) = &message.provider_message_id {
            add_provider_ref(&mut item, &message.provider, pid, &message.tenant_id);
        }
        self.table.put_new(item).await?;
        Ok(())
    }

    pub async fn get(&self, tenant_id: &str, id: &str) -> ServiceResult<OutboundMessage> {
        if !ids::is_valid(IdKind::Message, id) {
            return Err(ServiceError::NotFound("message"));
        }
        self.table
            .get_record(&key(tenant_id, id))
            .await?
            .ok_or(ServiceError::NotFound("message"))
    }

    /// Newest first.
    pub async fn list(
        &self,
        tenant_id: &str,
        filter: &MessageFilter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<OutboundMessage>, Option<String>)> {
        let lower = filter.from.map_or_else(
            || format!("{}_", IdKind::Message.prefix()),
            |at| ids::bound_at(IdKind::Message, at, false),
        );
        let upper = filter.until.map_or_else(
            || format!("{}_~", IdKind::Message.prefix()),
            |at| ids::bound_at(IdKind::Message, at, true),
        );
        let mut query = Query::new(Index::Primary, messages_partition(tenant_id))
            .between(lower, upper)
            .newest_first()
            .page(limit, cursor);
        for (attr, value) in [
            ("status", &filter.status),
            ("channel", &filter.channel),
            ("to", &filter.to),
        ] {
            if let Some(v) = value {
                query = query.filter_eq(attr, v.clone());
            }
        }
        Ok(self.table.query_records(query).await?)
    }

    /// Erasure of one person, one page of the tenant's messages at a time: messages to any
    /// of `numbers` (compared without `+` and spaces) lose their recipient and content; one
    /// not sent yet is failed with `erased` instead of being sent. Answers how many and
    /// where the next page starts.
    pub async fn erase_page(
        &self,
        tenant_id: &str,
        numbers: &[String],
        cursor: Option<&str>,
    ) -> ServiceResult<(usize, Option<String>)> {
        let bare = |n: &str| -> String { n.chars().filter(|c| c.is_ascii_digit()).collect() };
        let wanted: Vec<String> = numbers
            .iter()
            .map(|n| bare(n))
            .filter(|n| !n.is_empty())
            .collect();
        let query = Query::new(Index::Primary, messages_partition(tenant_id))
            .page(Some(crate::store::MAX_PAGE_SIZE), cursor);
        let (messages, next) = self.table.query_records::<OutboundMessage>(query).await?;
        let erased_content: AttributeValue = serde_dynamo::to_attribute_value(Content::Text {
            text: ERASED.into(),
        })
        .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
        let mut erased = 0;
        for message in messages {
            if message.to == ERASED || !wanted.contains(&bare(&message.to)) {
                continue;
            }
            let mut update = Update::default()
                .set_s("to", ERASED)
                .set("content", erased_content.clone())
                .set_s("updatedAt", crate::time::now_rfc3339());
            if message.status == QUEUED {
                update = update
                    .set_s("status", FAILED)
                    .set("statusRank", number(25))
                    .set_s("errorCode", "erased")
                    .set_s("errorMessage", "not sent: the recipient's data was erased");
            }
            self.table
                .update(&key(tenant_id, &message.id), update)
                .await?;
            erased += 1;
        }
        Ok((erased, next))
    }

    /// Takes the message for one send attempt: counts the attempt and holds a lease, so a
    /// second job for the same message (a redelivery, a repeated request) cannot send it
    /// again while this one runs. `Err(Some(message))` when it is not queued or is leased.
    pub async fn claim(
        &self,
        tenant_id: &str,
        id: &str,
        lease: std::time::Duration,
    ) -> ServiceResult<Result<OutboundMessage, Option<OutboundMessage>>> {
        let now = chrono::Utc::now().timestamp_millis();
        let update = Update::default()
            .increment("attempts")
            .set("leaseUntil", number(now + lease.as_millis() as i64))
            .set_s("updatedAt", crate::time::now_rfc3339())
            .when("#status = :queued AND (attribute_not_exists(#lease) OR #lease < :now)")
            .name("#status", "status")
            .name("#lease", "leaseUntil")
            .value(":queued", AttributeValue::S(QUEUED.into()))
            .value(":now", number(now));
        Ok(
            match self.table.update(&key(tenant_id, id), update).await? {
                Updated::Done(item) => Ok(from_item(item)?),
                Updated::ConditionFailed(item) => Err(item.map(from_item).transpose()?),
            },
        )
    }

    /// The provider took it: `sent`, with the provider's id to match its status reports.
    pub async fn mark_sent(
        &self,
        message: &OutboundMessage,
        provider: &str,
        provider_message_id: &str,
    ) -> ServiceResult<Option<OutboundMessage>> {
        let now = crate::time::now_rfc3339();
        let update = Update::default()
            .set_s("status", SENT)
            .set("statusRank", number(10))
            .set_s("provider", provider)
            .set_s("providerMessageId", provider_message_id)
            .set_s(keys::GSI1_PK, provider_ref(provider, provider_message_id))
            .set_s(keys::GSI1_SK, message.tenant_id.clone())
            .set_s("sentAt", now.clone())
            .set_s("updatedAt", now)
            .remove("leaseUntil")
            .remove("errorCode")
            .remove("errorMessage");
        self.finish(message, update).await
    }

    /// A failed attempt that will be tried again: the error is kept, the lease let go.
    pub async fn mark_retrying(
        &self,
        message: &OutboundMessage,
        code: &str,
        error: &str,
    ) -> ServiceResult<Option<OutboundMessage>> {
        let update = Update::default()
            .set_s("errorCode", code)
            .set_s("errorMessage", error)
            .set_s("updatedAt", crate::time::now_rfc3339())
            .remove("leaseUntil");
        self.finish(message, update).await
    }

    /// Will never be sent: `failed`, with the reason.
    pub async fn mark_failed(
        &self,
        message: &OutboundMessage,
        code: &str,
        error: &str,
    ) -> ServiceResult<Option<OutboundMessage>> {
        let now = crate::time::now_rfc3339();
        let update = Update::default()
            .set_s("status", FAILED)
            .set("statusRank", number(25))
            .set_s("errorCode", code)
            .set_s("errorMessage", error)
            .set_s("failedAt", now.clone())
            .set_s("updatedAt", now)
            .remove("leaseUntil");
        self.finish(message, update).await
    }

    /// Records that the outcome's event is published.
    pub async fn mark_announced(&self, message: &OutboundMessage) -> ServiceResult<()> {
        self.table
            .update_existing(
                &key(&message.tenant_id, &message.id),
                &[("announced", Some(AttributeValue::Bool(true)))],
            )
            .await?;
        Ok(())
    }

    /// Applies the outcome of an attempt, if the message is still queued (it is: this job
    /// holds its lease). `None` when it no longer is.
    async fn finish(
        &self,
        message: &OutboundMessage,
        update: Update<'_>,
    ) -> ServiceResult<Option<OutboundMessage>> {
        let update = update
            .when("#status = :queued")
            .name("#status", "status")
            .value(":queued", AttributeValue::S(QUEUED.into()));
        match self
            .table
            .update(&key(&message.tenant_id, &message.id), update)
            .await?
        {
            Updated::Done(item) => Ok(Some(from_item(item)?)),
            Updated::ConditionFailed(_) => Ok(None),
        }
    }

    /// Applies a provider's status report to the tenant's message with that provider id.
    pub async fn apply_status(
        &self,
        tenant_id: &str,
        provider: &str,
        provider_message_id: &str,
        status: &str,
        error_code: Option<&str>,
        at: &str,
    ) -> ServiceResult<StatusApplied> {
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
            return Ok(StatusApplied {
                message_id: None,
                moved: false,
            });
        };
        let Some(rank) = status_rank(status) else {
            return Ok(StatusApplied {
                message_id: Some(message.id),
                moved: false,
            });
        };
        let at_attribute = format!("{status}At");
        let mut update = Update::default()
            .set_s("status", status)
            .set("statusRank", number(rank.into()))
            .set_s("updatedAt", at)
            .set_s(&at_attribute, at)
            .when("#rank < :rank")
            .name("#rank", "statusRank")
            .value(":rank", number(rank.into()));
        if let Some(code) = error_code {
            update = update.set_s("errorCode", code);
        }
        let moved = matches!(
            self.table
                .update(&key(tenant_id, &message.id), update)
                .await?,
            Updated::Done(_)
        );
        Ok(StatusApplied {
            message_id: Some(message.id),
            moved,
        })
    }
}

fn number(n: i64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

fn add_provider_ref(item: &mut Item, provider: &str, provider_message_id: &str, tenant_id: &str) {
    item.insert(
        keys::GSI1_PK.into(),
        AttributeValue::S(provider_ref(provider, provider_message_id)),
    );
    item.insert(keys::GSI1_SK.into(), AttributeValue::S(tenant_id.into()));
}
