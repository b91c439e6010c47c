use hookhub_shared::aws::AwsClients;
use hookhub_shared::{telemetry, AppContext, Config};

// One thread: Lambda runs one invocation at a time per environment and gives 256 MB a
// fraction of a vCPU, so worker threads would only add their start-up to every cold start;
// concurrency inside an invocation (a batch's deliveries, a POST's writes) is async I/O.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let config = Config::from_env()?;
    // Refuse to start with no way to sign in rather than fail every request.
    if config.issuer.is_none() {
        config.jwt_secret()?;
    }
    let clients = AwsClients::from_env().await;
    let ctx = AppContext::new(config, &clients).with_user_pool(&clients);
    lambda_http::run(admin_api::router(ctx)).await
}
