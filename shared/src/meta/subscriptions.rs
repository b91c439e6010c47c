//! Subscribing a tenant's Meta app to its accounts' webhooks through the Graph API: the
//! WhatsApp Business Account (`/{waba-id}/subscribed_apps`) or the Instagram account's
//! Facebook Page (`/{page-id}/subscribed_apps` with `subscribed_fields`). What was asked is
//! stored; what Meta has is read back live.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::graph::{GraphFailure, MetaAccess};
use crate::error::{ServiceError, ServiceResult};
use crate::integrations::{IntegrationKind, IntegrationService};
use crate::messages::ProviderClients;
use crate::store::{from_item, keys, to_item, Index, Query, Table};
use crate::validation::Fields;

/// WhatsApp Business Account webhook fields. Meta takes them from the app's dashboard, not
/// from the subscribe call: hookhub records the ones the tenant relies on.
pub const WHATSAPP_FIELDS: &[&str] = &[
    "messages",
    "message_template_status_update",
    "message_template_quality_update",
    "template_category_update",
    "phone_number_name_update",
    "phone_number_quality_update",
    "account_alerts",
    "account_update",
    "account_review_update",
    "business_capability_update",
    "flows",
    "security",
];
const WHATSAPP_DEFAULT: &[&str] = &["messages", "message_template_status_update"];

/// Page webhook fields for Instagram messaging, sent as `subscribed_fields`.
pub const INSTAGRAM_FIELDS: &[&str] = &[
    "messages",
    "messaging_postbacks",
    "messaging_optins",
    "messaging_referral",
    "messaging_seen",
    "message_reactions",
    "message_echoes",
    "messaging_handover",
    "standby",
    "comments",
    "mentions",
    "feed",
];
const INSTAGRAM_DEFAULT: &[&str] = &[
    "messages",
    "messaging_postbacks",
    "messaging_seen",
    "message_reactions",
];

/// The Meta channels whose webhooks hookhub subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MetaChannel {
    Whatsapp,
    Instagram,
}

impl MetaChannel {
    pub const ALL: [MetaChannel; 2] = [MetaChannel::Whatsapp, MetaChannel::Instagram];

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "whatsapp" => Some(Self::Whatsapp),
            "instagram" => Some(Self::Instagram),
            _ => None,
        }
    }

    pub fn kind(self) -> IntegrationKind {
        match self {
            Self::Whatsapp => IntegrationKind::Whatsapp,
            Self::Instagram => IntegrationKind::Instagram,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.kind().as_str()
    }

    /// The fields it accepts, and those subscribed when none are named.
    fn fields(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Self::Whatsapp => (WHATSAPP_FIELDS, WHATSAPP_DEFAULT),
            Self::Instagram => (INSTAGRAM_FIELDS, INSTAGRAM_DEFAULT),
        }
    }
}

/// `POST /api/v1/meta/subscriptions`, validated: every problem is reported at once.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MetaSubscriptionCreate, title = "MetaSubscriptionCreate"))]
#[cfg_attr(feature = "openapi", serde(deny_unknown_fields))]
pub struct SubscriptionRequest {
    /// whatsapp: POST /{businessAccountId}/subscribed_apps; instagram: POST /{pageId (or
    /// accountId)}/subscribed_apps with subscribed_fields
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub channel: MetaChannel,
    /// Webhook fields. null or absent: whatsapp messages, message_template_status_update;
    /// instagram messages, messaging_postbacks, messaging_seen, message_reactions. WhatsApp
    /// takes its fields from the app dashboard: hookhub records them. Each channel takes
    /// only its own fields (422 otherwise)
    #[cfg_attr(
        feature = "openapi",
        schema(schema_with = openapi::webhook_fields, required = false)
    )]
    pub fields: Vec<String>,
}

impl SubscriptionRequest {
    pub fn read(mut input: Fields) -> Result<Self, crate::validation::InputError> {
        let name = input.required_string("channel", 20);
        let channel = name.as_deref().and_then(|n| {
            let channel = MetaChannel::parse(n);
            if channel.is_none() {
                input.error("channel", "must be whatsapp or instagram");
            }
            channel
        });
        let fields = input.string_list("fields", 20, 64);
        let fields = match (channel, fields) {
            (Some(channel), Some(mut fields)) => {
                let (known, _) = channel.fields();
                for (i, f) in fields.iter().enumerate() {
                    if !known.contains(&f.as_str()) {
                        input.error(
                            &format!("fields[{i}]"),
                            format!(
                                "{f:?} is not a {} webhook field; one of: {}",
                                channel.as_str(),
                                known.join(", ")
                            ),
                        );
                    }
                }
                if fields.is_empty() {
                    input.error("fields", "must name at least one field");
                }
                fields.dedup();
                fields
            }
            (Some(channel), None) => channel.fields().1.iter().map(|f| f.to_string()).collect(),
            (None, _) => Vec::new(),
        };
        input.finish()?;
        Ok(Self {
            channel: channel.expect("validated"),
            fields,
        })
    }
}

