//! Tenant API keys: `hk_` + 32 random bytes, shown once; stored as a SHA-256 hash with a
//! display prefix, permissions, an optional CIDR allow-list, an optional expiry, a per-minute
//! rate limit and the time it was last used.
//!
//! Each key is two items written together: its record in the tenant's partition (listed)
//! and a copy under the hash of its secret (read to authenticate, strongly consistent). A
//! revocation or a regeneration commits both at once, so the old secret is refused from the
//! next request on, on every Lambda instance.

use std::net::IpAddr;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::error::{ServiceError, ServiceResult};
use crate::ids::{self, new_id, IdKind};
use crate::store::{from_item, keys, to_item, Index, Query, Table, MAX_PAGE_SIZE};
use crate::validation::Fields;

pub const KEY_PREFIX: &str = "hk_";
const KEY_BYTES: usize = 32;
const DISPLAY_PREFIX_LEN: usize = 11;
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: i64 = 600;
/// A new key's lifetime unless `expiresAt` says otherwise.
pub const DEFAULT_LIFETIME_DAYS: i64 = 365;
/// How long an expired key stays (listed as expired) before it is removed.
pub const REMOVED_AFTER_EXPIRY_DAYS: i64 = 30;
/// `lastUsedAt` is refreshed at most this often, to keep a write off most requests.
const LAST_USED_GRANULARITY_SECS: i64 = 60;

/// Every permission a key can carry.
pub const PERMISSIONS: &[&str] = &[
    "read:webhooks",
    "write:webhooks",
    "delete:webhooks",
    "read:logs",
    "write:events",
    "send:messages",
    "read:events",
    "read:contacts",
    "write:contacts",
    "delete:contacts",
    "read:messages",
    "export:contacts",
    "*",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The first characters of the key, for people to recognise it.
    pub prefix: String,
    pub key_hash: String,
    pub permissions: Vec<String>,
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    pub rate_limit_per_minute: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// A copy of the tenant's status, kept on the record and its lookup so that
    /// authentication, one read, refuses a suspended tenant's keys
    /// (`TenantService::update` writes it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tenant_suspended: bool,
}

impl ApiKey {
    pub fn status(&self, now: chrono::DateTime<chrono::Utc>) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.is_expired(now) {
            "expired"
        } else {
            "active"
        }
    }

    pub fn is_expired(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.expires_at
            .as_deref()
            .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
            .is_some_and(|e| e <= now)
    }

    /// Whether the key may act under `permission`. Keys made before the finer permissions
    /// keep what they could do: `write:contacts` includes `delete:contacts`, and
    /// `send:messages` includes `read:messages`.
    pub fn allows(&self, permission: &str) -> bool {
        let implied = |p: &str| match p {
            "write:contacts" => permission == "delete:contacts",
            "send:messages" => permission == "read:messages",
            _ => false,
        };
        self.permissions
            .iter()
            .any(|p| p == "*" || p == permission || implied(p))
    }

    /// No allow-list allows every address.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        self.allowed_ips.is_empty()
            || self
                .allowed_ips
                .iter()
                .filter_map(|c| c.parse::<ipnet::IpNet>().ok())
                .any(|net| net.contains(&ip))
    }

    /// The API's view: everything but the hash.
    pub fn view(&self) -> ApiKeyView {
        ApiKeyView {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            prefix: self.prefix.clone(),
            permissions: self.permissions.clone(),
            allowed_ips: self.allowed_ips.clone(),
            expires_at: self.expires_at.clone(),
            rate_limit_per_minute: self.rate_limit_per_minute,
            last_used_at: self.last_used_at.clone(),
            revoked_at: self.revoked_at.clone(),
            status: self.status(chrono::Utc::now()),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
        }
    }
}

/// An API key as the API shows it: never the key itself, which only its creation and
/// regeneration answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ApiKey))]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub description: Option<String>,
    /// the key's first characters, to recognise it
    pub prefix: String,
    pub permissions: Vec<String>,
    pub allowed_ips: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime, nullable = false))]
    pub expires_at: Option<String>,
    pub rate_limit_per_minute: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime, nullable = false))]
    pub last_used_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = DateTime, nullable = false))]
    pub revoked_at: Option<String>,
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::status))]
    pub status: &'static str,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub created_at: String,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub updated_at: String,
}

