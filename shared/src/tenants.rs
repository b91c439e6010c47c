//! Tenants: the businesses using the platform. Everything else hangs off a tenant and goes
//! when it goes.

use serde::{Deserialize, Serialize};

use crate::error::{ServiceError, ServiceResult};
use crate::ids::{self, new_id, IdKind};
use crate::quotas::{QuotaChanges, QuotaOverrides};
use crate::store::{from_item, keys, to_item, Index, Query, Table};
use crate::validation::Fields;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    Suspended,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    pub status: TenantStatus,
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// The quotas a platform admin set for this tenant; the others are the deployment's.
    #[serde(default, skip_serializing_if = "QuotaOverrides::is_empty")]
    pub quota_overrides: QuotaOverrides,
    /// Whether the contact email is told when one of the tenant's endpoints or workflows is
    /// disabled for failing. On unless turned off.
    #[serde(default = "on")]
    pub failure_alerts: bool,
    pub created_at: String,
    pub updated_at: String,
}

fn on() -> bool {
    true
}

/// A tenant as platform admins see it: with the quotas in force (its own, or the
/// deployment's defaults) beside those set for it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Tenant))]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    #[cfg_attr(feature = "openapi", schema(pattern = "^ten_[0-9A-Z]{26}$"))]
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub contact_email: Option<String>,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub status: TenantStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
    pub quotas: crate::quotas::Quotas,
    pub quota_overrides: QuotaOverrides,
    /// Whether the contact email is told (through Amazon SES, at most once a day per
    /// endpoint) when one of the tenant's endpoints or workflows is disabled for failing.
    pub failure_alerts: bool,
}

impl TenantView {
    pub fn new(tenant: &Tenant, defaults: crate::quotas::Quotas) -> Self {
        Self {
            id: tenant.id.clone(),
            name: tenant.name.clone(),
            contact_email: tenant.contact_email.clone(),
            status: tenant.status,
            metadata: tenant.metadata.clone(),
            created_at: tenant.created_at.clone(),
            updated_at: tenant.updated_at.clone(),
            quotas: defaults.with(&tenant.quota_overrides),
            quota_overrides: tenant.quota_overrides.clone(),
            failure_alerts: tenant.failure_alerts,
        }
    }
}

impl Tenant {
    pub fn is_suspended(&self) -> bool {
        self.status == TenantStatus::Suspended
    }
}

/// Whether a tenant's item, read among others in a batch, says it is suspended: only its
/// status is looked at.
pub fn is_suspended_item(item: &crate::store::Item) -> bool {
    item.get("status")
        .and_then(|v| v.as_s().ok())
        .is_some_and(|s| s == "suspended")
}

const MAX_NAME: usize = 200;
const MAX_METADATA_BYTES: usize = 8 * 1024;

fn read_status(f: &mut Fields) -> Option<TenantStatus> {
    match f.string("status", 20)?.as_str() {
        "active" => Some(TenantStatus::Active),
        "suspended" => Some(TenantStatus::Suspended),
        _ => {
            f.error("status", "must be active or suspended");
            None
        }
    }
}

fn read_email(f: &mut Fields) -> Option<Option<String>> {
    if !f.present("contactEmail") {
        return None;
    }
    let email = f.string("contactEmail", 254).filter(|e| !e.is_empty());
    if let Some(e) = &email {
        if !crate::validation::is_email_address(e) {
            f.error("contactEmail", "must be an email address");
            return None;
        }
    }
    Some(email)
}

fn read_metadata(f: &mut Fields) -> Option<serde_json::Map<String, serde_json::Value>> {
    match f.raw("metadata")? {
        serde_json::Value::Object(map) => {
            if serde_json::to_vec(&map).map_or(0, |v| v.len()) > MAX_METADATA_BYTES {
                f.error(
                    "metadata",
                    format!("must be at most {MAX_METADATA_BYTES} bytes of JSON"),
                );
                return None;
            }
            Some(map)
        }
        _ => {
            f.error("metadata", "must be an object");
            None
        }
    }
}

/// `POST /api/platform/tenants`, validated.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    serde(rename_all = "camelCase", deny_unknown_fields)
)]
pub struct TenantCreate {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: String,
    /// an email address; blank or null: none
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub contact_email: Option<String>,
    /// null or absent: active
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub status: Option<TenantStatus>,
    /// null or absent: {}
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// null or absent: the deployment defaults
    pub quotas: Option<QuotaChanges>,
    /// null or absent: true. Email the contact when an endpoint or workflow is disabled
    /// (needs a deployment with an alert sender).
    pub failure_alerts: Option<bool>,
}

impl TenantCreate {
    pub fn read(input: Fields) -> Result<Self, crate::validation::InputError> {
        let fields = TenantUpdate::read_fields(input, true)?;
        Ok(Self {
            name: fields.name.expect("validated"),
            contact_email: fields.contact_email.flatten(),
            status: fields.status,
            metadata: fields.metadata,
            quotas: fields.quotas,
            failure_alerts: fields.failure_alerts,
        })
    }
}

