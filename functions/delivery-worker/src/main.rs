use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, Error, LambdaEvent};

// Current-thread runtime: see `hookhub_shared::bootstrap`.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let (ctx, clients) = hookhub_shared::bootstrap().await?;
    let ctx = ctx.with_mailer(&clients);
    let processor = Arc::new(delivery_worker::processor(&ctx));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let processor = processor.clone();
        async move { Ok::<SqsBatchResponse, Error>(processor.process(event.payload).await) }
    }))
    .await
}