/// A key as created or regenerated, with its value: shown this once.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = IssuedApiKey))]
pub struct IssuedKeyView {
    #[serde(flatten)]
    pub view: ApiKeyView,
    /// shown once
    #[cfg_attr(feature = "openapi", schema(pattern = "^hk_"))]
    pub key: String,
}

/// `POST /api/v1/api-keys`, validated.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ApiKeyCreate))]
#[cfg_attr(
    feature = "openapi",
    serde(rename_all = "camelCase", deny_unknown_fields)
)]
pub struct ApiKeyCreate {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub description: Option<String>,
    /// write:contacts includes delete:contacts, and send:messages includes read:messages
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::permissions))]
    pub permissions: Vec<String>,
    /// IP addresses or CIDR blocks
    pub allowed_ips: Option<Vec<String>>,
    /// absent: a year from now; null: never; a time: then. An expired key is refused,
    /// listed as expired, and removed 30 days after it expired
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<String>,
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = i64, minimum = 1, maximum = 100_000, required = false)
    )]
    pub rate_limit_per_minute: i64,
}

impl ApiKeyCreate {
    pub fn read(mut input: Fields) -> Result<Self, crate::validation::InputError> {
        let name = input.required_string("name", 100);
        let description = input.string("description", 500).filter(|d| !d.is_empty());
        if !input.present("permissions") {
            input.error("permissions", "is required");
        }
        let permissions = read_permissions(&mut input);
        let allowed_ips = read_cidrs(&mut input);
        // A key expires after a year unless told otherwise; `null` says never, explicitly.
        let expiry_given = input.present("expiresAt");
        let expires_at = match read_expiry(&mut input) {
            Some(given) => given,
            None if expiry_given => None,
            None => Some(crate::time::rfc3339(
                chrono::Utc::now() + chrono::Duration::days(DEFAULT_LIFETIME_DAYS),
            )),
        };
        let rate = input.integer("rateLimitPerMinute", 1, 100_000);
        input.finish()?;
        Ok(Self {
            name: name.expect("validated"),
            description,
            permissions: permissions.expect("validated"),
            allowed_ips,
            expires_at,
            rate_limit_per_minute: rate.unwrap_or(DEFAULT_RATE_LIMIT_PER_MINUTE),
        })
    }
}

#[cfg(feature = "openapi")]
mod openapi {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};

    pub fn status() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["active", "expired", "revoked"]))
    }

    pub fn permissions() -> ArrayBuilder {
        ArrayBuilder::new().min_items(Some(1)).items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(super::PERMISSIONS.iter().copied())),
        )
    }
}

pub fn hash_key(key: &str) -> String {
    crate::digest::sha256_hex(key.as_bytes())
}

fn generate_key() -> String {
    let mut bytes = [0u8; KEY_BYTES];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", B64.encode(bytes))
}

/// A key as created or regenerated: the only time its full value exists outside the caller.
pub struct IssuedKey {
    pub key: ApiKey,
    pub plaintext: String,
}

