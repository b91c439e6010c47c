//! The contact book: people who wrote to a tenant, captured from inbound Meta events. A
//! contact is one person on one channel, keyed by that channel's id, so capturing the same
//! person again is an idempotent upsert that refreshes what changed and counts the
//! interaction. Tenants add tags, custom fields, an email and export consent.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ServiceError, ServiceResult};
use crate::ids::{self, new_id, IdKind};
use crate::meta::ContactSeen;
use crate::store::{keys, Index, Query, StoreError, Table};
use crate::validation::Fields;

pub const MAX_TAGS: usize = 50;
pub const MAX_CUSTOM_FIELDS: usize = 50;
/// Contacts a sorted listing or export reads at most.
pub const MAX_SORTED_CONTACTS: usize = 50_000;

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub custom_fields: BTreeMap<String, String>,
    /// They wrote to the tenant on this channel, so the tenant may message them there.
    #[serde(default)]
    pub opted_in: bool,
    #[serde(default)]
    pub export_consent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_consent_at: Option<String>,
    pub first_seen_at: String,
    pub last_seen_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub messages: u64,
    #[serde(default)]
    pub comments: u64,
    #[serde(default)]
    pub reactions: u64,
    #[serde(default)]
    pub events: u64,
}

impl Contact {
    /// Created is first seen; updated is the last change by capture or by the tenant.
    pub fn updated(&self) -> &str {
        self.updated_at.as_deref().unwrap_or(&self.last_seen_at)
    }

    pub fn view(&self) -> ContactView {
        ContactView {
            id: self.id.clone(),
            channel: self.channel.clone(),
            external_id: self.external_id.clone(),
            name: self.name.clone(),
            username: self.username.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
            tags: self.tags.clone(),
            custom_fields: self.custom_fields.clone(),
            opted_in: self.opted_in,
            export_consent: self.export_consent,
            export_consent_at: self.export_consent_at.clone(),
            first_seen_at: self.first_seen_at.clone(),
            last_seen_at: self.last_seen_at.clone(),
            created_at: self.first_seen_at.clone(),
            updated_at: self.updated().to_string(),
            messages: self.messages,
            comments: self.comments,
            reactions: self.reactions,
            events: self.events,
        }
    }
}

/// A contact as the API (and the events about it) show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Contact))]
#[serde(rename_all = "camelCase")]
pub struct ContactView {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "con_01JDQ7Y3ZK5V8X9W2M4N6P8R0T")
    )]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::channel))]
    pub channel: String,
    /// wa_id or Instagram-scoped id
    pub external_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub email: Option<String>,
    pub tags: Vec<String>,
    pub custom_fields: BTreeMap<String, String>,
    /// they wrote to the tenant on this channel, so the tenant may message them there
    pub opted_in: bool,
    pub export_consent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime, nullable = false))]
    pub export_consent_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub first_seen_at: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub last_seen_at: String,
    /// when first seen
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    /// the last change, by capture or by the tenant
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
    /// interactions counted: messages, comments, reactions, and every inbound event
    pub messages: u64,
    pub comments: u64,
    pub reactions: u64,
    pub events: u64,
}

/// `PATCH /api/v1/contacts/{id}`, validated: the fields given replace the stored ones.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ContactUpdate))]
#[cfg_attr(
    feature = "openapi",
    serde(rename_all = "camelCase", deny_unknown_fields)
)]
pub struct ContactUpdate {
    /// replaces the tags; blank ones are dropped and repeats merged
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::tags))]
    pub tags: Option<Vec<String>>,
    /// replaces the custom fields
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::custom_fields))]
    pub custom_fields: Option<BTreeMap<String, String>>,
    /// an email address; blank or null removes it
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 254))]
    pub email: Option<Option<String>>,
    /// given now: its time is recorded
    pub export_consent: Option<bool>,
}

