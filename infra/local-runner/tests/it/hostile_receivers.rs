//! Receivers that misbehave at the TCP level, served raw so that they can do what no HTTP
//! framework would: reset the connection, stream a body forever, dribble bytes, send a
//! gigabyte. The sender stays within its time budget, reads at most 4 KiB of any body, and
//! the result is retried or not by the delivery retry rules; one of them end to end.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::Stack;
use hookhub_shared::webhooks::delivery::retryable;
use hookhub_shared::webhooks::sender::{SendResult, Sender, MAX_LOGGED_BODY};
use hookhub_shared::webhooks::target::TargetPolicy;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TIMEOUT: Duration = Duration::from_secs(1);
/// Generous room over the timeout for a loaded machine; a receiver that could hold the
/// sender would take minutes, not this.
const SLACK_MS: u64 = 3_000;

#[derive(Clone, Copy)]
enum Misbehaviour {
    /// Closes with the request unread, so the kernel answers with a reset.
    Reset,
    /// 200 with a chunked body that never ends.
    EndlessBody,
    /// The status line one byte every 100 ms.
    SlowHeaders,
    /// Headers at once, then one body byte every 100 ms.
    SlowBody,
    /// 500 with a 1 GiB Content-Length, written as fast as the client takes it.
    HugeBody,
}

struct RawReceiver {
    url: String,
    connections: Arc<AtomicUsize>,
    written: Arc<AtomicU64>,
    /// Set when the receiver saw the client go away.
    abandoned: Arc<AtomicBool>,
}

impl RawReceiver {
    async fn start(how: Misbehaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let written = Arc::new(AtomicU64::new(0));
        let abandoned = Arc::new(AtomicBool::new(false));
        let (c, w, a) = (connections.clone(), written.clone(), abandoned.clone());
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let (w, a) = (w.clone(), a.clone());
                tokio::spawn(async move {
                    if misbehave(socket, how, &w).await.is_err() {
                        a.store(true, Ordering::SeqCst);
                    }
                });
            }
        });
        Self {
            url,
            connections,
            written,
            abandoned,
        }
    }
}