/// A subscription as asked for and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MetaSubscription {
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub channel: MetaChannel,
    /// the WhatsApp Business Account or Page subscribed
    pub object_id: String,
    pub fields: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub subscribed_at: String,
    pub subscribed_by: String,
}

/// Schemas built from the same lists the validation reads.
#[cfg(feature = "openapi")]
mod openapi {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    use utoipa::openapi::{Array, RefOr, Schema};

    pub fn webhook_fields() -> Array {
        let mut names: Vec<&str> = super::WHATSAPP_FIELDS
            .iter()
            .chain(super::INSTAGRAM_FIELDS)
            .copied()
            .collect();
        names.sort_unstable();
        names.dedup();
        let item: RefOr<Schema> = ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(names))
            .into();
        ArrayBuilder::new()
            .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
            .items(item)
            .min_items(Some(1))
            .max_items(Some(20))
            .build()
    }
}

/// What the Graph API says is subscribed now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LiveSubscription {
    /// Some app is subscribed to the account (for a Page, this integration's app when its
    /// `appId` is known).
    pub subscribed: bool,
    /// The fields Meta has for the app (Pages only; WhatsApp's are set in the dashboard).
    pub fields: Option<Vec<String>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub apps: Vec<Value>,
}

/// The account a channel subscribes: the WhatsApp Business Account, or the Page linked to
/// the Instagram account (the account itself when no Page is saved: Instagram Login).
fn object_id(access: &MetaAccess) -> ServiceResult<String> {
    let (field, id) = match access.kind {
        IntegrationKind::Whatsapp => (
            "businessAccountId",
            access.record.field("businessAccountId"),
        ),
        _ => (
            "pageId",
            access
                .record
                .field("pageId")
                .or_else(|| access.record.field("accountId")),
        ),
    };
    id.map(str::to_string).ok_or_else(|| {
        ServiceError::FailedPrecondition(format!(
            "the {} integration has no {field}: save it first",
            access.kind.as_str()
        ))
    })
}

#[derive(Clone)]
pub struct MetaSubscriptions {
    table: Table,
    integrations: IntegrationService,
    clients: ProviderClients,
}

impl MetaSubscriptions {
    pub fn new(table: Table, integrations: IntegrationService, clients: ProviderClients) -> Self {
        Self {
            table,
            integrations,
            clients,
        }
    }

    /// Subscribes the app to the channel's account with the fields asked for (its defaults
    /// when none), then stores what was asked.
    pub async fn subscribe(
        &self,
        tenant_id: &str,
        request: SubscriptionRequest,
        actor: &str,
    ) -> ServiceResult<MetaSubscription> {
        let SubscriptionRequest { channel, fields } = request;
        let kind = channel.kind();
        let access = MetaAccess::open(&self.integrations, tenant_id, kind).await?;
        let object_id = object_id(&access)?;
        let api = access.api(&self.clients);
        let path = format!("{object_id}/subscribed_apps");
        let joined = fields.join(",");
        let query: Vec<(&str, &str)> = match kind {
            IntegrationKind::Whatsapp => Vec::new(),
            _ => vec![("subscribed_fields", joined.as_str())],
        };
        let answer = api
            .call(Method::POST, &path, &query)
            .await
            .map_err(GraphFailure::into_service_error)?;
        if answer["success"] != json!(true) {
            return Err(ServiceError::Upstream {
                service: "graph",
                reason: "error",
                message: format!("subscribed_apps answered {answer}"),
                code: None,
                advice: None,
                retry_after_secs: None,
            });
        }
        let subscription = MetaSubscription {
            channel,
            object_id,
            fields,
            subscribed_at: crate::time::now_rfc3339(),
            subscribed_by: actor.to_string(),
        };
        self.table
            .put(to_item(
                &keys::meta_subscription(tenant_id, kind.as_str()),
                &subscription,
            )?)
            .await?;
        Ok(subscription)
    }

    /// Unsubscribes the app from the channel's account and forgets the stored subscription.
    pub async fn unsubscribe(&self, tenant_id: &str, kind: IntegrationKind) -> ServiceResult<()> {
        let key = keys::meta_subscription(tenant_id, kind.as_str());
        let stored = self.table.get(&key).await?;
        let access = MetaAccess::open(&self.integrations, tenant_id, kind).await?;
        let object_id = match stored {
            Some(item) => from_item::<MetaSubscription>(item)?.object_id,
            None => object_id(&access)?,
        };
        access
            .api(&self.clients)
            .call(Method::DELETE, &format!("{object_id}/subscribed_apps"), &[])
            .await
            .map_err(GraphFailure::into_service_error)?;
        self.table.delete(&key).await?;
        Ok(())
    }

