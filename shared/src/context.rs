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
        Self {
            table,
            queue: Arc::new(queue),
            cipher: Arc::new(EnvelopeCipher::new(Arc::new(keys), CachePolicy::default())),
            config: Arc::new(config),
        }
    }
}

impl AppContext {
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
}