async fn misbehave(
    mut socket: TcpStream,
    how: Misbehaviour,
    written: &AtomicU64,
) -> std::io::Result<()> {
    if let Misbehaviour::Reset = how {
        // Wait for the request to arrive, leave it unread, and close.
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(socket);
        return Ok(());
    }
    let mut request = vec![0u8; 64 * 1024];
    let _ = socket.read(&mut request).await?;
    let write = |bytes: Vec<u8>| {
        written.fetch_add(bytes.len() as u64, Ordering::SeqCst);
        bytes
    };
    match how {
        Misbehaviour::Reset => unreachable!(),
        Misbehaviour::EndlessBody => {
            let head = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n";
            socket.write_all(&write(head.to_vec())).await?;
            let mut chunk = b"1000\r\n".to_vec();
            chunk.extend(std::iter::repeat_n(b'x', 0x1000));
            chunk.extend_from_slice(b"\r\n");
            loop {
                socket.write_all(&write(chunk.clone())).await?;
            }
        }
        Misbehaviour::SlowHeaders => {
            for byte in b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
                .iter()
                .cycle()
            {
                socket.write_all(&write(vec![*byte])).await?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(())
        }
        Misbehaviour::SlowBody => {
            let head = b"HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n";
            socket.write_all(&write(head.to_vec())).await?;
            loop {
                socket.write_all(&write(b"y".to_vec())).await?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Misbehaviour::HugeBody => {
            let head = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 1073741824\r\n\r\n";
            socket.write_all(&write(head.to_vec())).await?;
            let block = vec![b'z'; 64 * 1024];
            loop {
                socket.write_all(&write(block.clone())).await?;
            }
        }
    }
}

async fn send_to(receiver: &RawReceiver) -> SendResult {
    let sender = Sender::new(TargetPolicy {
        allow_private: true,
        allow_http: true,
    });
    let result = sender
        .post(
            &receiver.url,
            Default::default(),
            br#"{"event":"booking.created"}"#.to_vec(),
            TIMEOUT,
        )
        .await;
    assert!(
        result.elapsed_ms <= TIMEOUT.as_millis() as u64 + SLACK_MS,
        "took {} ms",
        result.elapsed_ms
    );
    result
}

/// The receiver notices the sender gone: the sender holds nothing open.
async fn wait_abandoned(receiver: &RawReceiver) {
    for _ in 0..100 {
        if receiver.abandoned.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the sender kept the connection open");
}

#[tokio::test]
async fn a_reset_connection_is_a_retried_network_error() {
    let receiver = RawReceiver::start(Misbehaviour::Reset).await;
    let result = send_to(&receiver).await;
    assert_eq!(result.status, None, "{result:?}");
    assert!(result.error.is_some());
    assert!(!result.timed_out);
    assert!(retryable(&result));
}

#[tokio::test]
async fn an_endless_body_is_read_to_4_kib_and_dropped() {
    let receiver = RawReceiver::start(Misbehaviour::EndlessBody).await;
    let result = send_to(&receiver).await;
    assert_eq!(result.status, Some(200));
    assert!(result.success());
    assert_eq!(result.body.as_ref().unwrap().len(), MAX_LOGGED_BODY);
    wait_abandoned(&receiver).await;
    // What the receiver managed to push is bounded by socket buffers, not by its will.
    let pushed = receiver.written.load(Ordering::SeqCst);
    assert!(pushed < 64 * 1024 * 1024, "{pushed} bytes written");
}

#[tokio::test]
async fn headers_dribbled_byte_by_byte_time_out_and_are_retried() {
    let receiver = RawReceiver::start(Misbehaviour::SlowHeaders).await;
    let result = send_to(&receiver).await;
    assert_eq!(result.status, None, "{result:?}");
    assert!(result.timed_out);
    assert!(retryable(&result));
    wait_abandoned(&receiver).await;
}

#[tokio::test]
async fn a_body_dribbled_after_a_200_keeps_the_200_within_the_timeout() {
    let receiver = RawReceiver::start(Misbehaviour::SlowBody).await;
    let result = send_to(&receiver).await;
    // The status line is the receiver's answer; the body is only logged.
    assert_eq!(result.status, Some(200));
    assert!(result.success());
    assert!(result.error.unwrap().contains("timed out"));
    wait_abandoned(&receiver).await;
}

#[tokio::test]
async fn a_gigabyte_500_is_cut_at_4_kib_and_retried() {
    let receiver = RawReceiver::start(Misbehaviour::HugeBody).await;
    let result = send_to(&receiver).await;
    assert_eq!(result.status, Some(500));
    assert_eq!(result.body.as_ref().unwrap().len(), MAX_LOGGED_BODY);
    assert!(retryable(&result));
    wait_abandoned(&receiver).await;
    let pushed = receiver.written.load(Ordering::SeqCst);
    assert!(pushed < 64 * 1024 * 1024, "{pushed} bytes of 1 GiB written");
}

/// End to end: a receiver that resets every connection is tried 1 + retryAttempts times,
/// each attempt logged with its error, then given up.
#[tokio::test]
async fn resets_end_to_end_are_retried_logged_and_given_up() {
    let stack = Stack::start("e2e-reset").await;
    let tenant = stack.tenant().await;
    let receiver = RawReceiver::start(Misbehaviour::Reset).await;
    let (endpoint, _) = stack
        .endpoint(
            &tenant,
            &receiver.url,
            json!({"retryAttempts": 2, "retryDelay": 1, "timeoutMs": 1000}),
        )
        .await;
    stack
        .publish(&tenant, "booking.created", json!({"booking": {"id": "b1"}}))
        .await;
    stack
        .eventually(Duration::from_secs(60), || async {
            stack.logs(&tenant, &endpoint).await.len() >= 3
        })
        .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let logs = stack.logs(&tenant, &endpoint).await;
    assert_eq!(logs.len(), 3, "1 try + 2 retries: {logs:?}");
    assert_eq!(receiver.connections.load(Ordering::SeqCst), 3);
    for log in &logs {
        assert_eq!(log["success"], false);
        assert!(log["statusCode"].is_null());
        assert!(
            log["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{log}"
        );
    }
    let last = logs.iter().find(|l| l["attempt"] == 3).unwrap();
    assert_eq!(last["willRetry"], false);
}
