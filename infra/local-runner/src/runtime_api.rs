//! A small server speaking the Lambda Runtime API (2018-06-01), for measuring cold starts:
//! it launches a function's binary as Lambda would, times the process's first
//! `GET /runtime/invocation/next`, hands it one event, and times the response. Only what a
//! cold start exercises is spoken: `next`, `response`, the two `error` routes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const REQUEST_ID: &str = "coldstart-0001";
/// Lambda gives no request head this large; anything bigger is not a runtime client.
const MAX_HEAD: usize = 64 * 1024;

/// A function to launch: its binary, the environment it gets, and the event it is invoked with.
#[derive(Debug, Clone)]
pub struct Launch {
    pub name: String,
    pub binary: PathBuf,
    pub env: HashMap<String, String>,
    pub event: Vec<u8>,
    /// How long to wait for the first `next` and for the response.
    pub timeout: Duration,
}

/// One cold start, timed from just before the process was spawned.
#[derive(Debug, Clone)]
pub struct ColdStart {
    /// Until the function first asked for work: its whole initialisation.
    pub first_next: Duration,
    /// Until it answered the first event.
    pub first_response: Duration,
    /// The answer it posted to `/response`.
    pub response: Vec<u8>,
    /// Peak resident memory after the first invocation (`VmHWM`), when the OS reports it.
    pub peak_rss_kib: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeApiError {
    #[error("could not start {0}: {1}")]
    Spawn(String, std::io::Error),
    #[error("{0}: no {1} within {2:?}")]
    Timeout(String, &'static str, Duration),
    #[error("{name} reported an error to the Runtime API at {route}: {body}")]
    Reported {
        name: String,
        route: String,
        body: String,
    },
    #[error("{0}: unexpected request {1}")]
    Unexpected(String, String),
    #[error("runtime API socket: {0}")]
    Io(#[from] std::io::Error),
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

/// Reads one HTTP/1.1 request; `None` when the client closed the connection.
fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut head = Vec::new();
    loop {
        let before = head.len();
        let n = reader.read_until(b'\n', &mut head)?;
        if n == 0 {
            return Ok(None);
        }
        if head.len() > MAX_HEAD {
            return Err(std::io::Error::other("request head too large"));
        }
        if head[before..] == *b"\r\n" {
            break;
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_string();
    let path = request_line.next().unwrap_or_default().to_string();
    let length = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some(Request { method, path, body }))
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut out = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    // The function may already be gone; its own failure is reported elsewhere.
    let _ = stream.write_all(&bytes);
}

enum Seen {
    FirstNext(Duration),
    Response(Duration, Vec<u8>),
    Error(String, Vec<u8>),
    Other(String),
}

/// Accepts the runtime client's connections, one thread each: its HTTP pool may post the
/// response on a new connection while the first one idles.
fn serve(
    listener: TcpListener,
    event: Arc<Vec<u8>>,
    started: Instant,
    seen: mpsc::Sender<Seen>,
    stop: Arc<AtomicBool>,
) {
    let invoked = Arc::new(AtomicBool::new(false));
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { return };
        let (event, seen, invoked) = (event.clone(), seen.clone(), invoked.clone());
        std::thread::spawn(move || serve_connection(stream, &event, started, &seen, &invoked));
    }
}

/// Answers one connection's requests until the function closes it (or is killed).
fn serve_connection(
    mut stream: TcpStream,
    event: &[u8],
    started: Instant,
    seen: &mpsc::Sender<Seen>,
    invoked: &AtomicBool,
) {
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    while let Ok(Some(request)) = read_request(&mut reader) {
        let at = started.elapsed();
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", NEXT) if !invoked.swap(true, Ordering::SeqCst) => {
                let _ = seen.send(Seen::FirstNext(at));
                let deadline = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis()
                    + 30_000;
                respond(
                    &mut stream,
                    "200 OK",
                    &[
                        ("content-type", "application/json".into()),
                        ("lambda-runtime-aws-request-id", REQUEST_ID.into()),
                        ("lambda-runtime-deadline-ms", deadline.to_string()),
                        (
                            "lambda-runtime-invoked-function-arn",
                            "arn:aws:lambda:us-east-1:123456789012:function:coldstart".into(),
                        ),
                        (
                            "lambda-runtime-trace-id",
                            "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0".into(),
                        ),
                    ],
                    event,
                );
            }
            // The second `next` is never answered: the function waits, as under Lambda's freeze.
            ("GET", NEXT) => return,
            ("POST", path) if path.ends_with("/response") => {
                respond(&mut stream, "202 Accepted", &[], b"{\"status\":\"OK\"}");
                let _ = seen.send(Seen::Response(at, request.body));
            }
            ("POST", path) if path.ends_with("/error") => {
                respond(&mut stream, "202 Accepted", &[], b"{\"status\":\"OK\"}");
                let _ = seen.send(Seen::Error(path.to_string(), request.body));
            }
            (method, path) => {
                respond(&mut stream, "404 Not Found", &[], b"{}");
                let _ = seen.send(Seen::Other(format!("{method} {path}")));
            }
        }
    }
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Stops the server thread however the measurement ends, even if the function never called.
struct ServerStop(Arc<AtomicBool>, std::net::SocketAddr);

impl Drop for ServerStop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.1);
    }
}

struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the function as a fresh process and times its cold start.
pub fn cold_start(launch: &Launch) -> Result<ColdStart, RuntimeApiError> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let (tx, rx) = mpsc::channel();
    let event = Arc::new(launch.event.clone());
    let started = Instant::now();
    let child = Command::new(&launch.binary)
        .env_clear()
        .envs(&launch.env)
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(if std::env::var_os("HOOKHUB_COLDSTART_VERBOSE").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .map_err(|e| RuntimeApiError::Spawn(launch.binary.display().to_string(), e))?;
    let child = Reaper(child);
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = stop.clone();
    std::thread::spawn(move || serve(listener, event, started, tx, stopping));
    let _server = ServerStop(stop, address);

    let wait = |what: &'static str| -> Result<Seen, RuntimeApiError> {
        rx.recv_timeout(launch.timeout)
            .map_err(|_| RuntimeApiError::Timeout(launch.name.clone(), what, launch.timeout))
    };
    let first_next = match wait("first invocation/next")? {
        Seen::FirstNext(at) => at,
        Seen::Error(route, body) => {
            return Err(RuntimeApiError::Reported {
                name: launch.name.clone(),
                route,
                body: String::from_utf8_lossy(&body).into_owned(),
            })
        }
        Seen::Response(..) => {
            return Err(RuntimeApiError::Unexpected(
                launch.name.clone(),
                "a response before any invocation".into(),
            ))
        }
        Seen::Other(line) => return Err(RuntimeApiError::Unexpected(launch.name.clone(), line)),
    };
    let (first_response, response) = match wait("response")? {
        Seen::Response(at, body) => (at, body),
        Seen::Error(route, body) => {
            return Err(RuntimeApiError::Reported {
                name: launch.name.clone(),
                route,
                body: String::from_utf8_lossy(&body).into_owned(),
            })
        }
        Seen::FirstNext(_) => unreachable!("the first next is reported once"),
        Seen::Other(line) => return Err(RuntimeApiError::Unexpected(launch.name.clone(), line)),
    };
    let peak_rss_kib = peak_rss_kib(child.0.id());
    drop(child);
    Ok(ColdStart {
        first_next,
        first_response,
        response,
        peak_rss_kib,
    })
}