    /// Every stored subscription of the tenant.
    pub async fn stored(&self, tenant_id: &str) -> ServiceResult<Vec<MetaSubscription>> {
        let (subscriptions, _) = self
            .table
            .query_records::<MetaSubscription>(
                Query::new(Index::Primary, keys::meta_graph_partition(tenant_id))
                    .prefix(keys::META_SUBSCRIPTION_PREFIX)
                    .page(Some(10), None),
            )
            .await?;
        Ok(subscriptions)
    }

    /// What Meta has subscribed on the channel's account, read now.
    pub async fn live(
        &self,
        access: &MetaAccess,
    ) -> ServiceResult<Result<LiveSubscription, GraphFailure>> {
        let object_id = object_id(access)?;
        let answer = access
            .api(&self.clients)
            .call(Method::GET, &format!("{object_id}/subscribed_apps"), &[])
            .await;
        Ok(answer.map(|body| live_of(access, &body)))
    }

    /// Each configured channel: what is stored and what Meta has now.
    pub async fn list(&self, tenant_id: &str) -> ServiceResult<SubscriptionList> {
        let stored = self.stored(tenant_id).await?;
        let mut data = Vec::new();
        for channel in MetaChannel::ALL {
            let kind = channel.kind();
            let mine = stored.iter().find(|s| s.channel == channel).cloned();
            let access = match MetaAccess::open(&self.integrations, tenant_id, kind).await {
                Ok(access) => access,
                Err(ServiceError::FailedPrecondition(_)) if mine.is_none() => continue,
                Err(ServiceError::FailedPrecondition(why)) => {
                    data.push(SubscriptionState {
                        channel,
                        object_id: None,
                        stored: mine,
                        live: None,
                        live_error: Some(LiveError::not_configured(why)),
                    });
                    continue;
                }
                Err(e) => return Err(e),
            };
            let (live, live_error) = match self.live(&access).await {
                Ok(Ok(live)) => (Some(live), None),
                Ok(Err(f)) => (None, Some(failure_view(&f))),
                Err(e) => (None, Some(LiveError::not_configured(e.to_string()))),
            };
            data.push(SubscriptionState {
                channel,
                object_id: object_id(&access).ok(),
                stored: mine,
                live,
                live_error,
            });
        }
        Ok(SubscriptionList { data })
    }
}

/// Each configured channel's subscription.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MetaSubscriptionList))]
pub struct SubscriptionList {
    pub data: Vec<SubscriptionState>,
}

/// A channel's subscription: as stored, and as the Graph API has it now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = MetaSubscriptionState))]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionState {
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub channel: MetaChannel,
    /// the WhatsApp Business Account or Page subscribed; null when the integration is not
    /// usable
    pub object_id: Option<String>,
    pub stored: Option<MetaSubscription>,
    /// what the Graph API has now
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub live: Option<LiveSubscription>,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub live_error: Option<LiveError>,
}

/// Why the live state could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LiveError {
    /// not_configured, or what Graph's error means (token_invalid, permission_denied, ...)
    pub reason: &'static str,
    pub status_code: Option<u16>,
    /// Graph's error code
    pub code: Option<i64>,
    pub message: String,
    pub advice: Option<&'static str>,
}

impl LiveError {
    fn not_configured(message: String) -> Self {
        Self {
            reason: "not_configured",
            status_code: None,
            code: None,
            message,
            advice: None,
        }
    }
}

/// A failed Graph call as the API shows it.
pub fn failure_view(failure: &GraphFailure) -> LiveError {
    LiveError {
        reason: failure.status.as_str(),
        status_code: failure.status_code,
        code: failure.error.code,
        message: failure.error.message.clone(),
        advice: failure.status.advice(),
    }
}

/// `GET /{id}/subscribed_apps`, read: WhatsApp lists apps under `whatsapp_business_api_data`,
/// Pages list them with their `subscribed_fields`.
fn live_of(access: &MetaAccess, body: &Value) -> LiveSubscription {
    let apps: Vec<Value> = body["data"].as_array().cloned().unwrap_or_default();
    let app_id = access.record.field("appId");
    match access.kind {
        IntegrationKind::Whatsapp => LiveSubscription {
            subscribed: !apps.is_empty(),
            fields: None,
            apps: apps
                .iter()
                .map(|a| {
                    let app = &a["whatsapp_business_api_data"];
                    json!({"id": app["id"], "name": app["name"]})
                })
                .collect(),
        },
        _ => {
            let ours = apps.iter().find(|a| app_id.is_none_or(|id| a["id"] == id));
            LiveSubscription {
                subscribed: ours.is_some(),
                fields: ours.map(|a| {
                    a["subscribed_fields"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|f| f.as_str().map(str::to_string))
                        .collect()
                }),
                apps: apps
                    .iter()
                    .map(|a| json!({"id": a["id"], "name": a["name"]}))
                    .collect(),
            }
        }
    }
}