impl IssuedKey {
    /// The only view that carries the key itself.
    pub fn view(&self) -> IssuedKeyView {
        IssuedKeyView {
            view: self.key.view(),
            key: self.plaintext.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyRejection {
    #[error("invalid API key")]
    Unknown,
    #[error("API key has been revoked")]
    Revoked,
    #[error("API key expired")]
    Expired,
    #[error("API key is not allowed from this address")]
    AddressNotAllowed,
}

#[derive(Clone)]
pub struct ApiKeyService {
    table: Table,
}

fn read_permissions(f: &mut Fields) -> Option<Vec<String>> {
    let perms = f.string_list("permissions", PERMISSIONS.len(), 32)?;
    let mut ok = true;
    for (i, p) in perms.iter().enumerate() {
        if !PERMISSIONS.contains(&p.as_str()) {
            f.error(
                &format!("permissions[{i}]"),
                format!("unknown permission; one of {}", PERMISSIONS.join(", ")),
            );
            ok = false;
        }
    }
    if perms.is_empty() {
        f.error("permissions", "must name at least one permission");
        ok = false;
    }
    ok.then(|| {
        let mut p = perms;
        p.sort();
        p.dedup();
        p
    })
}

fn read_cidrs(f: &mut Fields) -> Option<Vec<String>> {
    let list = f.string_list("allowedIps", 100, 64)?;
    let mut out = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let parsed = c
            .parse::<ipnet::IpNet>()
            .ok()
            .or_else(|| c.parse::<IpAddr>().ok().map(ipnet::IpNet::from));
        match parsed {
            Some(net) => out.push(net.trunc().to_string()),
            None => f.error(
                &format!("allowedIps[{i}]"),
                "must be an IP address or CIDR block",
            ),
        }
    }
    Some(out)
}

fn read_expiry(f: &mut Fields) -> Option<Option<String>> {
    if !f.present("expiresAt") {
        return None;
    }
    let raw = f.string("expiresAt", 40)?;
    match chrono::DateTime::parse_from_rfc3339(&raw) {
        Ok(t) if t > chrono::Utc::now() => {
            Some(Some(crate::time::rfc3339(t.with_timezone(&chrono::Utc))))
        }
        Ok(_) => {
            f.error("expiresAt", "must be in the future");
            None
        }
        Err(_) => {
            f.error(
                "expiresAt",
                "must be an RFC 3339 timestamp such as 2027-01-01T00:00:00Z",
            );
            None
        }
    }
}

/// A key that expires is removed [`REMOVED_AFTER_EXPIRY_DAYS`] after, by DynamoDB's TTL;
/// until then it is listed as expired, and refused.
fn with_expiry_ttl(mut item: crate::store::Item, key: &ApiKey) -> crate::store::Item {
    let expiry = key
        .expires_at
        .as_deref()
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok());
    if let Some(expiry) = expiry {
        let ttl = expiry.timestamp() + REMOVED_AFTER_EXPIRY_DAYS * 86_400;
        item.insert(keys::TTL.into(), AttributeValue::N(ttl.to_string()));
    }
    item
}

impl ApiKeyService {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// The key's record, listed in its tenant's partition.
    fn record(&self, key: &ApiKey) -> ServiceResult<crate::store::Item> {
        Ok(with_expiry_ttl(
            to_item(&keys::api_key(&key.tenant_id, &key.id), key)?,
            key,
        ))
    }

    /// The same record under the hash of the key's secret: what authentication reads.
    fn lookup(&self, key: &ApiKey) -> ServiceResult<crate::store::Item> {
        Ok(with_expiry_ttl(
            to_item(&keys::api_key_by_hash(&key.key_hash), key)?,
            key,
        ))
    }

    pub async fn create(&self, tenant_id: &str, request: ApiKeyCreate) -> ServiceResult<IssuedKey> {
        let ApiKeyCreate {
            name,
            description,
            permissions,
            allowed_ips,
            expires_at,
            rate_limit_per_minute,
        } = request;
        let plaintext = generate_key();
        let now = crate::time::now_rfc3339();
        let key = ApiKey {
            id: new_id(IdKind::ApiKey),
            tenant_id: tenant_id.into(),
            name,
            description,
            prefix: plaintext[..DISPLAY_PREFIX_LEN].to_string(),
            key_hash: hash_key(&plaintext),
            permissions,
            allowed_ips: allowed_ips.unwrap_or_default(),
            expires_at,
            rate_limit_per_minute,
            last_used_at: None,
            revoked_at: None,
            created_at: now.clone(),
            updated_at: now,
            tenant_suspended: false,
        };
        self.table
            .transaction()
            .put_new(self.record(&key)?)
            .put_new(self.lookup(&key)?)
            .commit()
            .await?;
        Ok(IssuedKey { key, plaintext })
    }

