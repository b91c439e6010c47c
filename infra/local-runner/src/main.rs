//! `hookhub-local [dev|serve|provision|token]`
//!
//! - `dev` (default): provision the development stack on the emulator (its user pool and a
//!   first platform admin with a fresh password included), then `serve` it.
//! - `serve`: run the admin API and Meta ingress on 127.0.0.1:$HOOKHUB_PORT (3000) and poll
//!   the delivery queue, with the configuration from the environment.
//! - `worker`: only the delivery worker's pollers ($HOOKHUB_POLLERS, 2), configured from the
//!   environment.
//! - `provision`: create or update the development stack and print its variables.
//! - `token --role platform_admin|tenant_admin [--tenant ID] [--hours N]`: mint a development
//!   JWT with the configured (or development) secret.
//! - `openapi`: print the admin API's OpenAPI document as generated from the code (`make
//!   openapi` writes it to `functions/admin-api/openapi.json`, which the API serves).

use std::net::SocketAddr;
use std::time::Duration;

use hookhub_local::provision::user_pool::{
    ensure_platform_admin, ensure_user_pool, generate_password, LocalUserPool,
};
use hookhub_local::provision::{
    ensure_sender_identity, provision, wait_until_reachable, ProvisionedStack, QueueSettings,
    StackNames,
};
use hookhub_local::{app, emulator_endpoint, pollers, port, spawn_pollers};
use hookhub_shared::auth::{mint_for, Role};
use hookhub_shared::aws::AwsClients;
use hookhub_shared::{telemetry, AppContext, Config};
use tokio::sync::watch;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() {
    telemetry::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("dev") => dev().await,
        Some("serve") => serve_from_env().await,
        Some("worker") => worker_from_env().await,
        Some("provision") => provision_dev().await.map(|(stack, pool)| {
            for (name, value) in stack.env_vars().into_iter().chain(pool.env_vars()) {
                println!("{name}={value}");
            }
        }),
        Some("token") => token(&args[1..]),
        Some("openapi") => {
            print!("{}", admin_api::openapi::generate::document_text());
            Ok(())
        }
        Some("-h" | "--help" | "help") => {
            println!("usage: hookhub-local [dev|serve|provision|openapi|token --role ROLE [--tenant ID] [--hours N]]");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}; try --help").into()),
    };
    if let Err(e) = result {
        eprintln!("hookhub-local: {e}");
        std::process::exit(1);
    }
}

/// The development stack and its user pool.
async fn provision_dev() -> Result<(ProvisionedStack, LocalUserPool), Error> {
    let endpoint = emulator_endpoint();
    let clients = AwsClients::for_endpoint(&endpoint).await;
    wait_until_reachable(&clients, Duration::from_secs(30)).await?;
    let names = StackNames::development();
    let stack = provision(&clients, &names, QueueSettings::default()).await?;
    let pool = ensure_user_pool(
        &cognito(&clients),
        &format!("{}-people", names.table),
        &endpoint,
    )
    .await?;
    Ok((stack, pool))
}

fn cognito(clients: &AwsClients) -> aws_sdk_cognitoidentityprovider::Client {
    aws_sdk_cognitoidentityprovider::Client::from_conf(clients.cognito.clone())
}

async fn dev() -> Result<(), Error> {
    let (stack, pool) = provision_dev().await?;
    let clients = AwsClients::for_endpoint(&emulator_endpoint()).await;
    // A fresh password at every start: the emulator keeps the user, the terminal shows it.
    let email = std::env::var("HOOKHUB_ADMIN_EMAIL").unwrap_or_else(|_| DEV_ADMIN_EMAIL.into());
    let password = generate_password();
    ensure_platform_admin(&cognito(&clients), &pool, &email, &password).await?;
    let vars: Vec<_> = stack
        .env_vars()
        .into_iter()
        .chain(pool.env_vars())
        .collect();
    let config = Config::from_lookup(|name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
            .or_else(|| dev_default(name))
    })?;
    if let Some(sender) = &config.alert_sender {
        ensure_sender_identity(&clients, sender).await?;
    }
    serve(config, clients, Some((email, password))).await
}

