//! Per-tenant quotas: how much one tenant may make hookhub do. Every deployment has
//! defaults (configuration); a platform admin may set any of them for one tenant. A tenant
//! stores only what was set for it, so changing a default reaches every tenant that did not
//! get its own value.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ServiceError, ServiceResult};
use crate::store::{keys, Table};
use crate::validation::Fields;

/// One quota: its name in the API, its bounds and its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota {
    MaxEndpoints,
    MaxWorkflows,
    MaxEventBytes,
    PublishPerMinute,
    MaxRetryAttempts,
}

impl Quota {
    pub const ALL: [Quota; 5] = [
        Quota::MaxEndpoints,
        Quota::MaxWorkflows,
        Quota::MaxEventBytes,
        Quota::PublishPerMinute,
        Quota::MaxRetryAttempts,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Quota::MaxEndpoints => "maxEndpoints",
            Quota::MaxWorkflows => "maxWorkflows",
            Quota::MaxEventBytes => "maxEventBytes",
            Quota::PublishPerMinute => "publishPerMinute",
            Quota::MaxRetryAttempts => "maxRetryAttempts",
        }
    }

    /// The environment variable that sets the deployment's default.
    pub fn variable(self) -> &'static str {
        match self {
            Quota::MaxEndpoints => "HOOKHUB_QUOTA_MAX_ENDPOINTS",
            Quota::MaxWorkflows => "HOOKHUB_QUOTA_MAX_WORKFLOWS",
            Quota::MaxEventBytes => "HOOKHUB_QUOTA_MAX_EVENT_BYTES",
            Quota::PublishPerMinute => "HOOKHUB_QUOTA_PUBLISH_PER_MINUTE",
            Quota::MaxRetryAttempts => "HOOKHUB_QUOTA_MAX_RETRY_ATTEMPTS",
        }
    }

    /// What it limits, for the API's document.
    pub fn description(self) -> &'static str {
        match self {
            Quota::MaxEndpoints => "webhook endpoints the tenant may have",
            Quota::MaxWorkflows => "workflow webhooks the tenant may have",
            Quota::MaxEventBytes => "largest event data, in bytes of JSON, that the tenant's callers may publish (hookhub's own limit is 204800)",
            Quota::PublishPerMinute => "events and workflow calls the tenant's callers may publish in one clock minute, whoever publishes (API keys, tenant and platform admins); events hookhub makes from Meta's webhooks and its own state are not counted",
            Quota::MaxRetryAttempts => "most retries any of the tenant's endpoints or workflows makes, including those made before the quota was lowered",
        }
    }

    /// The values a quota may take. The upper bounds are hookhub's own limits: an event's
    /// data is at most 200 KiB whatever the quota, an endpoint retries at most 10 times.
    pub fn bounds(self) -> (u32, u32) {
        match self {
            Quota::MaxEndpoints | Quota::MaxWorkflows => (0, 10_000),
            Quota::MaxEventBytes => (1024, crate::webhooks::events::MAX_EVENT_DATA_BYTES as u32),
            Quota::PublishPerMinute => (1, 1_000_000),
            Quota::MaxRetryAttempts => (0, crate::webhooks::endpoint::MAX_RETRY_ATTEMPTS as u32),
        }
    }
}

/// The quotas in force for a tenant (or a deployment's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quotas {
    pub max_endpoints: u32,
    pub max_workflows: u32,
    pub max_event_bytes: u32,
    pub publish_per_minute: u32,
    pub max_retry_attempts: u32,
}

impl Default for Quotas {
    /// Generous for one business, small enough that one tenant cannot flood the queue:
    /// 100 publishes a second fanned out to 100 endpoints is already 10,000 jobs a second.
    fn default() -> Self {
        Self {
            max_endpoints: 100,
            max_workflows: 50,
            max_event_bytes: crate::webhooks::events::MAX_EVENT_DATA_BYTES as u32,
            publish_per_minute: 6_000,
            max_retry_attempts: crate::webhooks::endpoint::MAX_RETRY_ATTEMPTS as u32,
        }
    }
}

