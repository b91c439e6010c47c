//! The delivery load tool: publishes N events to M local receivers through the local stack
//! (the admin API in this process, the worker as its own `hookhub-local worker` process over
//! the emulator's queue) and reports deliveries per second, publish-to-delivery latency, the
//! worker's peak memory, and, as the baseline measured in the same run, the emulator's bare
//! SQS send + receive + delete round trip: back to back before the load, and sampled on a
//! queue of its own while the load runs, midway between two publishes so that it neither
//! slows a delivery nor is slowed by one.
//!
//! `infra/bench.sh [--events N] [--receivers M] [--pollers P] [--rate EVENTS_PER_SEC]` starts a private emulator and
//! runs this; it is not a test and asserts nothing.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::post;
use hookhub_local::measure::{ms, percentile};
use hookhub_local::provision::{provision, QueueSettings, StackNames};
use hookhub_shared::auth::{mint_for, Role};
use hookhub_shared::aws::AwsClients;
use hookhub_shared::{AppContext, Config};
use serde_json::{json, Value};

type Arrivals = Arc<Mutex<HashMap<(String, usize), Instant>>>;

struct Args {
    events: usize,
    receivers: usize,
    pollers: usize,
    /// Events published per second (open loop): latency is measured at a given load, and
    /// the emulator's queue, whose receive slows with depth, is not flooded.
    rate: f64,
}

fn args() -> Args {
    let mut a = Args {
        events: 100,
        receivers: 10,
        pollers: 4,
        rate: 2.0,
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    for pair in raw.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse().ok()).unwrap_or(0);
        match pair[0].as_str() {
            "--rate" => {
                a.rate = pair
                    .get(1)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(2.0_f64)
                    .max(0.1)
            }
            "--events" => a.events = value.max(1),
            "--receivers" => a.receivers = value.max(1),
            "--pollers" => a.pollers = value.max(1),
            other => panic!("unknown option {other}"),
        }
    }
    a
}

