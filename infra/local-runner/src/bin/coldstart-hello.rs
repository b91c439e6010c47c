//! The baseline of `infra/bench.sh coldstart`: a `lambda_runtime` function that echoes its
//! event, built with the same release profile as the three functions, so the comparison
//! isolates what our own start-up (configuration, SDK clients, routers) costs.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