impl ContactUpdate {
    pub fn read(mut input: Fields) -> Result<Self, crate::validation::InputError> {
        let tags = input.string_list("tags", MAX_TAGS, 64).map(|tags| {
            let mut tags: Vec<String> = tags.into_iter().filter(|t| !t.is_empty()).collect();
            tags.sort();
            tags.dedup();
            tags
        });
        let custom_fields = input
            .string_map("customFields", MAX_CUSTOM_FIELDS, 500)
            .map(|fields| fields.into_iter().collect());
        let email = if input.present("email") {
            let email = input.string("email", 254).filter(|e| !e.is_empty());
            if email
                .as_deref()
                .is_some_and(|e| !crate::validation::is_email_address(e))
            {
                input.error("email", "must be an email address");
            }
            Some(email)
        } else {
            None
        };
        let export_consent = input.bool("exportConsent");
        input.finish()?;
        Ok(Self {
            tags,
            custom_fields,
            email,
            export_consent,
        })
    }
}

/// A page of contacts, with how many match and where the page starts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ContactPage))]
#[serde(rename_all = "camelCase")]
pub struct ContactPage {
    pub data: Vec<ContactView>,
    pub has_more: bool,
    /// ?cursor= for the next page; null on the last
    pub next_cursor: Option<String>,
    /// How many contacts match; null when the page was read straight from an index without
    /// counting
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub total: Option<usize>,
    pub limit: usize,
    pub offset: usize,
}

#[cfg(feature = "openapi")]
mod openapi {
    use utoipa::openapi::schema::{
        AdditionalProperties, ArrayBuilder, ObjectBuilder, SchemaType, Type,
    };

    // null is taken as absent, as everywhere in request bodies.
    fn or_null(kind: Type) -> SchemaType {
        SchemaType::from_iter([kind, Type::Null])
    }

    pub fn channel() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["whatsapp", "instagram", "messenger"]))
    }

    pub fn tags() -> ArrayBuilder {
        ArrayBuilder::new()
            .schema_type(or_null(Type::Array))
            .items(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(64)),
            )
            .max_items(Some(super::MAX_TAGS))
    }

    pub fn custom_fields() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(or_null(Type::Object))
            .max_properties(Some(super::MAX_CUSTOM_FIELDS))
            .additional_properties(Some(AdditionalProperties::RefOr(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(500))
                    .into(),
            )))
    }
}

/// What an inbound event was, for the contact's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    Message,
    Comment,
    Reaction,
    Other,
}

impl Interaction {
    pub fn of_event_type(event_type: &str) -> Self {
        match event_type {
            "message.received" | "message.postback" | "message.referral" => Self::Message,
            "comment.created" | "live_comment.created" | "mention.created" => Self::Comment,
            "message.reaction" => Self::Reaction,
            _ => Self::Other,
        }
    }

    fn counter(self) -> Option<&'static str> {
        match self {
            Self::Message => Some("messages"),
            Self::Comment => Some("comments"),
            Self::Reaction => Some("reactions"),
            Self::Other => None,
        }
    }
}

/// What capturing a contact did.
#[derive(Debug, Clone, PartialEq)]
pub struct Captured {
    pub contact: Contact,
    pub created: bool,
    /// Fields whose value capture changed (name, username), for `contact.updated`.
    pub changed: Vec<&'static str>,
}

/// The contact list's filters.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    pub created_after: Option<String>,
    pub created_before: Option<String>,
    pub updated_after: Option<String>,
    pub has_tag: Option<String>,
    pub custom_fields: BTreeMap<String, String>,
    /// A channel: contacts on it who opted in.
    pub opted_in: Option<String>,
    pub search: Option<String>,
    pub export_consent_only: bool,
}

