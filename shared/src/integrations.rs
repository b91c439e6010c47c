//! Per-tenant integrations: WhatsApp, Instagram, SMS (Twilio, Vonage, AWS SNS)
//! and n8n. Secret fields are sealed with the envelope cipher before they are stored, and
//! only their masks are ever read back out through the API; a blank or missing secret in an
//! update keeps the stored one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::audit::{Actor, AuditLog};
use crate::crypto::{EnvelopeCipher, SecretContext};
use crate::error::{ServiceError, ServiceResult};
use crate::masking::mask;
use crate::store::{keys, to_item, Table};
use crate::validation::{is_e164, Fields};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", serde(rename_all = "lowercase"))]
pub enum IntegrationKind {
    Whatsapp,
    Instagram,
    Sms,
    N8n,
}

impl IntegrationKind {
    pub const ALL: [IntegrationKind; 4] = [Self::Whatsapp, Self::Instagram, Self::Sms, Self::N8n];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Whatsapp => "whatsapp",
            Self::Instagram => "instagram",
            Self::Sms => "sms",
            Self::N8n => "n8n",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsProvider {
    Twilio,
    Vonage,
    Sns,
}

impl SmsProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Twilio => "twilio",
            Self::Vonage => "vonage",
            Self::Sns => "sns",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Twilio, Self::Vonage, Self::Sns]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

type Check = fn(&str) -> Result<(), &'static str>;

/// One field of an integration's settings.
struct FieldSpec {
    name: &'static str,
    secret: bool,
    max: usize,
    check: Option<Check>,
}

const fn plain(name: &'static str, max: usize, check: Option<Check>) -> FieldSpec {
    FieldSpec {
        name,
        secret: false,
        max,
        check,
    }
}

const fn secret(name: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        secret: true,
        max: 4096,
        check: None,
    }
}

fn digits(v: &str) -> Result<(), &'static str> {
    if v.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("must contain digits only")
    }
}

fn e164(v: &str) -> Result<(), &'static str> {
    if is_e164(v) {
        Ok(())
    } else {
        Err("must be an E.164 phone number such as +15551234567")
    }
}

fn sid(prefix: &'static str, v: &str) -> bool {
    v.len() == 34 && v.starts_with(prefix) && v[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn twilio_account_sid(v: &str) -> Result<(), &'static str> {
    if sid("AC", v) {
        Ok(())
    } else {
        Err("must be a Twilio Account SID: AC followed by 32 hexadecimal characters")
    }
}

fn twilio_service_sid(v: &str) -> Result<(), &'static str> {
    if sid("MG", v) {
        Ok(())
    } else {
        Err("must be a Twilio Messaging Service SID: MG followed by 32 hexadecimal characters")
    }
}

/// Alphanumeric sender ids: 1 to 11 letters, digits or spaces, at least one letter.
fn is_sender_id(v: &str) -> bool {
    (1..=11).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ')
        && v.bytes().any(|b| b.is_ascii_alphabetic())
}

fn sender_id(v: &str) -> Result<(), &'static str> {
    if is_sender_id(v) {
        Ok(())
    } else {
        Err("must be 1 to 11 letters, digits or spaces, with at least one letter")
    }
}

fn vonage_from(v: &str) -> Result<(), &'static str> {
    if is_e164(v) || is_sender_id(v) {
        Ok(())
    } else {
        Err("must be an E.164 number or an alphanumeric sender id of at most 11 characters")
    }
}

fn aws_region(v: &str) -> Result<(), &'static str> {
    let parts: Vec<&str> = v.split('-').collect();
    let ok = (3..=4).contains(&parts.len())
        && parts[0].len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err("must be an AWS region such as us-east-1")
    }
}

fn aws_access_key_id(v: &str) -> Result<(), &'static str> {
    if (16..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err("must be an AWS access key id (16 to 128 uppercase letters and digits)")
    }
}

fn sms_type(v: &str) -> Result<(), &'static str> {
    if v == "Transactional" || v == "Promotional" {
        Ok(())
    } else {
        Err("must be Transactional or Promotional")
    }
}

fn graph_version(v: &str) -> Result<(), &'static str> {
    let ok = v
        .strip_prefix('v')
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(a, b)| {
            !a.is_empty() && !b.is_empty() && (a.to_owned() + b).bytes().all(|c| c.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err("must be a Graph API version such as v21.0")
    }
}

fn https_url(v: &str) -> Result<(), &'static str> {
    let url = url::Url::parse(v).map_err(|_| "must be an absolute URL")?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err("must be an http(s) URL");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials");
    }
    if url.host_str().is_none() {
        return Err("must have a host");
    }
    Ok(())
}