impl Quotas {
    fn slot(&mut self, quota: Quota) -> &mut u32 {
        match quota {
            Quota::MaxEndpoints => &mut self.max_endpoints,
            Quota::MaxWorkflows => &mut self.max_workflows,
            Quota::MaxEventBytes => &mut self.max_event_bytes,
            Quota::PublishPerMinute => &mut self.publish_per_minute,
            Quota::MaxRetryAttempts => &mut self.max_retry_attempts,
        }
    }

    /// The deployment's defaults: each variable that is set replaces the built-in value.
    pub fn from_lookup(
        optional: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, crate::config::ConfigError> {
        let mut quotas = Self::default();
        for quota in Quota::ALL {
            let Some(raw) = optional(quota.variable()) else {
                continue;
            };
            let (min, max) = quota.bounds();
            *quotas.slot(quota) = raw
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|v| (min..=max).contains(v))
                .ok_or_else(|| crate::config::ConfigError::Invalid {
                    name: quota.variable(),
                    reason: format!("expected a whole number from {min} to {max}"),
                })?;
        }
        Ok(quotas)
    }

    /// These quotas with a tenant's own values in place of the defaults.
    pub fn with(mut self, overrides: &QuotaOverrides) -> Self {
        for quota in Quota::ALL {
            if let Some(v) = overrides.get(quota) {
                *self.slot(quota) = v;
            }
        }
        self
    }
}

/// What a platform admin set for one tenant; the rest follows the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_endpoints: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_workflows: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_event_bytes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_per_minute: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retry_attempts: Option<u32>,
}

impl QuotaOverrides {
    pub fn is_empty(&self) -> bool {
        Quota::ALL.iter().all(|q| self.get(*q).is_none())
    }

    pub fn get(&self, quota: Quota) -> Option<u32> {
        match quota {
            Quota::MaxEndpoints => self.max_endpoints,
            Quota::MaxWorkflows => self.max_workflows,
            Quota::MaxEventBytes => self.max_event_bytes,
            Quota::PublishPerMinute => self.publish_per_minute,
            Quota::MaxRetryAttempts => self.max_retry_attempts,
        }
    }

    fn slot(&mut self, quota: Quota) -> &mut Option<u32> {
        match quota {
            Quota::MaxEndpoints => &mut self.max_endpoints,
            Quota::MaxWorkflows => &mut self.max_workflows,
            Quota::MaxEventBytes => &mut self.max_event_bytes,
            Quota::PublishPerMinute => &mut self.publish_per_minute,
            Quota::MaxRetryAttempts => &mut self.max_retry_attempts,
        }
    }

    /// The quotas set, as `quotas.name=value`, for the audit log of a new tenant.
    pub fn changes_from_default(&self) -> Vec<String> {
        Quota::ALL
            .iter()
            .filter_map(|q| Some(format!("quotas.{}={}", q.name(), self.get(*q)?)))
            .collect()
    }

    /// The stored form of the overrides that publishing reads from the subscription index.
    pub fn to_attribute(&self) -> AttributeValue {
        AttributeValue::M(
            Quota::ALL
                .iter()
                .filter_map(|q| {
                    Some((
                        q.name().to_string(),
                        AttributeValue::N(self.get(*q)?.to_string()),
                    ))
                })
                .collect(),
        )
    }

    /// Reads the stored form back; what is unreadable follows the default.
    pub fn from_attribute(value: Option<&AttributeValue>) -> Self {
        let mut out = Self::default();
        let Some(AttributeValue::M(map)) = value else {
            return out;
        };
        for quota in Quota::ALL {
            if let Some(v) = map
                .get(quota.name())
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<u32>().ok())
            {
                *out.slot(quota) = Some(v);
            }
        }
        out
    }
}

