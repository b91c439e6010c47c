//! What every function needs, built once per cold start from configuration and clients.

use std::sync::Arc;

use crate::aws::AwsClients;
use crate::crypto::{CachePolicy, EnvelopeCipher, KmsDataKeys};
use crate::jobs::{JobQueue, SqsJobQueue};
use crate::store::Table;
use crate::Config;

#[derive(Clone)]
pub struct AppContext {
    pub config: Arc<Config>,
    pub table: Table,
    pub queue: Arc<dyn JobQueue>,
    pub cipher: Arc<EnvelopeCipher>,
    /// The outbound HTTP client, pooled across invocations of a warm container.
    pub sender: crate::webhooks::sender::Sender,
    /// The SMS and WhatsApp providers' clients, pooled likewise.
    pub providers: crate::messages::ProviderClients,
    /// Checks people's bearer tokens; keeps the issuer's keys for the container's life.
    pub tokens: Arc<crate::auth::TokenVerifier>,
    /// Where people sign in and are managed: the Cognito user pool, when configured.
    pub identity: Option<Arc<dyn crate::people::identity::IdentityProvider>>,
    /// How failure alerts are emailed: SES from the configured sender, in the worker.
    pub mailer: Option<Arc<dyn crate::alerts::Mailer>>,
}

impl AppContext {
    pub fn new(config: Config, clients: &AwsClients) -> Self {
        let table = Table::new(clients.dynamodb.clone(), &config.table_name);
        let queue = SqsJobQueue::new(
            clients.sqs.clone(),
            &config.delivery_queue_url,
            config.dead_letter_queue_url.clone(),
        );
        let keys = KmsDataKeys::new(clients.kms.clone(), &config.kms_key_id);
        let policy = crate::webhooks::target::TargetPolicy::from_config(&config);
        let http = crate::messages::providers::provider_http_client();
        let issuer = config
            .issuer
            .clone()
            .map(|issuer| crate::auth::oidc::OidcVerifier::new(issuer, http.clone()));
        let tokens =
            crate::auth::TokenVerifier::new(config.jwt_secret().ok().map(str::to_string), issuer);
        Self {
            identity: None,
            mailer: None,
            tokens: Arc::new(tokens),
            table,
            queue: Arc::new(queue),
            sender: crate::webhooks::sender::Sender::new(policy),
            providers: crate::messages::ProviderClients::new(
                http,
                config.provider_urls.clone(),
                clients.sns.clone(),
            ),
            cipher: Arc::new(EnvelopeCipher::new(Arc::new(keys), CachePolicy::default())),
            config: Arc::new(config),
        }
    }
}

impl AppContext {
    /// The admin API's context: people sign in to the configured Cognito user pool. Only
    /// the admin API calls this, so the other functions' binaries do not carry Cognito.
    pub fn with_user_pool(mut self, clients: &AwsClients) -> Self {
        if let (Some(pool), Some(issuer)) = (&self.config.user_pool_id, &self.config.issuer) {
            let cognito = crate::people::cognito::CognitoIdentity::new(
                clients.cognito.clone(),
                pool,
                &issuer.client_id,
            );
            self.identity = Some(Arc::new(cognito));
        }
        self
    }

    /// The worker's context: failure alerts go out through SES from the configured sender.
    /// Only the worker sends them, so the other functions' binaries do not carry SES.
    pub fn with_mailer(mut self, clients: &AwsClients) -> Self {
        if let Some(sender) = &self.config.alert_sender {
            self.mailer = Some(Arc::new(crate::alerts::ses::SesMailer::new(
                clients.ses(),
                sender,
            )));
        }
        self
    }

    pub fn failure_alerts(&self) -> crate::alerts::FailureAlerts {
        crate::alerts::FailureAlerts::new(
            self.table.clone(),
            self.endpoints(),
            self.delivery_log(),
            self.mailer.clone(),
            self.config.console_url.clone(),
        )
    }

    pub fn tenants(&self) -> crate::tenants::TenantService {
        crate::tenants::TenantService::new(self.table.clone())
    }

    pub fn integrations(&self) -> crate::integrations::IntegrationService {
        crate::integrations::IntegrationService::new(self.table.clone(), self.cipher.clone())
    }

    pub fn api_keys(&self) -> crate::api_keys::ApiKeyService {
        crate::api_keys::ApiKeyService::new(self.table.clone())
    }

    pub fn rate_limiter(&self) -> crate::api_keys::RateLimiter {
        crate::api_keys::RateLimiter::new(self.table.clone())
    }

    pub fn audit(&self) -> crate::audit::AuditLog {
        crate::audit::AuditLog::new(self.table.clone())
    }

    pub fn people(&self) -> crate::people::PeopleService {
        crate::people::PeopleService::new(self.table.clone(), self.identity.clone())
    }

    pub fn sign_in(&self) -> crate::people::sign_in::SignInService {
        crate::people::sign_in::SignInService::new(
            self.identity.clone(),
            crate::people::throttle::SignInThrottle::new(self.table.clone()),
            self.people(),
            self.tokens.clone(),
        )
    }
}

impl AppContext {
    pub fn target_policy(&self) -> crate::webhooks::target::TargetPolicy {
        crate::webhooks::target::TargetPolicy::from_config(&self.config)
    }