const WHATSAPP: &[FieldSpec] = &[
    plain("phoneNumberId", 64, Some(digits)),
    plain("businessAccountId", 64, Some(digits)),
    secret("accessToken"),
    secret("webhookVerifyToken"),
    plain("phoneNumber", 16, Some(e164)),
    secret("appSecret"),
    plain("apiVersion", 10, Some(graph_version)),
];
const INSTAGRAM: &[FieldSpec] = &[
    plain("accountId", 64, Some(digits)),
    // The Facebook Page linked to the account, which Instagram messaging webhooks are
    // subscribed on.
    plain("pageId", 64, Some(digits)),
    plain("appId", 64, Some(digits)),
    secret("appSecret"),
    secret("accessToken"),
    secret("webhookVerifyToken"),
];
const TWILIO: &[FieldSpec] = &[
    plain("accountSid", 34, Some(twilio_account_sid)),
    secret("authToken"),
    plain("phoneNumber", 16, Some(e164)),
    plain("messagingServiceSid", 34, Some(twilio_service_sid)),
];
const VONAGE: &[FieldSpec] = &[
    plain("apiKey", 64, None),
    secret("apiSecret"),
    plain("from", 16, Some(vonage_from)),
];
const SNS: &[FieldSpec] = &[
    plain("accessKeyId", 128, Some(aws_access_key_id)),
    secret("secretAccessKey"),
    plain("region", 32, Some(aws_region)),
    plain("senderId", 11, Some(sender_id)),
    plain("phoneNumber", 16, Some(e164)),
    plain("smsType", 16, Some(sms_type)),
];
const N8N: &[FieldSpec] = &[plain("baseUrl", 2048, Some(https_url)), secret("apiKey")];

fn specs(kind: IntegrationKind, provider: Option<SmsProvider>) -> &'static [FieldSpec] {
    match (kind, provider) {
        (IntegrationKind::Whatsapp, _) => WHATSAPP,
        (IntegrationKind::Instagram, _) => INSTAGRAM,
        (IntegrationKind::Sms, Some(SmsProvider::Twilio)) => TWILIO,
        (IntegrationKind::Sms, Some(SmsProvider::Vonage)) => VONAGE,
        (IntegrationKind::Sms, Some(SmsProvider::Sns)) => SNS,
        (IntegrationKind::Sms, None) => &[],
        (IntegrationKind::N8n, _) => N8N,
    }
}

/// What an enabled integration cannot work without (each group: at least one of).
fn required(
    kind: IntegrationKind,
    provider: Option<SmsProvider>,
) -> &'static [&'static [&'static str]] {
    match (kind, provider) {
        (IntegrationKind::Whatsapp, _) => &[&["phoneNumberId"], &["accessToken"]],
        (IntegrationKind::Instagram, _) => &[&["accountId"], &["appSecret"]],
        (IntegrationKind::Sms, Some(SmsProvider::Twilio)) => &[
            &["accountSid"],
            &["authToken"],
            &["phoneNumber", "messagingServiceSid"],
        ],
        (IntegrationKind::Sms, Some(SmsProvider::Vonage)) => {
            &[&["apiKey"], &["apiSecret"], &["from"]]
        }
        (IntegrationKind::Sms, Some(SmsProvider::Sns)) => &[&["region"]],
        (IntegrationKind::Sms, None) => &[&["provider"]],
        (IntegrationKind::N8n, _) => &[&["baseUrl"]],
    }
}

/// An integration as stored: plain values, sealed secrets, and the masks shown for them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationRecord {
    pub kind: String,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    #[serde(default)]
    pub masks: BTreeMap<String, String>,
    pub updated_at: String,
    pub updated_by: String,
    /// A copy of the tenant's status: sending a queued message reads the integration, not
    /// the tenant (`TenantService::update` writes it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tenant_suspended: bool,
}

impl IntegrationRecord {
    pub fn sms_provider(&self) -> Option<SmsProvider> {
        self.provider.as_deref().and_then(SmsProvider::parse)
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    pub fn has_secret(&self, name: &str) -> bool {
        self.secrets.contains_key(name)
    }

    /// The fields an enabled integration of this kind cannot work without and lacks.
    pub fn missing_requirements(&self) -> Vec<&'static str> {
        let Some(kind) = IntegrationKind::parse(&self.kind) else {
            return Vec::new();
        };
        required(kind, self.sms_provider())
            .iter()
            .filter(|group| {
                !group.iter().any(|f| {
                    *f == "provider" && self.provider.is_some()
                        || self.fields.contains_key(*f)
                        || self.secrets.contains_key(*f)
                })
            })
            .map(|group| group[0])
            .collect()
    }