    pub async fn get(&self, tenant_id: &str, key_id: &str) -> ServiceResult<ApiKey> {
        if !ids::is_valid(IdKind::ApiKey, key_id) {
            return Err(ServiceError::NotFound("API key"));
        }
        let item = self
            .table
            .get(&keys::api_key(tenant_id, key_id))
            .await?
            .ok_or(ServiceError::NotFound("API key"))?;
        Ok(from_item(item)?)
    }

    pub async fn list(
        &self,
        tenant_id: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<ApiKey>, Option<String>)> {
        Ok(self
            .table
            .query_records::<ApiKey>(
                Query::new(Index::Primary, keys::tenant_partition(tenant_id))
                    .prefix(keys::API_KEY_PREFIX)
                    .newest_first()
                    .page(limit, cursor),
            )
            .await?)
    }

    /// A new secret for the same key: the old value stops working at once.
    pub async fn regenerate(&self, tenant_id: &str, key_id: &str) -> ServiceResult<IssuedKey> {
        let current = self.get(tenant_id, key_id).await?;
        if current.revoked_at.is_some() {
            return Err(ServiceError::Conflict(
                "a revoked API key cannot be regenerated".into(),
            ));
        }
        let plaintext = generate_key();
        let mut next = current.clone();
        next.prefix = plaintext[..DISPLAY_PREFIX_LEN].to_string();
        next.key_hash = hash_key(&plaintext);
        next.updated_at = crate::time::now_rfc3339();
        next.last_used_at = None;
        // The old secret's lookup goes in the same transaction as the new one comes: from
        // the commit on, the old secret finds nothing.
        self.table
            .transaction()
            .put_if(self.record(&next)?, "keyHash", &current.key_hash)
            .delete(&keys::api_key_by_hash(&current.key_hash))
            .put_new(self.lookup(&next)?)
            .commit()
            .await?;
        Ok(IssuedKey {
            key: next,
            plaintext,
        })
    }

    /// Revokes: the key stays listed as revoked, and is refused with that reason.
    pub async fn revoke(&self, tenant_id: &str, key_id: &str) -> ServiceResult<ApiKey> {
        let current = self.get(tenant_id, key_id).await?;
        if current.revoked_at.is_some() {
            return Ok(current);
        }
        let mut next = current.clone();
        let now = crate::time::now_rfc3339();
        next.revoked_at = Some(now.clone());
        next.updated_at = now;
        self.table
            .transaction()
            .put_if(self.record(&next)?, "keyHash", &current.key_hash)
            .put(self.lookup(&next)?)
            .commit()
            .await?;
        Ok(next)
    }

    /// Resolves a presented key: known, not revoked, not expired, allowed from `ip`.
    pub async fn authenticate(
        &self,
        presented: &str,
        ip: Option<IpAddr>,
    ) -> ServiceResult<Result<ApiKey, KeyRejection>> {
        if !presented.starts_with(KEY_PREFIX) || presented.len() > 128 {
            return Ok(Err(KeyRejection::Unknown));
        }
        let hash = hash_key(presented);
        let item = match self.table.get(&keys::api_key_by_hash(&hash)).await? {
            Some(item) => item,
            None => match self.legacy_lookup(&hash).await? {
                Some(item) => item,
                None => return Ok(Err(KeyRejection::Unknown)),
            },
        };
        let key: ApiKey = from_item(item)?;
        let now = chrono::Utc::now();
        let refused = |rejection: KeyRejection, refusal: Refusal| {
            let key = key.clone();
            let limiter = RateLimiter::new(self.table.clone());
            async move {
                limiter.refused(&key, refusal).await;
                Ok(Err(rejection))
            }
        };
        if key.revoked_at.is_some() {
            return refused(KeyRejection::Revoked, Refusal::Unauthorized).await;
        }
        if key.is_expired(now) {
            return refused(KeyRejection::Expired, Refusal::Unauthorized).await;
        }
        match ip {
            Some(ip) if key.allows_ip(ip) => {}
            None if key.allowed_ips.is_empty() => {}
            _ => return refused(KeyRejection::AddressNotAllowed, Refusal::Forbidden).await,
        }
        if key.tenant_suspended {
            return Err(ServiceError::TenantSuspended);
        }
        self.touch(&key, now).await?;
        Ok(Ok(key))
    }

