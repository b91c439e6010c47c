//! What every function does before it serves: JSON logs, the configuration from the
//! environment, the SDK clients (once per cold start) and the context built on them. Each
//! function's `main` is this, its own router or processor, and the Lambda runtime.
//!
//! The functions run on Tokio's current-thread runtime: Lambda runs one invocation at a time
//! per environment and gives 256 MB a fraction of a vCPU, so worker threads would only add
//! their start-up to every cold start; concurrency inside an invocation (a batch's
//! deliveries, a POST's writes) is async I/O.

use crate::aws::AwsClients;
use crate::config::ConfigError;
use crate::{telemetry, AppContext, Config};

/// Logs, configuration, clients and context; a missing or invalid variable stops the cold
/// start with an error naming it.
pub async fn bootstrap() -> Result<(AppContext, AwsClients), ConfigError> {
    telemetry::init();
    let config = Config::from_env()?;
    let clients = AwsClients::from_env().await;
    Ok((AppContext::new(config, &clients), clients))
}