    /// The API's view: plain values as stored, secrets as masks, never ciphertext.
    pub fn masked_view(&self) -> IntegrationView {
        IntegrationView {
            enabled: self.enabled,
            provider: self.provider.clone(),
            fields: self
                .fields
                .iter()
                .chain(&self.masks)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            updated_at: self.updated_at.clone(),
            updated_by: self.updated_by.clone(),
        }
    }
}

/// An integration as the API shows it: its plain fields as stored, its secrets masked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationView {
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(flatten)]
    pub fields: BTreeMap<String, String>,
    pub updated_at: String,
    pub updated_by: String,
}

/// Every integration of a tenant, null where it has none of that kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Integrations {
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub whatsapp: Option<IntegrationView>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub instagram: Option<IntegrationView>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub sms: Option<IntegrationView>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub n8n: Option<IntegrationView>,
}

/// What "test connection" found, by kind: a test send (SMS, WhatsApp with a number), the
/// token against the Graph API (Instagram, WhatsApp without one), or the n8n instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum ConnectionCheck {
    Send(crate::messages::IntegrationTestView),
    N8n(crate::webhooks::n8n::N8nHealth),
    Graph(crate::meta::graph::GraphHealth),
}

/// The schemas of what the integration routes take and show, from the field tables.
#[cfg(feature = "openapi")]
pub mod openapi {
    use std::borrow::Cow;

    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, SchemaType, Type};
    use utoipa::openapi::{RefOr, Schema};

    use super::{IntegrationView, SmsProvider, INSTAGRAM, N8N, SNS, TWILIO, VONAGE, WHATSAPP};

    fn providers() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(
                [SmsProvider::Twilio, SmsProvider::Vonage, SmsProvider::Sns]
                    .map(SmsProvider::as_str),
            ))
    }

    impl utoipa::PartialSchema for IntegrationView {
        fn schema() -> RefOr<Schema> {
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some("Plain fields as stored; secret fields masked"))
                .property("enabled", ObjectBuilder::new().schema_type(Type::Boolean))
                .required("enabled")
                .property("provider", providers())
                .property("updatedAt", ObjectBuilder::new().schema_type(Type::String))
                .required("updatedAt")
                .property("updatedBy", ObjectBuilder::new().schema_type(Type::String))
                .required("updatedBy")
                .additional_properties(Some(AdditionalProperties::RefOr(
                    ObjectBuilder::new().schema_type(Type::String).into(),
                )))
                .into()
        }
    }

    impl utoipa::ToSchema for IntegrationView {}

    /// `PUT .../integrations/{kind}`: every kind's fields (a kind refuses the others').
    pub struct IntegrationSettings;

    /// What the field tables do not say.
    fn described(name: &str) -> Option<&'static str> {
        match name {
            "phoneNumber" => Some("E.164 sending number (WhatsApp, Twilio, SNS); for SNS an alphanumeric sender ID given here is read as senderId"),
            "pageId" => Some("Instagram: the Facebook Page linked to the account, on which its messaging webhooks are subscribed"),
            _ => None,
        }
    }

    impl utoipa::PartialSchema for IntegrationSettings {
        fn schema() -> RefOr<Schema> {
            let mut object = ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some("The integration's fields (those of the kind named in the path). A secret field left out, null or blank keeps the stored value; a plain field set to blank or null is cleared."))
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
                .property("enabled", ObjectBuilder::new().schema_type(Type::Boolean))
                .property("provider", providers());
            let mut longest: Vec<(&str, usize)> = Vec::new();
            for spec in [WHATSAPP, INSTAGRAM, TWILIO, VONAGE, SNS, N8N]
                .iter()
                .copied()
                .flatten()
            {
                match longest.iter_mut().find(|(name, _)| *name == spec.name) {
                    Some((_, max)) => *max = (*max).max(spec.max),
                    None => longest.push((spec.name, spec.max)),
                }
            }
            for (name, max) in longest {
                object = object.property(
                    name,
                    ObjectBuilder::new()
                        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                        .max_length(Some(max))
                        .description(described(name)),
                );
            }
            object.into()
        }
    }

    impl utoipa::ToSchema for IntegrationSettings {
        fn name() -> Cow<'static, str> {
            "IntegrationSettings".into()
        }
    }
}

/// Copies the tenant's status onto each of its integrations (those it has).
pub async fn set_tenant_suspended(
    table: &Table,
    tenant_id: &str,
    suspended: bool,
) -> ServiceResult<()> {
    let value = [(
        "tenantSuspended",
        Some(aws_sdk_dynamodb::types::AttributeValue::Bool(suspended)),
    )];
    for kind in IntegrationKind::ALL {
        table
            .update_existing(&keys::integration(tenant_id, kind.as_str()), &value)
            .await?;
    }
    Ok(())
}