/// What `make dev` runs with unless the environment says otherwise: local mode, and failure
/// alerts sent from a verified address (the emulator keeps the emails; nothing leaves the
/// machine) with links into the local console.
fn dev_default(name: &str) -> Option<String> {
    match name {
        "HOOKHUB_LOCAL" => Some("true".into()),
        "HOOKHUB_ALERT_SENDER" => Some(DEV_ALERT_SENDER.into()),
        "HOOKHUB_CONSOLE_URL" => Some(format!("http://127.0.0.1:{}/console", port())),
        _ => None,
    }
}

/// The first platform admin `make dev` signs in as.
const DEV_ADMIN_EMAIL: &str = "admin@hookhub.example";
/// Where `make dev`'s failure alerts come from.
const DEV_ALERT_SENDER: &str = "alerts@hookhub.example";

async fn serve_from_env() -> Result<(), Error> {
    let config = Config::from_env()?;
    serve(config, clients_from_env().await, None).await
}

async fn clients_from_env() -> AwsClients {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(_) => AwsClients::from_env().await,
        Err(_) => AwsClients::for_endpoint(&emulator_endpoint()).await,
    }
}

/// Only the delivery worker: pollers over the queue, no HTTP. Its own process, so its
/// memory can be measured apart (the load tool does).
async fn worker_from_env() -> Result<(), Error> {
    let config = Config::from_env()?;
    let clients = clients_from_env().await;
    let ctx = AppContext::new(config, &clients).with_mailer(&clients);
    let (stop_tx, stop_rx) = watch::channel(false);
    let tasks = spawn_pollers(&ctx, &clients.sqs, pollers(), stop_rx);
    eprintln!(
        "hookhub worker polling {} with {} pollers",
        ctx.config.delivery_queue_url,
        pollers()
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    Ok(())
}

/// Serves `config`; `first_admin` is the email and password to print for signing in.
async fn serve(
    config: Config,
    clients: AwsClients,
    first_admin: Option<(String, String)>,
) -> Result<(), Error> {
    if !config.local_mode {
        return Err("the local runner needs HOOKHUB_LOCAL=true".into());
    }
    let token = mint_for(
        config.jwt_secret()?,
        "local-admin",
        Role::PlatformAdmin,
        None,
        24,
    );
    let ctx = AppContext::new(config, &clients)
        .with_user_pool(&clients)
        .with_mailer(&clients);

    let addr = SocketAddr::from(([127, 0, 0, 1], port()));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let poller_tasks = spawn_pollers(&ctx, &clients.sqs, pollers(), stop_rx.clone());

    println!("hookhub local runner listening on http://{addr}");
    if let Some((email, password)) = &first_admin {
        println!("platform admin:\n  email:    {email}\n  password: {password}");
        println!("sign in:\n  curl -s -X POST http://{addr}/api/auth/login -H 'content-type: application/json' \\\n    -d '{{\"email\":\"{email}\",\"password\":\"{password}\"}}'");
    }
    println!("platform-admin token for scripts (24 h, shared secret):\n  {token}");
    println!("try:\n  curl -s http://{addr}/api/health");
    println!("  curl -s -H 'Authorization: Bearer {token}' http://{addr}/api/openapi.json");

    let mut http_stop = stop_rx;
    axum::serve(
        listener,
        app(ctx).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = http_stop.changed() => {}
        }
    })
    .await?;
    let _ = stop_tx.send(true);
    for task in poller_tasks {
        let _ = task.await;
    }
    println!("hookhub local runner stopped");
    Ok(())
}

fn token(args: &[String]) -> Result<(), Error> {
    let mut role = None;
    let mut tenant = None;
    let mut hours = 24;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--role" => {
                role = Some(match value.as_str() {
                    "platform_admin" => Role::PlatformAdmin,
                    "tenant_admin" => Role::TenantAdmin,
                    other => return Err(format!("unknown role {other:?}").into()),
                })
            }
            "--tenant" => tenant = Some(value.clone()),
            "--hours" => hours = value.parse().map_err(|_| "--hours takes a whole number")?,
            other => return Err(format!("unknown option {other:?}").into()),
        }
    }
    let role = role.ok_or("--role is required")?;
    if role == Role::TenantAdmin && tenant.is_none() {
        return Err("a tenant_admin token needs --tenant".into());
    }
    let config_secret = std::env::var("HOOKHUB_JWT_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| hookhub_shared::config::DEV_JWT_SECRET.to_string());
    println!(
        "{}",
        mint_for(
            &config_secret,
            "local-admin",
            role,
            tenant.as_deref(),
            hours
        )
    );
    Ok(())
}