/// `PATCH /api/platform/tenants/{id}`, validated: what is given changes, the rest is kept.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    serde(rename_all = "camelCase", deny_unknown_fields)
)]
pub struct TenantUpdate {
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, nullable = false)
    )]
    pub name: Option<String>,
    /// an email address; blank or null removes it
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 254))]
    pub contact_email: Option<Option<String>>,
    /// null or absent keeps the stored status. suspended: the tenant's API keys and admins
    /// are refused on every route and platform admins' writes for it too (403
    /// tenant_suspended), its Meta POSTs are refused (503), and its queued deliveries are
    /// logged as not sent, for recover once active again
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub status: Option<TenantStatus>,
    /// null or absent keeps the stored metadata
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// null or absent: no change
    pub quotas: Option<QuotaChanges>,
    /// null or absent: no change
    pub failure_alerts: Option<bool>,
}

impl TenantUpdate {
    pub fn read(input: Fields) -> Result<Self, crate::validation::InputError> {
        Self::read_fields(input, false)
    }

    /// A new tenant's fields or a change's: a new tenant needs its name.
    fn read_fields(
        mut input: Fields,
        creating: bool,
    ) -> Result<Self, crate::validation::InputError> {
        let name = if creating || input.present("name") {
            input.required_string("name", MAX_NAME)
        } else {
            None
        };
        let contact_email = read_email(&mut input);
        let status = read_status(&mut input);
        let metadata = read_metadata(&mut input);
        let failure_alerts = input.bool("failureAlerts");
        // `quotas: null` changes nothing but, like any quotas given, copies them to the
        // subscription index again: repeating a PATCH repairs a copy that failed part-way.
        let named_quotas = input.present("quotas");
        let quotas =
            QuotaChanges::read(&mut input).or_else(|| named_quotas.then(QuotaChanges::default));
        input.finish()?;
        Ok(Self {
            name,
            contact_email,
            status,
            metadata,
            quotas,
            failure_alerts,
        })
    }
}

#[derive(Clone)]
pub struct TenantService {
    table: Table,
}

impl TenantService {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    pub async fn create(&self, request: TenantCreate) -> ServiceResult<Tenant> {
        let mut quota_overrides = QuotaOverrides::default();
        if let Some(quotas) = &request.quotas {
            quotas.apply(&mut quota_overrides);
        }
        let now = crate::time::now_rfc3339();
        let tenant = Tenant {
            id: new_id(IdKind::Tenant),
            name: request.name,
            contact_email: request.contact_email,
            status: request.status.unwrap_or(TenantStatus::Active),
            metadata: request.metadata.unwrap_or_default(),
            quota_overrides,
            failure_alerts: request.failure_alerts.unwrap_or(true),
            created_at: now.clone(),
            updated_at: now,
        };
        self.table
            .transaction()
            .put_new(self.item(&tenant)?)
            .put_new(
                crate::webhooks::subscriptions::SubscriptionIndex::empty_item(
                    &tenant.id,
                    &tenant.quota_overrides,
                ),
            )
            .commit()
            .await?;
        Ok(tenant)
    }

    fn item(&self, tenant: &Tenant) -> ServiceResult<crate::store::Item> {
        let mut item = to_item(&keys::tenant(&tenant.id), tenant)?;
        item.insert(
            keys::GSI1_PK.into(),
            aws_sdk_dynamodb::types::AttributeValue::S(keys::TENANT_LIST_PARTITION.into()),
        );
        item.insert(
            keys::GSI1_SK.into(),
            aws_sdk_dynamodb::types::AttributeValue::S(tenant.id.clone()),
        );
        Ok(item)
    }

    /// The tenant, or `NotFound` for unknown and malformed ids alike.
    pub async fn get(&self, tenant_id: &str) -> ServiceResult<Tenant> {
        if !ids::is_valid(IdKind::Tenant, tenant_id) {
            return Err(ServiceError::NotFound("tenant"));
        }
        let item = self
            .table
            .get(&keys::tenant(tenant_id))
            .await?
            .ok_or(ServiceError::NotFound("tenant"))?;
        Ok(from_item(item)?)
    }

    pub async fn list(
        &self,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<Tenant>, Option<String>)> {
        Ok(self
            .table
            .query_records::<Tenant>(
                Query::new(Index::Gsi1, keys::TENANT_LIST_PARTITION)
                    .newest_first()
                    .page(limit, cursor),
            )
            .await?)
    }