fn secret_context(
    tenant_id: &str,
    kind: IntegrationKind,
    field: &str,
) -> ServiceResult<SecretContext> {
    Ok(SecretContext::new(
        tenant_id,
        &format!("{}.{field}", kind.as_str()),
    )?)
}

#[derive(Clone)]
pub struct IntegrationService {
    table: Table,
    cipher: std::sync::Arc<EnvelopeCipher>,
    audit: AuditLog,
}

impl IntegrationService {
    pub fn new(table: Table, cipher: std::sync::Arc<EnvelopeCipher>) -> Self {
        Self {
            audit: AuditLog::new(table.clone()),
            table,
            cipher,
        }
    }

    pub async fn get(
        &self,
        tenant_id: &str,
        kind: IntegrationKind,
    ) -> ServiceResult<Option<IntegrationRecord>> {
        Ok(self
            .table
            .get_record(&keys::integration(tenant_id, kind.as_str()))
            .await?)
    }

    /// Every integration of the tenant, masked; `null` for those never configured.
    pub async fn masked_all(&self, tenant_id: &str) -> ServiceResult<Integrations> {
        let view = |kind| async move {
            ServiceResult::Ok(self.get(tenant_id, kind).await?.map(|r| r.masked_view()))
        };
        Ok(Integrations {
            whatsapp: view(IntegrationKind::Whatsapp).await?,
            instagram: view(IntegrationKind::Instagram).await?,
            sms: view(IntegrationKind::Sms).await?,
            n8n: view(IntegrationKind::N8n).await?,
        })
    }

    /// Opens one secret field for use by a sender or verifier. Never for API responses.
    pub async fn open_secret(
        &self,
        tenant_id: &str,
        kind: IntegrationKind,
        record: &IntegrationRecord,
        field: &str,
    ) -> ServiceResult<Option<Zeroizing<String>>> {
        let Some(sealed) = record.secrets.get(field) else {
            return Ok(None);
        };
        let context = secret_context(tenant_id, kind, field)?;
        Ok(Some(self.cipher.open(&context, sealed).await?))
    }

