//! The tenant audit log: who changed what and when, by field name, never values.

use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::error::ServiceResult;
use crate::ids::{new_id, IdKind};
use crate::store::{keys, to_item, Index, Query, Table};

/// Who is acting: an admin (by JWT subject) or a tenant API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Admin { sub: String, role: Role },
    ApiKey { key_id: String },
    System,
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::Admin {
                sub,
                role: Role::PlatformAdmin,
            } => format!("platform_admin:{sub}"),
            Actor::Admin {
                sub,
                role: Role::TenantAdmin,
            } => format!("tenant_admin:{sub}"),
            Actor::ApiKey { key_id } => format!("api_key:{key_id}"),
            Actor::System => "system".into(),
        }
    }
}

/// A configuration change: who did what to which, and the fields it touched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: String,
    pub tenant_id: String,
    pub actor: String,
    /// endpoint.created, api_key.revoked, ...
    pub action: String,
    /// the id of what changed
    pub target: String,
    /// the fields changed, by name (quotas with their values; never a secret)
    pub fields: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub at: String,
}

/// Which audit entries a listing returns.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Actions starting with this (`endpoint.updated`, or `endpoint.` for all of them).
    pub action: Option<String>,
    /// One actor, as entries name it (`tenant_admin:{sub}`, `api_key:{id}`…).
    pub actor: Option<String>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Clone)]
pub struct AuditLog {
    table: Table,
}

impl AuditLog {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    pub async fn record(
        &self,
        tenant_id: &str,
        actor: &Actor,
        action: &str,
        target: &str,
        fields: Vec<String>,
    ) -> ServiceResult<AuditEntry> {
        let entry = AuditEntry {
            id: new_id(IdKind::Audit),
            tenant_id: tenant_id.into(),
            actor: actor.label(),
            action: action.into(),
            target: target.into(),
            fields,
            at: crate::time::now_rfc3339(),
        };
        self.table
            .put(to_item(&keys::audit_entry(tenant_id, &entry.id), &entry)?)
            .await?;
        Ok(entry)
    }

    /// Newest first.
    pub async fn list(
        &self,
        tenant_id: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<AuditEntry>, Option<String>)> {
        self.list_filtered(tenant_id, &AuditFilter::default(), limit, cursor)
            .await
    }

    /// Newest first, narrowed by action (`endpoint.` for every endpoint change), actor and
    /// time (entry ids are time-ordered, so a window is a key range).
    pub async fn list_filtered(
        &self,
        tenant_id: &str,
        filter: &AuditFilter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<AuditEntry>, Option<String>)> {
        let mut query = Query::new(Index::Primary, keys::audit_partition(tenant_id)).made_between(
            IdKind::Audit,
            filter.from,
            filter.to,
        );
        if let Some(action) = &filter.action {
            query = query.filter_prefix("action", action);
        }
        if let Some(actor) = &filter.actor {
            query = query.filter_eq("actor", actor);
        }
        Ok(self
            .table
            .query_records::<AuditEntry>(query.newest_first().page(limit, cursor))
            .await?)
    }
}