    /// Every tenant's id, page by page: what the scheduled jobs walk over.
    pub async fn all_ids(&self) -> ServiceResult<Vec<(String, bool)>> {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (tenants, next) = self.list(Some(100), cursor.as_deref()).await?;
            ids.extend(tenants.into_iter().map(|t| {
                let suspended = t.is_suspended();
                (t.id, suspended)
            }));
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(ids),
            }
        }
    }

    /// Applies a PATCH; returns the tenant as saved and the quotas changed (`name=value`,
    /// for the audit log).
    pub async fn update(
        &self,
        tenant_id: &str,
        update: TenantUpdate,
    ) -> ServiceResult<(Tenant, Vec<String>)> {
        let current = self.get(tenant_id).await?;
        let mut next = current.clone();
        let input_named_quotas = update.quotas.is_some();
        if let Some(name) = update.name {
            next.name = name;
        }
        if let Some(email) = update.contact_email {
            next.contact_email = email;
        }
        let status = update.status;
        if let Some(status) = status {
            next.status = status;
        }
        if let Some(metadata) = update.metadata {
            next.metadata = metadata;
        }
        if let Some(on) = update.failure_alerts {
            next.failure_alerts = on;
        }
        let quota_changes = match &update.quotas {
            Some(quotas) => quotas.apply(&mut next.quota_overrides),
            None => Vec::new(),
        };
        next.updated_at = crate::time::next_version(&current.updated_at);
        self.table
            .put_if(self.item(&next)?, "updatedAt", &current.updated_at)
            .await?;
        if status.is_some() {
            self.propagate_status(&next).await?;
        }
        // Repeating the PATCH finishes a copy that failed part-way, as with the status.
        if input_named_quotas {
            crate::webhooks::subscriptions::SubscriptionIndex::new(self.table.clone())
                .set_quotas(&next.id, &next.quota_overrides)
                .await?;
        }
        Ok((next, quota_changes))
    }

    /// Copies the tenant's status to what the hot paths read instead of the tenant: its
    /// subscription index (publishing), its API keys (authentication) and its integrations
    /// (sending queued messages). The tenant record
    /// is written first and stays the truth; every path that reads the tenant itself
    /// (admins' requests, Meta ingress, the worker's batch read) sees the change at once,
    /// these copies a moment later. Repeating a PATCH with the status finishes a propagation
    /// that failed part-way.
    async fn propagate_status(&self, tenant: &Tenant) -> ServiceResult<()> {
        let suspended = tenant.is_suspended();
        let index = crate::webhooks::subscriptions::SubscriptionIndex::new(self.table.clone());
        let keys = crate::api_keys::ApiKeyService::new(self.table.clone());
        let (index, keys, integrations) = tokio::join!(
            index.set_suspended(&tenant.id, suspended),
            keys.set_tenant_suspended(&tenant.id, suspended),
            crate::integrations::set_tenant_suspended(&self.table, &tenant.id, suspended)
        );
        index?;
        keys?;
        integrations
    }

    /// Erases the tenant and every item it owns. The tenant record goes last, so an
    /// interrupted delete can be repeated.
    pub async fn delete(&self, tenant_id: &str) -> ServiceResult<usize> {
        self.get(tenant_id).await?;
        let owned = self
            .table
            .query(
                Query::new(Index::Primary, keys::tenant_partition(tenant_id))
                    .page(Some(1000), None),
            )
            .await?;
        let mut endpoint_ids = Vec::new();
        let mut key_lookups = Vec::new();
        let mut cursor = owned.next_cursor;
        let mut items = owned.items;
        loop {
            for item in &items {
                let sk = item
                    .get(keys::SK)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                if let Some(id) = sk
                    .strip_prefix(keys::ENDPOINT_PREFIX)
                    .or_else(|| sk.strip_prefix(keys::WORKFLOW_PREFIX))
                {
                    endpoint_ids.push(id.to_string());
                }
                if sk.starts_with(keys::API_KEY_PREFIX) {
                    if let Some(hash) = item.get("keyHash").and_then(|v| v.as_s().ok()) {
                        key_lookups.push(keys::api_key_by_hash(hash));
                    }
                }
            }
            let Some(c) = cursor.take() else { break };
            let page = self
                .table
                .query(
                    Query::new(Index::Primary, keys::tenant_partition(tenant_id))
                        .page(Some(1000), Some(&c)),
                )
                .await?;
            items = page.items;
            cursor = page.next_cursor;
        }
        let mut deleted = 0;
        // Keys stop working first: their lookups live outside the tenant's partitions.
        for lookup in &key_lookups {
            self.table.delete(lookup).await?;
            deleted += 1;
        }
        // The tenant's own partition (with its record) is first in the list: do it last.
        let mut partitions = keys::tenant_partitions(tenant_id, &endpoint_ids);
        let own = partitions.remove(0);
        for partition in partitions {
            deleted += self.table.delete_partition(&partition).await?;
        }
        deleted += self.table.delete_partition(&own).await?;
        Ok(deleted)
    }
}

#[async_trait::async_trait]
impl crate::jobs::TenantDirectory for TenantService {
    async fn exists(&self, tenant_id: &str) -> Result<bool, crate::jobs::JobError> {
        match self.get(tenant_id).await {
            Ok(_) => Ok(true),
            Err(ServiceError::NotFound(_)) => Ok(false),
            Err(e) => Err(crate::jobs::JobError::new(e.to_string())),
        }
    }
}