    /// Keys made before the lookup item are found through the index, which may lag behind a
    /// change; the base record, read consistently, then decides: a secret it no longer
    /// holds (regenerated since) is unknown, and a revocation is seen at once.
    async fn legacy_lookup(&self, hash: &str) -> ServiceResult<Option<crate::store::Item>> {
        let page = self
            .table
            .query(Query::new(Index::Gsi1, keys::api_key_hash_partition(hash)).page(Some(1), None))
            .await?;
        let Some(indexed) = page.items.into_iter().next() else {
            return Ok(None);
        };
        let indexed: ApiKey = from_item(indexed)?;
        let record = self
            .table
            .get(&keys::api_key(&indexed.tenant_id, &indexed.id))
            .await?;
        Ok(record.filter(|item| {
            item.get("keyHash")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some(hash)
        }))
    }

    /// Marks every key of the tenant, record and lookup, as its tenant's status says: the
    /// copy authentication reads, so that a suspension needs no read of the tenant there.
    pub async fn set_tenant_suspended(
        &self,
        tenant_id: &str,
        suspended: bool,
    ) -> ServiceResult<()> {
        let value = [("tenantSuspended", Some(AttributeValue::Bool(suspended)))];
        let mut cursor: Option<String> = None;
        loop {
            let query = Query::new(Index::Primary, keys::tenant_partition(tenant_id))
                .prefix(keys::API_KEY_PREFIX)
                .page(Some(MAX_PAGE_SIZE), cursor.as_deref());
            let (found, next) = self.table.query_records::<ApiKey>(query).await?;
            for key in found {
                let record = keys::api_key(tenant_id, &key.id);
                let lookup = keys::api_key_by_hash(&key.key_hash);
                let (record, lookup) = tokio::join!(
                    self.table.update_existing(&record, &value),
                    self.table.update_existing(&lookup, &value)
                );
                record?;
                lookup?;
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }

    async fn touch(&self, key: &ApiKey, now: chrono::DateTime<chrono::Utc>) -> ServiceResult<()> {
        let fresh = key
            .last_used_at
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| {
                (now - t.with_timezone(&chrono::Utc)).num_seconds() < LAST_USED_GRANULARITY_SECS
            });
        if fresh {
            return Ok(());
        }
        // Both copies: the lookup's decides the next touch, the record's is what people read.
        let at = [(
            "lastUsedAt",
            Some(AttributeValue::S(crate::time::rfc3339(now))),
        )];
        let record = keys::api_key(&key.tenant_id, &key.id);
        let lookup = keys::api_key_by_hash(&key.key_hash);
        let (record, lookup) = tokio::join!(
            self.table.update_existing(&record, &at),
            self.table.update_existing(&lookup, &at)
        );
        for outcome in [record, lookup] {
            // A key changed or deleted between lookup and touch is not this request's problem.
            if let Err(e) = outcome {
                tracing::debug!(error = %e, "lastUsedAt not updated");
            }
        }
        Ok(())
    }
}

/// A fixed one-minute window per key, counted atomically in DynamoDB so every Lambda
/// instance shares it. The window is also the key's usage record: it keeps the minute's
/// requests, the limit then in force, the last address and any refusals, and stays for
/// [`USAGE_DAYS`] and a few more, so usage costs no write beyond the count itself.
#[derive(Clone)]
pub struct RateLimiter {
    table: Table,
}

/// How far back a key's usage goes.
pub const USAGE_DAYS: i64 = 30;
/// Windows outlive the usage they report by this much.
const WINDOW_RETENTION_SECS: i64 = (USAGE_DAYS + 2) * 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub limit: i64,
    pub remaining: i64,
    /// Seconds until the window resets.
    pub reset_after: u64,
    pub allowed: bool,
}

/// A refusal of a known key's request, counted in its usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Revoked or expired (401).
    Unauthorized,
    /// From an address the key does not allow, or without the permission (403).
    Forbidden,
}

