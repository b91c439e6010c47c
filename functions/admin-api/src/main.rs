use hookhub_shared::aws::AwsClients;
use hookhub_shared::{telemetry, AppContext, Config};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    // Refuse to start without a JWT secret rather than fail every request.
    config.jwt_secret()?;
    let ctx = AppContext::new(config, &AwsClients::from_env().await);
    lambda_http::run(admin_api::router(ctx)).await
}