/// The quota schemas, built from [`Quota::ALL`]: the names, bounds and descriptions the
/// validation and the configuration read.
#[cfg(feature = "openapi")]
mod openapi {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, SchemaType, Type};
    use utoipa::openapi::{RefOr, Schema};

    use super::{Quota, QuotaChanges, QuotaOverrides, Quotas};

    /// An object with one integer property per quota, within its bounds.
    fn object(nullable: bool, documented: bool) -> ObjectBuilder {
        let mut object = ObjectBuilder::new().schema_type(Type::Object);
        for quota in Quota::ALL {
            let (min, max) = quota.bounds();
            let kind = if nullable {
                SchemaType::from_iter([Type::Integer, Type::Null])
            } else {
                SchemaType::Type(Type::Integer)
            };
            let property = ObjectBuilder::new()
                .schema_type(kind)
                .minimum(Some(min))
                .maximum(Some(max))
                .description(documented.then(|| quota.description()));
            object = object.property(quota.name(), property);
        }
        object
    }

    impl utoipa::PartialSchema for Quotas {
        fn schema() -> RefOr<Schema> {
            let mut object = object(false, true).description(Some(
                "The quotas in force for a tenant: its own (quotaOverrides) or the deployment's defaults (HOOKHUB_QUOTA_* variables).",
            ));
            for quota in Quota::ALL {
                object = object.required(quota.name());
            }
            object.into()
        }
    }

    // Named after the type, as the document names it.
    impl utoipa::ToSchema for Quotas {}

    impl utoipa::PartialSchema for QuotaOverrides {
        fn schema() -> RefOr<Schema> {
            object(false, false)
                .description(Some(
                    "The quotas a platform admin set for one tenant; the others follow the defaults.",
                ))
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
                .into()
        }
    }

    // Named after the type, as the document names it.
    impl utoipa::ToSchema for QuotaOverrides {}

    impl utoipa::PartialSchema for QuotaChanges {
        fn schema() -> RefOr<Schema> {
            object(true, false)
                .description(Some(
                    "Quotas to change: a number sets one, null returns it to the deployment's default, a quota left out is kept. Every change is audited with its value (quotas.maxEndpoints=20).",
                ))
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
                .into()
        }
    }

    // Named after the type, as the document names it.
    impl utoipa::ToSchema for QuotaChanges {}
}

/// A request's `quotas` object, read: each quota named, with its new value, or `None` to
/// return it to the default. A quota left out is unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuotaChanges(pub Vec<(Quota, Option<u32>)>);

impl QuotaChanges {
    /// The request's `quotas`, if given and valid; each problem is reported by name.
    pub fn read(f: &mut Fields) -> Option<Self> {
        let raw = f.raw("quotas")?;
        let Value::Object(given) = raw else {
            f.error(
                "quotas",
                "must be an object such as {\"maxEndpoints\": 20}; null returns one to the default",
            );
            return None;
        };
        let mut changes = Vec::new();
        let mut ok = true;
        for (name, value) in &given {
            let field = format!("quotas.{name}");
            let Some(quota) = Quota::ALL.iter().copied().find(|q| q.name() == name) else {
                let known: Vec<&str> = Quota::ALL.iter().map(|q| q.name()).collect();
                f.error(
                    &field,
                    format!("unknown quota; the quotas are {}", known.join(", ")),
                );
                ok = false;
                continue;
            };
            let (min, max) = quota.bounds();
            match value {
                Value::Null => changes.push((quota, None)),
                v => match v.as_u64().filter(|n| (min as u64..=max as u64).contains(n)) {
                    Some(n) => changes.push((quota, Some(n as u32))),
                    None => {
                        f.error(
                            &field,
                            format!("must be a whole number from {min} to {max}, or null for the default"),
                        );
                        ok = false;
                    }
                },
            }
        }
        ok.then_some(Self(changes))
    }

    /// Applies the changes; returns what changed, as `name=value` (or `name=default`) for
    /// the audit log.
    pub fn apply(&self, overrides: &mut QuotaOverrides) -> Vec<String> {
        let mut changed = Vec::new();
        for (quota, value) in &self.0 {
            if overrides.get(*quota) != *value {
                *overrides.slot(*quota) = *value;
                changed.push(match value {
                    Some(v) => format!("quotas.{}={v}", quota.name()),
                    None => format!("quotas.{}=default", quota.name()),
                });
            }
        }
        changed
    }
}

/// Refuses what a quota does not allow, naming the quota.
pub fn exceeded(quota: Quota, limit: u32, message: impl Into<String>) -> ServiceError {
    ServiceError::QuotaExceeded {
        quota: quota.name(),
        limit,
        message: message.into(),
        retry_after_secs: None,
    }
}

