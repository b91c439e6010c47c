// Current-thread runtime: see `hookhub_shared::bootstrap`.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let (ctx, _) = hookhub_shared::bootstrap().await?;
    lambda_http::run(meta_ingress::router(ctx)).await
}
