//! Builds the provider for a tenant's channel from its integration, opening the sealed
//! credentials only here, at the moment of sending.

use std::sync::Arc;

use aws_config::Region;

use super::content::Channel;
use super::providers::{
    twilio::TwilioSender, MessageProvider, ProviderUrls, SnsSms, Twilio, Vonage, WhatsappCloud,
};
use crate::error::{ServiceError, ServiceResult};
use crate::integrations::{IntegrationKind, IntegrationRecord, IntegrationService, SmsProvider};

#[derive(Clone)]
pub struct ProviderClients {
    http: reqwest::Client,
    urls: Arc<ProviderUrls>,
    /// Built once per cold start; a tenant's own keys or region derive a client from it.
    /// Shared, not copied: every route of a router holds a clone of these clients, and a
    /// configuration is a map of type-erased layers (≈13 k instructions to clone).
    sns: Arc<aws_sdk_sns::Config>,
}

fn kind_of(channel: Channel) -> IntegrationKind {
    match channel {
        Channel::Sms => IntegrationKind::Sms,
        Channel::Whatsapp => IntegrationKind::Whatsapp,
    }
}

impl ProviderClients {
    pub fn new(http: reqwest::Client, urls: ProviderUrls, sns: aws_sdk_sns::Config) -> Self {
        Self {
            http,
            urls: Arc::new(urls),
            sns: Arc::new(sns),
        }
    }

    /// The pooled client the providers' requests go through.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Where the Graph API is (tests point it at a local server).
    pub fn graph_base_url(&self) -> &str {
        &self.urls.graph
    }

    /// The tenant's integration for `channel` if it can send, with the provider's name;
    /// otherwise why not, for a 409 (nothing is decrypted here).
    pub async fn check(
        &self,
        integrations: &IntegrationService,
        tenant_id: &str,
        channel: Channel,
    ) -> ServiceResult<(IntegrationRecord, &'static str)> {
        let kind = kind_of(channel);
        let how_to_fix = format!(
            "a platform admin configures it with PUT /api/platform/tenants/{tenant_id}/integrations/{}",
            kind.as_str()
        );
        let Some(record) = integrations.get(tenant_id, kind).await? else {
            return Err(ServiceError::FailedPrecondition(format!(
                "the tenant has no {} integration; {how_to_fix}",
                kind.as_str()
            )));
        };
        if record.tenant_suspended {
            return Err(ServiceError::TenantSuspended);
        }
        if !record.enabled {
            return Err(ServiceError::FailedPrecondition(format!(
                "the tenant's {} integration is disabled; {how_to_fix}",
                kind.as_str()
            )));
        }
        let missing = record.missing_requirements();
        if !missing.is_empty() {
            return Err(ServiceError::FailedPrecondition(format!(
                "the tenant's {} integration lacks {}; {how_to_fix}",
                kind.as_str(),
                missing.join(", ")
            )));
        }
        let provider = match (channel, record.sms_provider()) {
            (Channel::Whatsapp, _) => "whatsapp",
            (Channel::Sms, Some(p)) => p.as_str(),
            (Channel::Sms, None) => {
                return Err(ServiceError::FailedPrecondition(format!(
                    "the tenant's sms integration has no provider; {how_to_fix}"
                )))
            }
        };
        Ok((record, provider))
    }

    /// The provider, ready to send with the tenant's credentials.
    pub async fn provider(
        &self,
        integrations: &IntegrationService,
        tenant_id: &str,
        channel: Channel,
    ) -> ServiceResult<Box<dyn MessageProvider>> {
        let (record, _) = self.check(integrations, tenant_id, channel).await?;
        let kind = kind_of(channel);
        let secret = |name: &'static str| {
            let record = &record;
            async move {
                integrations
                    .open_secret(tenant_id, kind, record, name)
                    .await?
                    .ok_or_else(|| {
                        ServiceError::FailedPrecondition(format!(
                            "the tenant's {} integration lacks {name}",
                            kind.as_str()
                        ))
                    })
            }
        };
        let field = |name: &str| record.field(name).map(str::to_string);
        let provider: Box<dyn MessageProvider> = match (channel, record.sms_provider()) {
            (Channel::Whatsapp, _) => Box::new(WhatsappCloud {
                http: self.http.clone(),
                base_url: self.urls.graph.clone(),
                version: field("apiVersion")
                    .unwrap_or_else(|| super::providers::whatsapp::DEFAULT_GRAPH_VERSION.into()),
                phone_number_id: field("phoneNumberId").unwrap_or_default(),
                access_token: secret("accessToken").await?,
            }),
            (Channel::Sms, Some(SmsProvider::Twilio)) => Box::new(Twilio {
                http: self.http.clone(),
                base_url: self.urls.twilio.clone(),
                account_sid: field("accountSid").unwrap_or_default(),
                auth_token: secret("authToken").await?,
                sender: match (field("messagingServiceSid"), field("phoneNumber")) {
                    (Some(service), _) => TwilioSender::MessagingService(service),
                    (None, number) => TwilioSender::From(number.unwrap_or_default()),
                },
            }),
            (Channel::Sms, Some(SmsProvider::Vonage)) => Box::new(Vonage {
                http: self.http.clone(),
                base_url: self.urls.vonage.clone(),
                api_key: field("apiKey").unwrap_or_default(),
                api_secret: secret("apiSecret").await?,
                from: field("from").unwrap_or_default(),
            }),
            (Channel::Sms, Some(SmsProvider::Sns)) => {
                let mut config = self.sns.to_builder();
                if let Some(region) = field("region") {
                    config = config.region(Region::new(region));
                }
                if let Some(access_key_id) = field("accessKeyId") {
                    let secret_key = secret("secretAccessKey").await?;
                    config = config.credentials_provider(aws_sdk_sns::config::Credentials::new(
                        access_key_id,
                        secret_key.as_str(),
                        None,
                        None,
                        "hookhub-tenant-integration",
                    ));
                }
                Box::new(SnsSms {
                    client: aws_sdk_sns::Client::from_conf(config.build()),
                    sms_type: field("smsType")
                        .unwrap_or_else(|| super::providers::sns::DEFAULT_SMS_TYPE.into()),
                    sender_id: field("senderId"),
                    origination_number: field("phoneNumber"),
                })
            }
            (Channel::Sms, None) => {
                return Err(ServiceError::FailedPrecondition(
                    "the tenant's sms integration has no provider".into(),
                ))
            }
        };
        Ok(provider)
    }
}
