//! The cold-start benchmark: each function's release binary started as Lambda starts it
//! (fresh process, Lambda's environment, a Runtime API to talk to), timed to its first
//! `invocation/next` and to its first response, beside the `coldstart-hello` baseline built
//! with the same profile in the same run, and the `coldstart-sdk` floor (the hello-world plus
//! the AWS SDK clients every function builds) to show how much of the difference is the
//! SDK's and how much hookhub's own. Runs are interleaved so that machine noise falls
//! on every binary alike. Also reports the binary sizes (the release profile strips symbols)
//! and peak RSS after the first event.
//!
//! `infra/bench.sh coldstart [--runs N] [--standard-chain] [--compare DIR]`; not a test.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hookhub_local::measure::percentile;
use hookhub_local::runtime_api::{cold_start, ColdStart, Launch};

/// The targets of the benchmark issue.
const MAX_RATIO: f64 = 1.3;
const MAX_BYTES: u64 = 15 * 1024 * 1024;

fn lambda_env(name: &str) -> HashMap<String, String> {
    let fixed = [
        ("AWS_LAMBDA_FUNCTION_NAME", name),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/coldstart"),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/23/[$LATEST]coldstart",
        ),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_LEVEL", "info"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        ("AWS_SESSION_TOKEN", "coldstart-session-token"),
        ("LAMBDA_TASK_ROOT", "/var/task"),
        ("TZ", ":UTC"),
        // What template.yaml gives every function.
        ("HOOKHUB_TABLE", "hookhub"),
        (
            "HOOKHUB_DELIVERY_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/hookhub-delivery",
        ),
        (
            "HOOKHUB_DEAD_LETTER_QUEUE_URL",
            "https://sqs.us-east-1.amazonaws.com/123456789012/hookhub-delivery-dlq",
        ),
        (
            "HOOKHUB_KMS_KEY_ID",
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ),
        ("HOOKHUB_LOG_RETENTION_DAYS", "90"),
        (
            "HOOKHUB_JWT_SECRET",
            "coldstart-jwt-secret-of-forty-characters!",
        ),
    ];
    // The admin API signs people in to the stack's user pool: its token verifier and identity
    // provider are part of its start (a build from before sign-in ignores these).
    let admin_api = [
        ("HOOKHUB_COGNITO_USER_POOL_ID", "us-east-1_Ab12Cd34E"),
        ("HOOKHUB_COGNITO_CLIENT_ID", "1h2k3j4l5m6n7o8p9q0r1s2t3u"),
    ];
    fixed
        .iter()
        .chain(admin_api.iter().filter(|_| name == "admin-api"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Events whose handling needs no AWS call, so the first response measures the function's
/// own warm-up, not the network.
fn event(name: &str) -> Vec<u8> {
    match name {
        "admin-api" => {
            include_bytes!("../../../../functions/admin-api/events/openapi.json").to_vec()
        }
        // A malformed tenant id is answered 404 before any lookup.
        "meta-ingress" => include_str!("../../../../functions/meta-ingress/events/verify.json")
            .replace("ten_01JDQ7Y3ZK5V8X9W2M4N6P8R0T", "not-a-tenant")
            .into_bytes(),
        "delivery-worker" => br#"{"Records":[]}"#.to_vec(),
        _ => br#"{"hello":"world"}"#.to_vec(),
    }
}

/// What to measure: `--runs N`, `--dir DIR`, and `--standard-chain`, which also starts
/// each function without the role's key variable, so that it builds its SDK configuration
/// through aws-config's standard provider chain instead of from the Lambda variables (the
/// cost of that chain, measured in the same run). `--compare DIR` also starts the five
/// binaries of another directory (a copy of a build before a change, or another target), so
/// a change is judged against its own before in one interleaved run.
struct Options {
    runs: usize,
    dir: PathBuf,
    standard_chain: bool,
    compare: Option<PathBuf>,
}

fn args() -> Options {
    let mut options = Options {
        runs: 30,
        dir: PathBuf::from("target/release"),
        standard_chain: false,
        compare: None,
    };
    let mut raw = std::env::args().skip(1);
    while let Some(flag) = raw.next() {
        match flag.as_str() {
            "--runs" => {
                let value = raw.next().unwrap_or_default();
                options.runs = value.parse().unwrap_or(options.runs).max(3);
            }
            "--dir" => options.dir = PathBuf::from(raw.next().unwrap_or_default()),
            "--standard-chain" => options.standard_chain = true,
            "--compare" => options.compare = raw.next().map(PathBuf::from),
            other => panic!(
                "unknown option {other} (use --runs N, --dir DIR, --standard-chain, --compare DIR)"
            ),
        }
    }
    options
}

const STANDARD_CHAIN: &str = " (standard chain)";

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Summary {
    name: String,
    bytes: u64,
    next_p50: Duration,
    next_p90: Duration,
    next_min: Duration,
    response_p50: Duration,
    rss_kib: u64,
}

fn summarise(name: &str, binary: &Path, samples: &[ColdStart]) -> Summary {
    let mut next: Vec<_> = samples.iter().map(|s| s.first_next).collect();
    let mut response: Vec<_> = samples.iter().map(|s| s.first_response).collect();
    next.sort();
    response.sort();
    Summary {
        name: name.into(),
        bytes: std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0),
        next_p50: percentile(&next, 50.0),
        next_p90: percentile(&next, 90.0),
        next_min: next[0],
        response_p50: percentile(&response, 50.0),
        rss_kib: samples
            .iter()
            .filter_map(|s| s.peak_rss_kib)
            .max()
            .unwrap_or(0),
    }
}

fn main() {
    let Options {
        runs,
        dir,
        standard_chain,
        compare,
    } = args();
    let names = [
        "coldstart-hello",
        "coldstart-sdk",
        "admin-api",
        "meta-ingress",
        "delivery-worker",
    ];
    let mut launches: Vec<Launch> = names
        .iter()
        .map(|name| Launch {
            name: name.to_string(),
            binary: dir.join(name),
            env: lambda_env(name),
            event: event(name),
            timeout: Duration::from_secs(10),
        })
        .collect();
    if standard_chain {
        for name in &names[2..] {
            let mut env = lambda_env(name);
            env.remove("AWS_ACCESS_KEY_ID");
            launches.push(Launch {
                name: format!("{name}{STANDARD_CHAIN}"),
                binary: dir.join(name),
                env,
                event: event(name),
                timeout: Duration::from_secs(10),
            });
        }
    }
    if let Some(other) = &compare {
        for name in &names {
            launches.push(Launch {
                name: format!("{name} ({})", other.display()),
                binary: other.join(name),
                env: lambda_env(name),
                event: event(name),
                timeout: Duration::from_secs(10),
            });
        }
    }
    let mut samples: Vec<Vec<ColdStart>> = vec![Vec::new(); launches.len()];
    // One untimed start each, so every binary is in the page cache before timing begins.
    for launch in &launches {
        if let Err(e) = cold_start(launch) {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
    for run in 0..runs {
        // Rotate the order so no binary always goes first after a pause.
        for i in 0..launches.len() {
            let at = (i + run) % launches.len();
            match cold_start(&launches[at]) {
                Ok(sample) => samples[at].push(sample),
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            }
        }
    }
    let summaries: Vec<Summary> = launches
        .iter()
        .zip(&samples)
        .map(|(l, s)| summarise(&l.name, &l.binary, s))
        .collect();
    let baseline = summaries[0].next_p50;

    println!("cold start: {runs} interleaved starts per binary, release profile, Runtime API on loopback");
    println!();
    println!("| binary | size | first `next` p50 | p90 | min | vs hello (p50) | first response p50 | peak RSS |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut met = true;
    for s in &summaries {
        let ratio = ms(s.next_p50) / ms(baseline).max(1e-6);
        // The targets judge this build's functions; the comparisons are for reading.
        if names[2..].contains(&s.name.as_str()) {
            met &= ratio <= MAX_RATIO && s.bytes <= MAX_BYTES;
        }
        println!(
            "| {} | {:.1} MiB | {:.2} ms | {:.2} ms | {:.2} ms | {:.2}x | {:.2} ms | {:.1} MB |",
            s.name,
            s.bytes as f64 / 1_048_576.0,
            ms(s.next_p50),
            ms(s.next_p90),
            ms(s.next_min),
            ratio,
            ms(s.response_p50),
            s.rss_kib as f64 / 1024.0,
        );
    }
    println!();
    println!(
        "targets: each function's first `next` within {MAX_RATIO}x the hello-world's, binaries at most {} MiB: {}",
        MAX_BYTES / 1_048_576,
        if met { "met" } else { "NOT met" }
    );
}
