// Current-thread runtime: see `hookhub_shared::bootstrap`.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let (ctx, clients) = hookhub_shared::bootstrap().await?;
    // Refuse to start with no way to sign in rather than fail every request.
    if ctx.config.issuer.is_none() {
        ctx.config.jwt_secret()?;
    }
    lambda_http::run(admin_api::router(ctx.with_user_pool(&clients))).await
}