    pub fn endpoints(&self) -> crate::webhooks::endpoint::EndpointService {
        crate::webhooks::endpoint::EndpointService::new(
            self.table.clone(),
            self.cipher.clone(),
            self.target_policy(),
        )
        .with_quota_defaults(self.config.quotas)
    }

    pub fn events(&self) -> crate::webhooks::events::EventService {
        crate::webhooks::events::EventService::new(
            self.table.clone(),
            self.queue.clone(),
            self.endpoints(),
            self.config.log_retention,
        )
        .with_quota_defaults(self.config.quotas)
    }

    pub fn delivery_log(&self) -> crate::webhooks::logs::DeliveryLog {
        crate::webhooks::logs::DeliveryLog::new(self.table.clone(), self.config.log_retention)
    }

    pub fn workflow_calls(&self) -> crate::webhooks::workflow_calls::WorkflowCallService {
        crate::webhooks::workflow_calls::WorkflowCallService::new(self.events(), self.delivery())
    }

    /// "Test connection" for the tenant's n8n instance.
    pub async fn n8n_connection(
        &self,
        tenant_id: &str,
    ) -> crate::error::ServiceResult<crate::webhooks::n8n::N8nHealth> {
        crate::webhooks::n8n::check_connection(&self.integrations(), &self.sender, tenant_id).await
    }

    /// "Test connection" for the tenant's WhatsApp or Instagram integration: its token
    /// against the Graph API.
    pub async fn graph_connection(
        &self,
        tenant_id: &str,
        kind: crate::integrations::IntegrationKind,
    ) -> crate::error::ServiceResult<crate::meta::graph::GraphHealth> {
        crate::meta::graph::check_integration(
            &self.integrations(),
            &self.providers,
            tenant_id,
            kind,
        )
        .await
    }

    pub fn history(&self) -> crate::webhooks::history::HistoryService {
        crate::webhooks::history::HistoryService::new(self.events(), self.delivery_log())
    }

    pub fn delivery(&self) -> crate::webhooks::delivery::DeliveryService {
        let delivery = crate::webhooks::delivery::DeliveryService::new(
            self.endpoints(),
            self.delivery_log(),
            self.events(),
            self.sender.clone(),
            self.integrations(),
        );
        match self.config.alert_sender {
            Some(_) => delivery.with_alerts(self.queue.clone()),
            None => delivery,
        }
    }
}

impl AppContext {
    pub fn meta_events(&self) -> crate::meta::MetaEventStore {
        crate::meta::MetaEventStore::new(self.table.clone(), self.config.log_retention)
    }

    pub fn meta_stats(&self) -> crate::meta::MetaStats {
        crate::meta::MetaStats::new(self.table.clone())
    }

    pub fn meta_ingest(&self) -> crate::meta::MetaIngest {
        crate::meta::MetaIngest::new(
            self.table.clone(),
            self.queue.clone(),
            self.integrations(),
            self.meta_events(),
        )
    }

    pub fn meta_processor(&self) -> crate::meta::MetaProcessor {
        crate::meta::MetaProcessor::new(
            self.meta_events(),
            self.events(),
            self.contacts(),
            self.messages(),
            self.meta_stats(),
        )
    }

    pub fn meta_monitoring(&self) -> crate::meta::MetaMonitoring {
        crate::meta::MetaMonitoring::new(
            self.table.clone(),
            self.queue.clone(),
            self.integrations(),
            self.meta_events(),
        )
        .with_graph(self.graph_health(), self.meta_subscriptions())
    }

    pub fn meta_test_suites(&self) -> crate::meta::TestSuites {
        crate::meta::TestSuites::new(self.table.clone(), self.meta_ingest())
    }

    pub fn meta_subscriptions(&self) -> crate::meta::subscriptions::MetaSubscriptions {
        crate::meta::subscriptions::MetaSubscriptions::new(
            self.table.clone(),
            self.integrations(),
            self.providers.clone(),
        )
    }

    pub fn graph_health(&self) -> crate::meta::graph_health::GraphHealthChecks {
        crate::meta::graph_health::GraphHealthChecks::new(
            self.table.clone(),
            self.integrations(),
            self.providers.clone(),
        )
    }

    pub fn meta_sweep(&self) -> crate::meta::MetaSweep {
        crate::meta::MetaSweep::new(self.tenants(), self.meta_events(), self.queue.clone())
    }

    pub fn contacts(&self) -> crate::contacts::ContactBook {
        crate::contacts::ContactBook::new(self.table.clone())
    }

    pub fn contact_exporter(&self) -> crate::exports::ContactExporter {
        crate::exports::ContactExporter::new(
            self.contacts(),
            self.meta_events(),
            self.export_audit(),
        )
    }

    pub fn erasures(&self) -> crate::erasure::ErasureService {
        crate::erasure::ErasureService::new(
            self.table.clone(),
            self.queue.clone(),
            self.meta_events(),
            self.events(),
            self.delivery_log(),
            self.messages(),
        )
    }

    pub fn export_audit(&self) -> crate::exports::ExportAudit {
        crate::exports::ExportAudit::new(self.table.clone())
    }

    pub fn messages(&self) -> crate::messages::MessageLog {
        crate::messages::MessageLog::new(self.table.clone())
    }

    pub fn message_service(&self) -> crate::messages::MessageService {
        crate::messages::MessageService::new(
            self.messages(),
            self.table.clone(),
            self.queue.clone(),
            self.integrations(),
            self.providers.clone(),
            self.events(),
        )
    }
}