impl Refusal {
    fn attribute(self) -> &'static str {
        match self {
            Refusal::Unauthorized => "refused401",
            Refusal::Forbidden => "refused403",
        }
    }
}

impl RateLimiter {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    pub async fn check(&self, key: &ApiKey, ip: Option<IpAddr>) -> ServiceResult<RateDecision> {
        let now = chrono::Utc::now().timestamp();
        let minute = now / 60;
        let limit = key.rate_limit_per_minute;
        let mut also = vec![
            ("limit", AttributeValue::N(limit.to_string())),
            ("lastAt", AttributeValue::N(now.to_string())),
        ];
        if let Some(ip) = ip {
            also.push(("lastIp", AttributeValue::S(ip.to_string())));
        }
        let count = self
            .table
            .increment_and_set(
                &keys::rate_window(&key.tenant_id, &key.id, minute),
                "hits",
                1,
                Some(now + WINDOW_RETENTION_SECS),
                &also,
            )
            .await?;
        Ok(RateDecision {
            limit,
            remaining: (limit - count).max(0),
            reset_after: (60 - now % 60) as u64,
            allowed: count <= limit,
        })
    }

    /// Counts a refusal of the key's request in its current window: the one write such a
    /// request makes (a refusal before the count never reached it), or a second one for a
    /// request refused for a permission after being counted.
    pub async fn refused(&self, key: &ApiKey, refusal: Refusal) {
        let now = chrono::Utc::now().timestamp();
        let counted = self
            .table
            .increment(
                &keys::rate_window(&key.tenant_id, &key.id, now / 60),
                refusal.attribute(),
                1,
                Some(now + WINDOW_RETENTION_SECS),
            )
            .await;
        if let Err(e) = counted {
            tracing::warn!(error = %e, "refusal not counted");
        }
    }

    /// The key's last [`USAGE_DAYS`] days, day by day (UTC), from its windows.
    pub async fn usage(&self, key: &ApiKey) -> ServiceResult<KeyUsage> {
        let now = chrono::Utc::now();
        let today = now.date_naive();
        let first_day = today - chrono::Duration::days(USAGE_DAYS - 1);
        let from = first_day
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp()
            / 60;
        let to = now.timestamp() / 60;
        let partition = keys::rate_window(&key.tenant_id, &key.id, 0).pk;
        let mut days: std::collections::BTreeMap<chrono::NaiveDate, DayUsage> = (0..USAGE_DAYS)
            .map(|d| (first_day + chrono::Duration::days(d), DayUsage::default()))
            .collect();
        let mut last: Option<(i64, Option<String>)> = None;
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .table
                .query(
                    Query::new(Index::Primary, partition.clone())
                        .between(
                            keys::rate_window(&key.tenant_id, &key.id, from).sk,
                            keys::rate_window(&key.tenant_id, &key.id, to).sk,
                        )
                        .page(Some(crate::store::MAX_PAGE_SIZE), cursor.as_deref()),
                )
                .await?;
            for item in &page.items {
                let number = |name: &str| {
                    item.get(name)
                        .and_then(|v| v.as_n().ok())
                        .and_then(|n| n.parse::<i64>().ok())
                };
                let Some(minute) = item
                    .get(keys::SK)
                    .and_then(|v| v.as_s().ok())
                    .and_then(|sk| sk.rsplit('#').next())
                    .and_then(|m| m.parse::<i64>().ok())
                else {
                    continue;
                };
                let Some(day) =
                    chrono::DateTime::from_timestamp(minute * 60, 0).map(|t| t.date_naive())
                else {
                    continue;
                };
                let hits = number("hits").unwrap_or(0);
                let limit = number("limit").unwrap_or(i64::MAX);
                if let Some(usage) = days.get_mut(&day) {
                    usage.requests += hits as u64;
                    usage.refused429 += (hits - limit).max(0) as u64;
                    usage.refused401 += number("refused401").unwrap_or(0) as u64;
                    usage.refused403 += number("refused403").unwrap_or(0) as u64;
                }
                if let Some(at) = number("lastAt") {
                    if last.as_ref().is_none_or(|(t, _)| at >= *t) {
                        let ip = item.get("lastIp").and_then(|v| v.as_s().ok()).cloned();
                        last = Some((at, ip));
                    }
                }
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let (last_at, last_ip) = match last {
            Some((at, ip)) => (
                chrono::DateTime::from_timestamp(at, 0).map(crate::time::rfc3339),
                ip,
            ),
            None => (key.last_used_at.clone(), None),
        };
        Ok(KeyUsage {
            key_id: key.id.clone(),
            days: days
                .into_iter()
                .map(|(date, usage)| DayUsage {
                    date: date.to_string(),
                    ..usage
                })
                .collect(),
            last_used_at: last_at,
            last_ip,
        })
    }
}

/// One day of a key's use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct DayUsage {
    /// the day, UTC
    #[cfg_attr(feature = "openapi", schema(format = Date))]
    pub date: String,
    /// requests the key made, authenticated, refused for its rate limit or not
    pub requests: u64,
    /// refused as revoked or expired
    pub refused401: u64,
    /// refused for the address or a missing permission
    pub refused403: u64,
    /// refused for the key's rate limit
    pub refused429: u64,
}