    /// Applies a PUT: validates every field, keeps stored secrets where none is given, seals
    /// new ones, records which fields changed (never their values) in the audit log.
    pub async fn put(
        &self,
        tenant_id: &str,
        kind: IntegrationKind,
        mut input: Fields,
        actor: &Actor,
    ) -> ServiceResult<IntegrationRecord> {
        let stored = self.get(tenant_id, kind).await?;
        let mut next = stored.clone().unwrap_or_else(|| IntegrationRecord {
            kind: kind.as_str().into(),
            enabled: false,
            ..Default::default()
        });
        let mut changed: Vec<String> = Vec::new();

        if let Some(enabled) = input.bool("enabled") {
            if enabled != next.enabled {
                changed.push("enabled".into());
            }
            next.enabled = enabled;
        } else if stored.is_none() && !input.present("enabled") {
            // A first configuration is meant to be used.
            next.enabled = true;
            changed.push("enabled".into());
        }

        if kind == IntegrationKind::Sms && input.present("provider") {
            match input
                .string("provider", 16)
                .as_deref()
                .map(SmsProvider::parse)
            {
                Some(Some(provider)) if next.provider.as_deref() != Some(provider.as_str()) => {
                    // Another provider's credentials must not linger.
                    next.fields.clear();
                    next.secrets.clear();
                    next.masks.clear();
                    next.provider = Some(provider.as_str().into());
                    changed.push("provider".into());
                }
                Some(Some(_)) => {}
                Some(None) => input.error("provider", "must be twilio, vonage or sns"),
                None => {}
            }
        }

        let provider = next.sms_provider();
        // SNS sends from a number or from an alphanumeric sender ID; a sender ID given as
        // `phoneNumber` (as forms that ask for "your sender phone or ID" send it) is one.
        if provider == Some(SmsProvider::Sns) {
            if let Some(given) = input.peek_str("phoneNumber") {
                if !is_e164(given) && is_sender_id(given) {
                    input.alias("phoneNumber", "senderId");
                }
            }
        }
        let mut new_secrets: Vec<(&'static str, String)> = Vec::new();
        for spec in specs(kind, provider) {
            if !input.present(spec.name) {
                continue;
            }
            let value = input.string(spec.name, spec.max);
            if spec.secret {
                // Missing, null or blank keeps the stored secret.
                if let Some(v) = value.filter(|v| !v.is_empty()) {
                    new_secrets.push((spec.name, v));
                }
                continue;
            }
            match value {
                Some(v) if v.is_empty() => {
                    if next.fields.remove(spec.name).is_some() {
                        changed.push(spec.name.into());
                    }
                }
                Some(v) => {
                    if let Some(Err(message)) = spec.check.map(|check| check(&v)) {
                        input.error(spec.name, message);
                    } else if next.fields.get(spec.name) != Some(&v) {
                        next.fields.insert(spec.name.into(), v);
                        changed.push(spec.name.into());
                    }
                }
                None => {
                    if input.has_errors() {
                        continue;
                    }
                    if next.fields.remove(spec.name).is_some() {
                        changed.push(spec.name.into());
                    }
                }
            }
        }
        if kind == IntegrationKind::Sms && provider.is_none() && !input.has_errors() {
            input.error("provider", "is required: twilio, vonage or sns");
        }
        input.finish()?;

        for (name, value) in &new_secrets {
            next.secrets.insert((*name).into(), String::new());
            next.masks.insert((*name).into(), mask(value));
            changed.push((*name).into());
        }
        self.check_complete(kind, &next)?;
        if provider == Some(SmsProvider::Sns)
            && next.fields.contains_key("accessKeyId")
                != next.secrets.contains_key("secretAccessKey")
        {
            return Err(ServiceError::invalid(
                "secretAccessKey",
                "accessKeyId and secretAccessKey go together; give both, or neither to use the function's role",
            ));
        }

        for (name, value) in new_secrets {
            let context = secret_context(tenant_id, kind, name)?;
            let sealed = self.cipher.seal(&context, &value).await?;
            next.secrets.insert(name.into(), sealed);
        }
        next.updated_at = crate::time::now_rfc3339();
        next.updated_by = actor.label();
        let item = to_item(&keys::integration(tenant_id, kind.as_str()), &next)?;
        match &stored {
            Some(s) => self.table.put_if(item, "updatedAt", &s.updated_at).await?,
            None => self.table.put_new(item).await?,
        }
        changed.sort();
        changed.dedup();
        self.audit
            .record(
                tenant_id,
                actor,
                "integration.updated",
                kind.as_str(),
                changed,
            )
            .await?;
        Ok(next)
    }

    fn check_complete(
        &self,
        kind: IntegrationKind,
        record: &IntegrationRecord,
    ) -> ServiceResult<()> {
        if !record.enabled {
            return Ok(());
        }
        let groups = required(kind, record.sms_provider());
        let missing: Vec<_> = record
            .missing_requirements()
            .into_iter()
            .map(|field| {
                let alternatives = groups
                    .iter()
                    .find(|g| g[0] == field)
                    .map_or(&[][..], |g| &g[1..]);
                crate::validation::FieldError {
                    field: field.into(),
                    message: if alternatives.is_empty() {
                        "is required when enabled".into()
                    } else {
                        format!("is required when enabled (or {})", alternatives.join(", "))
                    },
                }
            })
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Input(crate::validation::InputError::Invalid(
                missing,
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators() {
        assert!(twilio_account_sid("AC0123456789abcdef0123456789abcdef").is_ok());
        assert!(twilio_account_sid("AC0123").is_err());
        assert!(twilio_account_sid("MG0123456789abcdef0123456789abcdef").is_err());
        assert!(aws_region("us-east-1").is_ok());
        assert!(aws_region("us-gov-west-1").is_ok());
        assert!(aws_region("US-EAST-1").is_err());
        assert!(aws_region("mars").is_err());
        assert!(sender_id("HOOKHUB").is_ok());
        assert!(sender_id("12345").is_err());
        assert!(sender_id("WAYTOOLONGSENDER").is_err());
        assert!(vonage_from("+15551234567").is_ok());
        assert!(graph_version("v21.0").is_ok());
        assert!(graph_version("21.0").is_err());
        assert!(https_url("https://n8n.example.com/webhook/x").is_ok());
        assert!(https_url("https://user:pw@n8n.example.com/").is_err());
        assert!(https_url("ftp://x").is_err());
    }

    #[test]
    fn masked_view_has_no_ciphertext() {
        let mut r = IntegrationRecord {
            kind: "whatsapp".into(),
            enabled: true,
            ..Default::default()
        };
        r.secrets.insert("accessToken".into(), "hh1.sealed".into());
        r.masks
            .insert("accessToken".into(), "EAATestAcc***456789".into());
        let view = serde_json::to_string(&r.masked_view()).unwrap();
        assert!(view.contains("EAATestAcc***456789"));
        assert!(!view.contains("hh1."));
    }
}