impl ContactFilter {
    pub fn matches(&self, c: &Contact) -> bool {
        let created = c.first_seen_at.as_str();
        self.created_after.as_deref().is_none_or(|t| created >= t)
            && self.created_before.as_deref().is_none_or(|t| created < t)
            && self
                .updated_after
                .as_deref()
                .is_none_or(|t| c.updated() >= t)
            && self
                .has_tag
                .as_deref()
                .is_none_or(|t| c.tags.iter().any(|x| x.eq_ignore_ascii_case(t)))
            && self
                .custom_fields
                .iter()
                .all(|(k, v)| c.custom_fields.get(k) == Some(v))
            && self
                .opted_in
                .as_deref()
                .is_none_or(|ch| c.channel == ch && c.opted_in)
            && (!self.export_consent_only || c.export_consent)
            && self.search.as_deref().is_none_or(|q| {
                let q = q.to_lowercase();
                [&c.name, &c.username, &c.email, &c.phone]
                    .iter()
                    .filter_map(|f| f.as_deref())
                    .chain([c.external_id.as_str()])
                    .any(|f| f.to_lowercase().contains(&q))
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    CreatedAt,
    UpdatedAt,
    Name,
    LastSeenAt,
}

impl SortBy {
    /// The names a listing sorts by (`parse` also takes `firstName` and `lastName` for
    /// `name`).
    pub const NAMES: [&'static str; 4] = ["createdAt", "updatedAt", "lastSeenAt", "name"];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "createdAt" => Some(Self::CreatedAt),
            "updatedAt" => Some(Self::UpdatedAt),
            "name" | "firstName" | "lastName" => Some(Self::Name),
            "lastSeenAt" => Some(Self::LastSeenAt),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct ContactBook {
    table: Table,
    sort_limit: usize,
}

impl ContactBook {
    pub fn new(table: Table) -> Self {
        Self {
            table,
            sort_limit: MAX_SORTED_CONTACTS,
        }
    }

    /// How many contacts a sorted listing may read (`MAX_SORTED_CONTACTS` by default).
    pub fn with_sort_limit(mut self, limit: usize) -> Self {
        self.sort_limit = limit;
        self
    }

    /// Creates the contact on first sight, otherwise refreshes its name, username and last
    /// seen time (a name Meta did not send is kept), and counts the interaction.
    pub async fn record_seen(
        &self,
        tenant_id: &str,
        seen: &ContactSeen<'_>,
        interaction: Interaction,
        at: &str,
    ) -> ServiceResult<Captured> {
        let key = keys::contact(tenant_id, seen.channel.as_str(), &seen.external_id);
        let mut sets = vec![
            "#id = if_not_exists(#id, :id)",
            "#channel = :channel",
            "#externalId = :externalId",
            "#first = if_not_exists(#first, :at)",
            "#last = :at",
            "#gsi1pk = :gsi1pk",
            "#gsi1sk = if_not_exists(#gsi1sk, :id)",
        ];
        let mut adds = vec!["#events :one"];
        let mut names: std::collections::HashMap<String, String> = [
            ("#id", "id"),
            ("#channel", "channel"),
            ("#externalId", "externalId"),
            ("#first", "firstSeenAt"),
            ("#last", "lastSeenAt"),
            ("#gsi1pk", keys::GSI1_PK),
            ("#gsi1sk", keys::GSI1_SK),
            ("#events", "events"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut values: std::collections::HashMap<String, AttributeValue> = [
            (":id", AttributeValue::S(new_id(IdKind::Contact))),
            (":channel", AttributeValue::S(seen.channel.as_str().into())),
            (
                ":externalId",
                AttributeValue::S(seen.external_id.to_string()),
            ),
            (":at", AttributeValue::S(at.into())),
            (
                ":gsi1pk",
                AttributeValue::S(keys::contacts_by_id(tenant_id)),
            ),
            (":one", AttributeValue::N("1".into())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        if let Some(counter) = interaction.counter() {
            adds.push("#counter :one");
            names.insert("#counter".into(), counter.into());
        }
        let mut set = |name: &str, attr: &str, placeholder: &str, value: AttributeValue| {
            names.insert(name.to_string(), attr.to_string());
            values.insert(placeholder.to_string(), value);
        };
        if interaction == Interaction::Message {
            sets.push("#optedIn = :true");
            set("#optedIn", "optedIn", ":true", AttributeValue::Bool(true));
        }
        if seen.channel == crate::meta::Channel::Whatsapp {
            sets.push("#phone = :phone");
            set(
                "#phone",
                "phone",
                ":phone",
                AttributeValue::S(format!("+{}", seen.external_id)),
            );
        }
        if let Some(name) = &seen.name {
            sets.push("#name = :name");
            set(
                "#name",
                "name",
                ":name",
                AttributeValue::S(name.to_string()),
            );
        }
        if let Some(username) = &seen.username {
            sets.push("#username = :username");
            set(
                "#username",
                "username",
                ":username",
                AttributeValue::S(username.to_string()),
            );
        }
        let expression = crate::store::Expression {
            update: format!("SET {} ADD {}", sets.join(", "), adds.join(", ")),
            condition: None,
            names,
            values,
        };
        let old = match self
            .table
            .write_expression(&key, expression, ReturnValue::AllOld)
            .await?
        {
            crate::store::Written::Done(old) | crate::store::Written::ConditionFailed(old) => old,
        };
        let text = |name: &str| old.get(name).and_then(|v| v.as_s().ok()).cloned();
        let created = old.is_empty();
        let mut changed = Vec::new();
        if !created {
            if seen.name.is_some() && text("name").as_deref() != seen.name.as_deref() {
                changed.push("name");
            }
            if seen.username.is_some() && text("username").as_deref() != seen.username.as_deref() {
                changed.push("username");
            }
        }
        let contact = self
            .get_by_key(tenant_id, seen.channel.as_str(), &seen.external_id)
            .await?
            .ok_or_else(|| ServiceError::Conflict("contact vanished while captured".into()))?;
        Ok(Captured {
            contact,
            created,
            changed,
        })
    }

    pub async fn get_by_key(
        &self,
        tenant_id: &str,
        channel: &str,
        external_id: &str,
    ) -> ServiceResult<Option<Contact>> {
        Ok(self
            .table
            .get_record(&keys::contact(tenant_id, channel, external_id))
            .await?)
    }

    pub async fn get(&self, tenant_id: &str, id: &str) -> ServiceResult<Contact> {
        if !ids::is_valid(IdKind::Contact, id) {
            return Err(ServiceError::NotFound("contact"));
        }
        self.table
            .query_one(Index::Gsi1, keys::contacts_by_id(tenant_id), id)
            .await?
            .ok_or(ServiceError::NotFound("contact"))
    }

    /// Every contact of the tenant, page by page (a Query on the tenant's partition, never a
    /// Scan); filtering and sorting happen over what it returns. Refused beyond
    /// `MAX_SORTED_CONTACTS`, so that no request holds more than a bounded amount: a larger
    /// tenant exports in creation order, which pages.
    pub async fn all(&self, tenant_id: &str) -> ServiceResult<Vec<Contact>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let query = Query::new(Index::Primary, keys::contacts_partition(tenant_id))
                .page(Some(crate::store::MAX_PAGE_SIZE), cursor.as_deref());
            let (page, next) = self.table.query_records::<Contact>(query).await?;
            out.extend(page);
            if out.len() > self.sort_limit {
                return Err(ServiceError::FailedPrecondition(format!(
                    "the tenant has more than {} contacts: list or export them in creation order (sortBy=createdAt), which pages",
                    self.sort_limit
                )));
            }
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        Ok(out)
    }

    /// Contacts in creation order (their ids sort by time), filtered page by page on the id
    /// index: at most `limit` matches, from after the contact `after`, and whether more may
    /// follow. Memory holds one page, however large the tenant.
    pub async fn created_order_page(
        &self,
        tenant_id: &str,
        filter: &ContactFilter,
        descending: bool,
        after: Option<&str>,
        limit: usize,
    ) -> ServiceResult<(Vec<Contact>, bool)> {
        let prefix = format!("{}_", IdKind::Contact.prefix());
        // Ids are fixed-length, so `after!` sorts just above `after` and below every later id.
        let (from, to) = match (after, descending) {
            (None, _) => (prefix.clone(), format!("{prefix}~")),
            (Some(a), false) => (format!("{a}!"), format!("{prefix}~")),
            (Some(a), true) => (prefix.clone(), a.to_string()),
        };
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = Query::new(Index::Gsi1, keys::contacts_by_id(tenant_id))
                .between(from.clone(), to.clone())
                .page(Some(200), cursor.as_deref());
            if descending {
                query = query.newest_first();
            }
            let (page, next) = self.table.query_records::<Contact>(query).await?;
            for contact in page {
                if Some(contact.id.as_str()) == after || !filter.matches(&contact) {
                    continue;
                }
                if out.len() == limit {
                    return Ok((out, true));
                }
                out.push(contact);
            }
            match next {
                Some(n) => cursor = Some(n),
                None => return Ok((out, false)),
            }
        }
    }

    /// Filtered and sorted; ties broken by id so that offsets are stable.
    pub async fn list(
        &self,
        tenant_id: &str,
        filter: &ContactFilter,
        sort_by: SortBy,
        descending: bool,
    ) -> ServiceResult<Vec<Contact>> {
        let mut contacts: Vec<Contact> = self
            .all(tenant_id)
            .await?
            .into_iter()
            .filter(|c| filter.matches(c))
            .collect();
        contacts.sort_by(|a, b| {
            let key = |c: &Contact| match sort_by {
                SortBy::CreatedAt => c.first_seen_at.clone(),
                SortBy::UpdatedAt => c.updated().to_string(),
                SortBy::LastSeenAt => c.last_seen_at.clone(),
                SortBy::Name => c
                    .name
                    .clone()
                    .or(c.username.clone())
                    .unwrap_or_default()
                    .to_lowercase(),
            };
            let order = key(a).cmp(&key(b)).then_with(|| a.id.cmp(&b.id));
            if descending {
                order.reverse()
            } else {
                order
            }
        });
        Ok(contacts)
    }

    /// Writes the fields a tenant edits (tags, custom fields, email, export consent) with
    /// one UpdateItem, so that a capture running at the same time keeps its counts.
    /// A page of a selection. In creation order from the start, it is read from the id
    /// index page by page when `stream` (an export, never held whole) or when the tenant is
    /// too large to sort (a listing, then without a total); otherwise every contact is read,
    /// sorted and windowed by offset or cursor (the last id of the previous page).
    pub async fn select(
        &self,
        tenant_id: &str,
        sel: &Selection,
        cursor: Option<&str>,
        limit: usize,
        stream: bool,
    ) -> ServiceResult<SelectedPage> {
        let creation_order = sel.sort_by == SortBy::CreatedAt && sel.offset == 0;
        let by_index = || async {
            let (rows, more) = self
                .created_order_page(tenant_id, &sel.filter, sel.descending, cursor, limit)
                .await?;
            let next = more.then(|| rows.last().map(|c| c.id.clone())).flatten();
            Ok::<_, ServiceError>(SelectedPage {
                rows,
                total: None,
                next,
            })
        };
        if stream && creation_order {
            return by_index().await;
        }
        match self
            .list(tenant_id, &sel.filter, sel.sort_by, sel.descending)
            .await
        {
            Err(ServiceError::FailedPrecondition(_)) if creation_order => by_index().await,
            listed => {
                let all = listed?;
                let (rows, next) = window(&all, sel.offset, cursor, limit)?;
                Ok(SelectedPage {
                    rows: rows.to_vec(),
                    total: Some(all.len()),
                    next,
                })
            }
        }
    }

    /// An admin's edit (tags, custom fields, email, export consent): applied and stored
    /// when something changed. Returns the contact and what changed.
    pub async fn edit(
        &self,
        tenant_id: &str,
        id: &str,
        update: ContactUpdate,
    ) -> ServiceResult<Edit> {
        let mut contact = self.get(tenant_id, id).await?;
        let mut changes = Vec::new();
        let mut tags_added = Vec::new();
        let mut tags_removed = Vec::new();
        let mut fields_changed = Vec::new();
        if let Some(tags) = update.tags {
            if tags != contact.tags {
                changes.push("tags");
            }
            tags_added = tags
                .iter()
                .filter(|t| !contact.tags.contains(t))
                .cloned()
                .collect();
            tags_removed = contact
                .tags
                .iter()
                .filter(|t| !tags.contains(t))
                .cloned()
                .collect();
            contact.tags = tags;
        }
        if let Some(fields) = update.custom_fields {
            if fields != contact.custom_fields {
                changes.push("customFields");
            }
            let names: std::collections::BTreeSet<&String> =
                fields.keys().chain(contact.custom_fields.keys()).collect();
            fields_changed = names
                .into_iter()
                .filter_map(|name| {
                    let (old, new) = (contact.custom_fields.get(name), fields.get(name));
                    (old != new).then(|| FieldChange {
                        name: name.clone(),
                        old_value: old.cloned(),
                        new_value: new.cloned(),
                    })
                })
                .collect();
            contact.custom_fields = fields;
        }
        if let Some(email) = update.email {
            if email != contact.email {
                changes.push("email");
            }
            contact.email = email;
        }
        if let Some(consent) = update.export_consent {
            if consent != contact.export_consent {
                changes.push("exportConsent");
                contact.export_consent_at = consent.then(crate::time::now_rfc3339);
            }
            contact.export_consent = consent;
        }
        if !changes.is_empty() {
            contact.updated_at = Some(crate::time::now_rfc3339());
            self.apply_edit(tenant_id, &contact).await?;
        }
        Ok(Edit {
            contact,
            changes,
            tags_added,
            tags_removed,
            fields_changed,
        })
    }

    pub async fn apply_edit(&self, tenant_id: &str, contact: &Contact) -> ServiceResult<()> {
        let to_attr = |v: Value| {
            serde_dynamo::to_attribute_value::<_, AttributeValue>(v)
                .map_err(|e| ServiceError::Store(StoreError::Corrupt(e.to_string())))
        };
        let updated_at = contact
            .updated_at
            .clone()
            .unwrap_or_else(crate::time::now_rfc3339);
        let attributes = [
            ("tags", Some(to_attr(json!(contact.tags))?)),
            ("customFields", Some(to_attr(json!(contact.custom_fields))?)),
            (
                "exportConsent",
                Some(AttributeValue::Bool(contact.export_consent)),
            ),
            ("updatedAt", Some(AttributeValue::S(updated_at))),
            ("email", contact.email.clone().map(AttributeValue::S)),
            (
                "exportConsentAt",
                contact.export_consent_at.clone().map(AttributeValue::S),
            ),
        ];
        let key = keys::contact(tenant_id, &contact.channel, &contact.external_id);
        if self.table.update_existing(&key, &attributes).await? {
            Ok(())
        } else {
            Err(ServiceError::NotFound("contact"))
        }
    }

    /// Erases the contact record.
    pub async fn delete(&self, tenant_id: &str, contact: &Contact) -> ServiceResult<()> {
        self.table
            .delete(&keys::contact(
                tenant_id,
                &contact.channel,
                &contact.external_id,
            ))
            .await?;
        Ok(())
    }
}

/// One custom field's change: absent before (added) or after (removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub name: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// What an admin's edit changed.
#[derive(Debug, Clone)]
pub struct Edit {
    pub contact: Contact,
    /// The names of the fields changed, as the audit log records them.
    pub changes: Vec<&'static str>,
    pub tags_added: Vec<String>,
    pub tags_removed: Vec<String>,
    pub fields_changed: Vec<FieldChange>,
}

impl Edit {
    /// The events the edit announces: `contact.updated`, then one `tag.added` or
    /// `tag.removed` per tag and one `customfield.updated` per field, for receivers that
    /// react to one kind of change.
    pub fn announcements(&self) -> Vec<(&'static str, Value)> {
        if self.changes.is_empty() {
            return Vec::new();
        }
        let view = self.contact.view();
        let at = self.contact.updated_at.clone();
        let mut out = vec![(
            "contact.updated",
            json!({"contact": view, "changes": self.changes}),
        )];
        for (event, tags) in [
            ("tag.added", &self.tags_added),
            ("tag.removed", &self.tags_removed),
        ] {
            for tag in tags {
                out.push((
                    event,
                    json!({"contact": view, "tag": {"name": tag, "at": at}}),
                ));
            }
        }
        for field in &self.fields_changed {
            out.push((
                "customfield.updated",
                json!({"contact": view, "field": {"name": field.name,
                    "oldValue": field.old_value, "newValue": field.new_value}}),
            ));
        }
        out
    }
}

/// Which contacts a listing or an export reads, and in what order.
#[derive(Debug, Clone)]
pub struct Selection {
    pub filter: ContactFilter,
    pub sort_by: SortBy,
    pub descending: bool,
    pub offset: usize,
}

/// One page of a selection: its contacts, the total when it was counted, and where the next
/// page starts.
#[derive(Debug, Clone)]
pub struct SelectedPage {
    pub rows: Vec<Contact>,
    pub total: Option<usize>,
    pub next: Option<String>,
}

fn window<'a>(
    all: &'a [Contact],
    offset: usize,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(&'a [Contact], Option<String>), StoreError> {
    let start = match cursor {
        Some(id) => {
            all.iter()
                .position(|c| c.id == id)
                .ok_or(StoreError::InvalidCursor(
                    "it does not name a contact in this list",
                ))?
                + 1
        }
        None => offset.min(all.len()),
    };
    let end = (start + limit).min(all.len());
    let slice = &all[start..end];
    let next = (end < all.len())
        .then(|| slice.last().map(|c| c.id.clone()))
        .flatten();
    Ok((slice, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(tags: &[&str], fields: &[(&str, &str)]) -> Contact {
        serde_json::from_value(json!({
            "id": "con_01", "channel": "whatsapp", "externalId": "16505551234",
            "tags": tags, "customFields": fields.iter().cloned().collect::<BTreeMap<_, _>>(),
            "optedIn": true, "exportConsent": false, "firstSeenAt": "", "lastSeenAt": "",
            "updatedAt": "2026-12-07T09:00:00.000Z",
        }))
        .unwrap()
    }

    #[test]
    fn an_edit_announces_each_tag_and_field_it_changed() {
        let edit = Edit {
            contact: contact(&["new", "vip"], &[("drink", "tea"), ("points", "150")]),
            changes: vec!["tags", "customFields"],
            tags_added: vec!["new".into()],
            tags_removed: vec!["old".into()],
            fields_changed: vec![
                FieldChange {
                    name: "drink".into(),
                    old_value: Some("latte".into()),
                    new_value: Some("tea".into()),
                },
                FieldChange {
                    name: "size".into(),
                    old_value: Some("L".into()),
                    new_value: None,
                },
            ],
        };
        let events = edit.announcements();
        let types: Vec<&str> = events.iter().map(|(t, _)| *t).collect();
        assert_eq!(
            types,
            [
                "contact.updated",
                "tag.added",
                "tag.removed",
                "customfield.updated",
                "customfield.updated"
            ]
        );
        assert_eq!(events[1].1["tag"]["name"], "new");
        assert_eq!(events[2].1["tag"]["name"], "old");
        assert_eq!(
            events[3].1["field"],
            json!({"name": "drink", "oldValue": "latte", "newValue": "tea"})
        );
        assert_eq!(events[4].1["field"]["newValue"], Value::Null);
        assert!(events.iter().all(|(_, d)| d["contact"]["id"] == "con_01"));
        let unchanged = Edit {
            changes: vec![],
            tags_added: vec![],
            tags_removed: vec![],
            fields_changed: vec![],
            ..edit
        };
        assert!(unchanged.announcements().is_empty());
    }
}
