//! The floor of `infra/bench.sh coldstart`: the hello-world plus the AWS SDK clients every
//! function builds before its first `next` (DynamoDB, SQS, KMS, and the SNS configuration),
//! made by the same code the functions use. What the SDK costs at start, apart from
//! anything of hookhub's own.

use hookhub_shared::aws::AwsClients;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let clients = AwsClients::from_env().await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        // Held by the handler, as the functions hold theirs.
        let _ = &clients;
        async move { Ok::<Value, Error>(event.payload) }
    }))
    .await
}
