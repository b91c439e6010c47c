use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use hookhub_shared::aws::AwsClients;
use hookhub_shared::{telemetry, AppContext, Config};
use lambda_runtime::{service_fn, Error, LambdaEvent};

// One thread: Lambda runs one invocation at a time per environment and gives 256 MB a
// fraction of a vCPU, so worker threads would only add their start-up to every cold start;
// concurrency inside an invocation (a batch's deliveries, a POST's writes) is async I/O.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env()?;
    let ctx = AppContext::new(config, &AwsClients::from_env().await);
    let processor = Arc::new(delivery_worker::processor(&ctx));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let processor = processor.clone();
        async move { Ok::<SqsBatchResponse, Error>(processor.process(event.payload).await) }
    }))
    .await
}