/// A key's use over its last 30 days, day by day, and where it was last used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ApiKeyUsage))]
#[serde(rename_all = "camelCase")]
pub struct KeyUsage {
    pub key_id: String,
    /// the last 30 days (UTC), oldest first
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub days: Vec<DayUsage>,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub last_used_at: Option<String>,
    pub last_ip: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(perms: &[&str], ips: &[&str]) -> ApiKey {
        ApiKey {
            id: "key_1".into(),
            tenant_id: "ten_1".into(),
            name: "k".into(),
            description: None,
            prefix: "hk_".into(),
            key_hash: "h".into(),
            permissions: perms.iter().map(|s| s.to_string()).collect(),
            allowed_ips: ips.iter().map(|s| s.to_string()).collect(),
            expires_at: None,
            rate_limit_per_minute: 1,
            last_used_at: None,
            revoked_at: None,
            created_at: String::new(),
            updated_at: String::new(),
            tenant_suspended: false,
        }
    }

    #[test]
    fn older_permissions_include_the_finer_ones() {
        assert!(key(&["write:contacts"], &[]).allows("delete:contacts"));
        assert!(!key(&["delete:contacts"], &[]).allows("write:contacts"));
        assert!(key(&["send:messages"], &[]).allows("read:messages"));
        assert!(!key(&["read:messages"], &[]).allows("send:messages"));
        assert!(!key(&["read:contacts"], &[]).allows("delete:contacts"));
    }

    #[test]
    fn permissions_and_wildcard() {
        assert!(key(&["read:webhooks"], &[]).allows("read:webhooks"));
        assert!(!key(&["read:webhooks"], &[]).allows("write:webhooks"));
        assert!(key(&["*"], &[]).allows("send:messages"));
    }

    #[test]
    fn ip_allow_list() {
        let k = key(&["*"], &["10.0.0.0/8", "2001:db8::/32", "203.0.113.7/32"]);
        assert!(k.allows_ip("10.1.2.3".parse().unwrap()));
        assert!(k.allows_ip("203.0.113.7".parse().unwrap()));
        assert!(k.allows_ip("2001:db8::1".parse().unwrap()));
        assert!(!k.allows_ip("203.0.113.8".parse().unwrap()));
        assert!(key(&["*"], &[]).allows_ip("198.51.100.1".parse().unwrap()));
    }

    #[test]
    fn generated_keys_are_distinct_and_hashed() {
        let a = generate_key();
        let b = generate_key();
        assert!(a.starts_with("hk_") && a.len() == 46);
        assert_ne!(a, b);
        assert_eq!(hash_key(&a).len(), 64);
        assert_ne!(hash_key(&a), hash_key(&b));
    }

    #[test]
    fn view_hides_the_hash() {
        let v = serde_json::to_value(key(&["*"], &[]).view()).unwrap();
        assert!(v.get("keyHash").is_none());
        assert!(v.get("tenantId").is_none());
        assert_eq!(v["status"], "active");
    }
}