/// A queue of the baseline's own, so its round trips never meet the delivery jobs.
async fn probe_queue(clients: &AwsClients) -> String {
    let name = format!(
        "bench-rtt-{}",
        hookhub_shared::ids::new_id(hookhub_shared::ids::IdKind::Request).to_lowercase()
    );
    clients
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

/// The emulator's own SQS round trip: send, receive, delete.
async fn round_trip(sqs: &aws_sdk_sqs::Client, url: &str) -> Duration {
    let started = Instant::now();
    sqs.send_message()
        .queue_url(url)
        .message_body("x")
        .send()
        .await
        .unwrap();
    let got = sqs
        .receive_message()
        .queue_url(url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    for m in got.messages() {
        sqs.delete_message()
            .queue_url(url)
            .receipt_handle(m.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
    }
    started.elapsed()
}

/// `rounds` round trips back to back on an otherwise idle emulator, sorted.
async fn idle_round_trips(clients: &AwsClients, rounds: usize) -> Vec<Duration> {
    let url = probe_queue(clients).await;
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        out.push(round_trip(&clients.sqs, &url).await);
    }
    out.sort();
    out
}

/// Round trips while the run goes on, until `stop`, each midway between two publishes
/// (every publish interval, or every few when they come faster than 4 a second): the
/// baseline on the same machine at the same time. The emulator is one Python process that
/// serves one request at a time, so a round trip that overlapped a publish would slow both;
/// at the midpoint the publish before has been delivered. Sorted.
fn round_trips_between_publishes(
    clients: &AwsClients,
    started: Instant,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Vec<Duration>> {
    let sqs = clients.sqs.clone();
    let clients = clients.clone();
    let every = interval
        * (Duration::from_millis(250).as_nanos() / interval.as_nanos().max(1)).max(1) as u32;
    tokio::spawn(async move {
        let url = probe_queue(&clients).await;
        let mut out = Vec::new();
        let mut next = started + interval / 2;
        while !*stop.borrow() {
            tokio::select! {
                _ = tokio::time::sleep_until(next.into()) => {}
                _ = stop.changed() => break,
            }
            out.push(round_trip(&sqs, &url).await);
            next += every;
        }
        out.sort();
        out
    })
}

async fn receive(
    State(arrivals): State<Arrivals>,
    Path(index): Path<usize>,
    headers: HeaderMap,
) -> &'static str {
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    arrivals
        .lock()
        .unwrap()
        .entry((id, index))
        .or_insert_with(Instant::now);
    "ok"
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

#[tokio::main]
async fn main() {
    let args = args();
    let endpoint = std::env::var("HOOKHUB_BENCH_ENDPOINT")
        .expect("HOOKHUB_BENCH_ENDPOINT: run through infra/bench.sh");
    let clients = AwsClients::for_endpoint(&endpoint).await;
    let stack = provision(
        &clients,
        &StackNames::unique("bench"),
        QueueSettings::default(),
    )
    .await
    .unwrap();

    let baseline = idle_round_trips(&clients, 100).await;

    // Receivers: one server, one path per endpoint.
    let arrivals: Arrivals = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_addr = listener.local_addr().unwrap();
    let receiver = axum::Router::new()
        .route("/hook/{index}", post(receive))
        .with_state(arrivals.clone());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });

    // The admin API, as API Gateway would run it.
    let mut env: Vec<(&str, String)> = stack.env_vars();
    env.push(("HOOKHUB_LOCAL", "true".into()));
    env.push(("HOOKHUB_ALLOW_PRIVATE_TARGETS", "true".into()));
    let config =
        Config::from_lookup(|name| env.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()))
            .unwrap();
    let token = mint_for(
        config.jwt_secret().unwrap(),
        "bench",
        Role::PlatformAdmin,
        None,
        1,
    );
    let ctx = AppContext::new(config, &clients);
    let api_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", api_listener.local_addr().unwrap());
    let router = hookhub_local::app(ctx);
    tokio::spawn(async move {
        axum::serve(
            api_listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });

    // The worker in its own process.
    let runner = std::env::current_exe()
        .unwrap()
        .with_file_name("hookhub-local");
    let mut worker = tokio::process::Command::new(&runner)
        .arg("worker")
        .envs(env.iter().map(|(k, v)| (k.to_string(), v.clone())))
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("HOOKHUB_POLLERS", args.pollers.to_string())
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", runner.display()));
    let worker_pid = worker.id().unwrap();

    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: String, tenant: Option<String>, body: Value| {
        let mut req = http
            .request(method, format!("{api}{path}"))
            .bearer_auth(&token)
            .json(&body);
        if let Some(t) = tenant {
            req = req.header("x-tenant-id", t);
        }
        req.send()
    };
    let tenant: Value = call(
        reqwest::Method::POST,
        "/api/platform/tenants".into(),
        None,
        json!({"name": "bench"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let tenant = tenant["id"].as_str().unwrap().to_string();
    for i in 0..args.receivers {
        let r = call(
            reqwest::Method::POST,
            "/api/v1/webhooks".into(),
            Some(tenant.clone()),
            json!({"name": format!("r{i}"), "url": format!("http://{receiver_addr}/hook/{i}"), "events": ["*"]}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 201);
    }

    let publish = |n: usize| {
        let call = &call;
        let tenant = tenant.clone();
        async move {
            let started = Instant::now();
            let r: Value = call(
                reqwest::Method::POST,
                "/api/v1/events".into(),
                Some(tenant),
                json!({"type": "message.received", "data": {"n": n}}),
            )
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
            (
                r["id"].as_str().unwrap().to_string(),
                (started, Instant::now()),
            )
        }
    };
    let wait_for = |count: usize, within: Duration| {
        let arrivals = arrivals.clone();
        async move {
            let deadline = Instant::now() + within;
            while arrivals.lock().unwrap().len() < count && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            arrivals.lock().unwrap().len()
        }
    };

    // Warm up the worker's pools and caches, then measure from a clean slate.
    for n in 0..5 {
        publish(n).await;
    }
    wait_for(5 * args.receivers, Duration::from_secs(60)).await;
    arrivals.lock().unwrap().clear();

    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let started = Instant::now() + Duration::from_millis(50);
    let (stop_probe, probe_stopped) = tokio::sync::watch::channel(false);
    let probe = round_trips_between_publishes(&clients, started, interval, probe_stopped);
    let mut published = HashMap::new();
    let mut pending = futures::stream::FuturesUnordered::new();
    use futures::StreamExt;
    for n in 0..args.events {
        let due = started + interval.mul_f64(n as f64);
        // Keep to the schedule; collect finished publishes while waiting.
        loop {
            let now = Instant::now();
            if now >= due {
                break;
            }
            tokio::select! {
                Some((id, at)) = pending.next(), if !pending.is_empty() => { published.insert(id, at); }
                _ = tokio::time::sleep(due - now) => {}
            }
        }
        pending.push(publish(n));
    }
    while let Some((id, at)) = pending.next().await {
        published.insert(id, at);
    }
    let publish_elapsed = started.elapsed();
    let expected = args.events * args.receivers;
    let got = wait_for(expected, Duration::from_secs(300)).await;
    let _ = stop_probe.send(true);
    let loaded = probe.await.unwrap();
    let rss = peak_rss_kib(worker_pid);
    let _ = worker.kill().await;

    let arrivals = arrivals.lock().unwrap().clone();
    let last = arrivals.values().max().copied().unwrap_or(started);
    let mut latencies: Vec<Duration> = arrivals
        .iter()
        .filter_map(|((id, _), at)| {
            published
                .get(id)
                .map(|(p, _)| at.saturating_duration_since(*p))
        })
        .collect();
    latencies.sort();
    // The two legs: the publish call (API, event stored, fan-out enqueued) and from its
    // answer to the receiver (queue, worker, endpoint read, the HTTP request).
    let mut publish_calls: Vec<Duration> = published
        .values()
        .map(|(p, answered)| answered.saturating_duration_since(*p))
        .collect();
    publish_calls.sort();
    let mut after_publish: Vec<Duration> = arrivals
        .iter()
        .filter_map(|((id, _), at)| {
            published
                .get(id)
                .map(|(_, answered)| at.saturating_duration_since(*answered))
        })
        .collect();
    after_publish.sort();
    let total = last.saturating_duration_since(started);
    let p99 = percentile(&latencies, 99.0);
    let base_p99 = percentile(&baseline, 99.0);

    println!("## hookhub delivery benchmark\n");
    println!("events {} x receivers {} = {} deliveries ({} arrived), worker pollers {}, publish rate {}/s", args.events, args.receivers, expected, got, args.pollers, args.rate);
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| offered load | {:.1} events/s = {:.0} deliveries/s, for {:.0} s |",
        args.rate,
        args.rate * args.receivers as f64,
        publish_elapsed.as_secs_f64()
    );
    println!(
        "| delivery throughput | {:.0} deliveries/s |",
        got as f64 / total.as_secs_f64()
    );
    println!(
        "| publish-to-delivery p50 | {} |",
        ms(percentile(&latencies, 50.0))
    );
    println!("| publish-to-delivery p99 | {} |", ms(p99));
    println!(
        "| of which the publish call p50 / p99 | {} / {} |",
        ms(percentile(&publish_calls, 50.0)),
        ms(percentile(&publish_calls, 99.0))
    );
    println!(
        "| of which publish answered to delivered p50 / p99 | {} / {} |",
        ms(percentile(&after_publish, 50.0)),
        ms(percentile(&after_publish, 99.0))
    );
    println!(
        "| emulator SQS send+receive+delete p50 (baseline) | {} |",
        ms(percentile(&baseline, 50.0))
    );
    println!(
        "| emulator SQS send+receive+delete p99 (baseline) | {} |",
        ms(base_p99)
    );
    println!(
        "| p99 / baseline p99 | {:.2}x |",
        p99.as_secs_f64() / base_p99.as_secs_f64().max(1e-9)
    );
    let loaded_p99 = percentile(&loaded, 99.0);
    println!(
        "| the same round trip during the run, midway between publishes: p50 / p99 ({} samples) | {} / {} |",
        loaded.len(),
        ms(percentile(&loaded, 50.0)),
        ms(loaded_p99)
    );
    println!(
        "| p99 / that baseline's p99 | {:.2}x |",
        p99.as_secs_f64() / loaded_p99.as_secs_f64().max(1e-9)
    );
    match rss {
        Some(kib) => println!(
            "| worker peak RSS (VmHWM) | {:.1} MB |",
            kib as f64 / 1024.0
        ),
        None => println!("| worker peak RSS | unavailable |"),
    }
}