/// Counts a tenant's publishes in fixed one-minute windows, in DynamoDB so that every
/// Lambda instance shares the count.
#[derive(Clone)]
pub struct PublishRate {
    table: Table,
}

impl PublishRate {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Counts one publish in the tenant's current minute.
    pub async fn count_one(&self, tenant_id: &str) -> ServiceResult<MinuteCount> {
        let now = chrono::Utc::now().timestamp();
        let count = self
            .table
            .increment(
                &keys::publish_window(tenant_id, now / 60),
                "hits",
                1,
                Some(now + 180),
            )
            .await?;
        Ok(MinuteCount {
            count,
            seconds_left: (60 - now % 60) as u64,
        })
    }
}

/// A tenant's publishes so far in the current minute, this one included.
#[derive(Debug, Clone, Copy)]
pub struct MinuteCount {
    count: i64,
    seconds_left: u64,
}

impl MinuteCount {
    /// Refuses the publish when it is over `per_minute`.
    pub fn check(self, per_minute: u32) -> ServiceResult<()> {
        if self.count <= i64::from(per_minute) {
            return Ok(());
        }
        Err(ServiceError::QuotaExceeded {
            quota: Quota::PublishPerMinute.name(),
            limit: per_minute,
            message: format!(
                "this tenant may publish {per_minute} events a minute (quota publishPerMinute); \
                 try again in {} s",
                self.seconds_left
            ),
            retry_after_secs: Some(self.seconds_left),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: Value) -> Fields {
        Fields::new(v.as_object().cloned().unwrap())
    }

    #[test]
    fn defaults_come_from_configuration_within_bounds() {
        let q = Quotas::from_lookup(|name| match name {
            "HOOKHUB_QUOTA_MAX_ENDPOINTS" => Some("7".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(q.max_endpoints, 7);
        assert_eq!(q.max_workflows, Quotas::default().max_workflows);
        for bad in ["-1", "abc", "99999999999", "20000"] {
            let err = Quotas::from_lookup(|name| {
                (name == "HOOKHUB_QUOTA_MAX_ENDPOINTS").then(|| bad.to_string())
            })
            .unwrap_err();
            assert!(
                err.to_string().contains("HOOKHUB_QUOTA_MAX_ENDPOINTS"),
                "{err}"
            );
        }
    }

    #[test]
    fn overrides_set_reset_and_leave_the_rest() {
        let mut o = QuotaOverrides {
            max_workflows: Some(3),
            ..Default::default()
        };
        let mut f =
            fields(serde_json::json!({"quotas": {"maxEndpoints": 5, "maxWorkflows": null}}));
        let changes = QuotaChanges::read(&mut f).unwrap();
        f.finish().unwrap();
        let changed = changes.apply(&mut o);
        assert_eq!(
            changed,
            ["quotas.maxEndpoints=5", "quotas.maxWorkflows=default"]
        );
        assert_eq!(o.max_endpoints, Some(5));
        assert_eq!(o.max_workflows, None);
        let q = Quotas::default().with(&o);
        assert_eq!(q.max_endpoints, 5);
        assert_eq!(q.max_workflows, Quotas::default().max_workflows);
        assert_eq!(QuotaOverrides::from_attribute(Some(&o.to_attribute())), o);
    }

    #[test]
    fn bad_quotas_are_refused_by_name_and_change_nothing() {
        for (body, field) in [
            (
                serde_json::json!({"quotas": {"maxEndpoint": 5}}),
                "quotas.maxEndpoint",
            ),
            (
                serde_json::json!({"quotas": {"maxEndpoints": -1}}),
                "quotas.maxEndpoints",
            ),
            (
                serde_json::json!({"quotas": {"maxEventBytes": 1_000_000}}),
                "quotas.maxEventBytes",
            ),
            (
                serde_json::json!({"quotas": {"publishPerMinute": "10"}}),
                "quotas.publishPerMinute",
            ),
            (serde_json::json!({"quotas": [1]}), "quotas"),
        ] {
            let mut f = fields(body);
            assert_eq!(QuotaChanges::read(&mut f), None);
            let err = f.finish().unwrap_err();
            assert!(format!("{err:?}").contains(field), "{err:?}");
        }
    }
}
