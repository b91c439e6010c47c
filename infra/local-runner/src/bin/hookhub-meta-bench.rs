//! The Meta ingress load tool: signed WhatsApp POSTs through the local runner's HTTP port
//! (the same router Lambda runs) over a private emulator, closed loop with C requests in
//! flight. Reports requests per second and latency for one-message POSTs and the time of
//! 1,000-message batches, with the baseline measured in the same run: the emulator's own
//! conditional PutItem + SendMessageBatch pair at the same concurrency, which is the floor
//! of what one POST must do.
//!
//! `infra/bench.sh meta [--posts N] [--concurrency C] [--batches B]`; not a test.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use hookhub_local::measure::{ms, percentile};
use hookhub_local::provision::{provision, QueueSettings, StackNames};
use hookhub_shared::audit::Actor;
use hookhub_shared::aws::AwsClients;
use hookhub_shared::integrations::IntegrationKind;
use hookhub_shared::signing::body_hmac::sign;
use hookhub_shared::validation::Fields;
use hookhub_shared::{AppContext, Config};
use serde_json::json;
use tokio::sync::Semaphore;

const SECRET: &str = "wa-app-secret-0123456789abcdef";

struct Args {
    posts: usize,
    concurrency: usize,
    batches: usize,
}

fn args() -> Args {
    let mut a = Args {
        posts: 300,
        concurrency: 8,
        batches: 2,
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    for pair in raw.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse().ok()).unwrap_or(0);
        match pair[0].as_str() {
            "--posts" => a.posts = value.max(1),
            "--concurrency" => a.concurrency = value.max(1),
            "--batches" => a.batches = value,
            other => panic!("unknown option {other}"),
        }
    }
    a
}

fn whatsapp(run: &str, messages: usize) -> Vec<u8> {
    let items: Vec<_> = (0..messages)
        .map(|i| {
            json!({"from": "16505551234", "id": format!("wamid.{run}.{i:06}"), "timestamp": "1763800000",
                   "type": "text", "text": {"body": "Hi! Is the blue one still available in size M?"}})
        })
        .collect();
    serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
        "messages": items}}]}]}))
    .unwrap()
}

/// Runs `count` tasks with `concurrency` in flight; answers each one's latency, sorted, and
/// the wall time.
async fn closed_loop<F, Fut>(count: usize, concurrency: usize, task: F) -> (Vec<Duration>, Duration)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let gate = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut handles = Vec::with_capacity(count);
    for i in 0..count {
        let permit = gate.clone().acquire_owned().await.unwrap();
        let fut = task(i);
        handles.push(tokio::spawn(async move {
            let t = Instant::now();
            fut.await;
            drop(permit);
            t.elapsed()
        }));
    }
    let mut latencies = Vec::with_capacity(count);
    for h in handles {
        latencies.push(h.await.unwrap());
    }
    let wall = started.elapsed();
    latencies.sort();
    (latencies, wall)
}

#[tokio::main]
async fn main() {
    let args = args();
    let endpoint = std::env::var("HOOKHUB_BENCH_ENDPOINT")
        .expect("HOOKHUB_BENCH_ENDPOINT: run through infra/bench.sh meta");
    let clients = AwsClients::for_endpoint(&endpoint).await;
    let stack = provision(
        &clients,
        &StackNames::unique("metabench"),
        QueueSettings::default(),
    )
    .await
    .unwrap();
    let mut env: Vec<(&str, String)> = stack.env_vars();
    env.push(("HOOKHUB_LOCAL", "true".into()));
    let config =
        Config::from_lookup(|name| env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))
            .unwrap();
    let ctx = AppContext::new(config, &clients);
    let tenant = ctx
        .tenants()
        .create(
            hookhub_shared::tenants::TenantCreate::read(Fields::new(
                json!({"name": "bench"}).as_object().unwrap().clone(),
            ))
            .unwrap(),
        )
        .await
        .unwrap()
        .id;
    ctx.integrations()
        .put(
            &tenant,
            IntegrationKind::Whatsapp,
            Fields::new(
                json!({"enabled": true, "phoneNumberId": "106540352242922", "accessToken": "EAATestAccessToken123456789",
                       "webhookVerifyToken": "verify-me", "appSecret": SECRET})
                .as_object()
                .unwrap()
                .clone(),
            ),
            &Actor::System,
        )
        .await
        .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/webhooks/meta/{tenant}",
        listener.local_addr().unwrap()
    );
    let router = hookhub_local::app(ctx.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    let http = reqwest::Client::new();

    // Baseline, same run: the emulator's floor for one POST, a conditional PutItem and a
    // SendMessageBatch of one, at the same concurrency.
    let table = stack.table_name.clone();
    let queue_url = stack.queue_url.clone();
    let (base_lat, base_wall) = closed_loop(args.posts, args.concurrency, |i| {
        let clients = clients.clone();
        let (table, queue_url) = (table.clone(), queue_url.clone());
        async move {
            clients
                .dynamodb
                .put_item()
                .table_name(&table)
                .item("pk", AttributeValue::S("BENCH".into()))
                .item("sk", AttributeValue::S(format!("baseline-{i}")))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await
                .unwrap();
            let entry = aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id("0")
                .message_body("{}")
                .build()
                .unwrap();
            clients
                .sqs
                .send_message_batch()
                .queue_url(&queue_url)
                .entries(entry)
                .send()
                .await
                .unwrap();
        }
    })
    .await;

    // Warm the secret cache and the connection pool.
    let warm = whatsapp("warm", 1);
    http.post(&url)
        .header("x-hub-signature-256", sign(SECRET, &warm))
        .body(warm)
        .send()
        .await
        .unwrap();

    let (post_lat, post_wall) = closed_loop(args.posts, args.concurrency, |i| {
        let body = whatsapp(&format!("p{i}"), 1);
        let request = http
            .post(&url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", sign(SECRET, &body))
            .body(body);
        async move {
            let resp = request.send().await.unwrap();
            assert_eq!(
                resp.status(),
                200,
                "{}",
                resp.text().await.unwrap_or_default()
            );
        }
    })
    .await;

    let mut batch_times = Vec::new();
    for b in 0..args.batches {
        let body = whatsapp(&format!("b{b}"), 1000);
        let started = Instant::now();
        let resp = http
            .post(&url)
            .header("x-hub-signature-256", sign(SECRET, &body))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        batch_times.push(started.elapsed());
    }

    let rps = |n: usize, wall: Duration| n as f64 / wall.as_secs_f64();
    println!(
        "\n| measure (concurrency {}, {} POSTs) | value |",
        args.concurrency, args.posts
    );
    println!("|---|---|");
    println!(
        "| one-message POSTs through the runner | {:.1} req/s, p50 {}, p99 {} |",
        rps(args.posts, post_wall),
        ms(percentile(&post_lat, 50.0)),
        ms(percentile(&post_lat, 99.0))
    );
    println!(
        "| baseline: emulator conditional PutItem + SendMessageBatch | {:.1} pairs/s, p50 {}, p99 {} |",
        rps(args.posts, base_wall),
        ms(percentile(&base_lat, 50.0)),
        ms(percentile(&base_lat, 99.0))
    );
    println!(
        "| POST throughput / baseline throughput | {:.2} |",
        rps(args.posts, post_wall) / rps(args.posts, base_wall)
    );
    for (i, t) in batch_times.iter().enumerate() {
        println!(
            "| 1,000-message POST {} | {} ({:.0} items/s) |",
            i + 1,
            ms(*t),
            1000.0 / t.as_secs_f64()
        );
    }
}
