//! The webhook sender ignores proxy variables. Through a proxy, the SSRF guard would check
//! only the proxy's address, and the proxy would resolve and reach receivers unchecked.
//! Its own test binary, beside `it`: the variables it sets are process-wide and would send
//! every other test's HTTP clients through the proxy.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hookhub_shared::webhooks::sender::Sender;
use hookhub_shared::webhooks::target::TargetPolicy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Accepts connections, counts them, and answers each with `reply` once the request head
/// has arrived.
async fn counting_server(reply: &'static [u8]) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = socket.write_all(reply).await;
            });
        }
    });
    (port, connections)
}

#[tokio::test]
async fn deliveries_go_straight_to_the_receiver_whatever_the_proxy_variables_say() {
    let (proxy_port, proxied) =
        counting_server(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n").await;
    let (receiver_port, received) =
        counting_server(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").await;
    let proxy = format!("http://127.0.0.1:{proxy_port}");
    for name in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
    ] {
        std::env::set_var(name, &proxy);
    }
    for name in ["NO_PROXY", "no_proxy"] {
        std::env::remove_var(name);
    }

    let sender = Sender::new(TargetPolicy {
        allow_private: true,
        allow_http: true,
    });
    let result = sender
        .post(
            &format!("http://localhost:{receiver_port}/hook"),
            Default::default(),
            br#"{"event":"booking.created"}"#.to_vec(),
            Duration::from_secs(5),
        )
        .await;

    assert_eq!(result.status, Some(204), "{result:?}");
    assert_eq!(received.load(Ordering::SeqCst), 1);
    assert_eq!(
        proxied.load(Ordering::SeqCst),
        0,
        "the sender went through the proxy"
    );
}
