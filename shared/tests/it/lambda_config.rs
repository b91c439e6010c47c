//! The SDK configuration a function builds from the Lambda runtime's variables, used against
//! the emulator exactly as production uses it against AWS.

use std::collections::HashMap;

use hookhub_shared::aws::{lambda_sdk_config, AwsClients};
use hookhub_test_support::{test_endpoint, TestStack};

fn lambda_variables() -> HashMap<&'static str, String> {
    HashMap::from([
        ("AWS_LAMBDA_FUNCTION_NAME", "hookhub-admin-api".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLEROLEKEY".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "role-secret".to_string()),
        ("AWS_SESSION_TOKEN", "role-session-token".to_string()),
        ("AWS_ENDPOINT_URL", test_endpoint()),
    ])
}

#[tokio::test]
async fn clients_from_the_lambda_variables_reach_the_table_queue_and_key() {
    let stack = TestStack::new("lambda-env").await;
    let vars = lambda_variables();
    let sdk = lambda_sdk_config(|name| vars.get(name).cloned()).expect("a Lambda environment");
    assert_eq!(sdk.region().map(|r| r.as_ref()), Some("us-east-1"));
    let clients = AwsClients::from_sdk_config(&sdk);
    let table = clients
        .dynamodb
        .describe_table()
        .table_name(&stack.stack.table_name)
        .send()
        .await
        .expect("DescribeTable, signed with the role's credentials");
    assert_eq!(
        table.table().and_then(|t| t.table_name()),
        Some(stack.stack.table_name.as_str())
    );
    clients
        .sqs
        .get_queue_attributes()
        .queue_url(&stack.stack.queue_url)
        .send()
        .await
        .expect("GetQueueAttributes");
    clients
        .kms
        .describe_key()
        .key_id(&stack.stack.kms_key_id)
        .send()
        .await
        .expect("DescribeKey");
}

#[test]
fn without_any_lambda_variable_the_standard_chain_decides() {
    for missing in [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        let mut vars = lambda_variables();
        vars.remove(missing);
        assert!(
            lambda_sdk_config(|name| vars.get(name).cloned()).is_none(),
            "without {missing}"
        );
    }
    let mut vars = lambda_variables();
    vars.remove("AWS_REGION");
    vars.insert("AWS_DEFAULT_REGION", "eu-west-1".into());
    let sdk = lambda_sdk_config(|name| vars.get(name).cloned()).expect("the default region");
    assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
}

/// A TLS server on loopback with a certificate that chains to no AWS root: it records whether
/// each handshake completed, and speaks no HTTP after it.
fn tls_server_outside_aws() -> (u16, std::sync::mpsc::Receiver<Result<(), String>>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_slice_iter(include_bytes!("../fixtures/not-aws-server.pem"))
        .collect::<Result<Vec<_>, _>>()
        .expect("fixture certificate");
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("../fixtures/not-aws-server-key.pem"))
        .expect("fixture key");
    let config = std::sync::Arc::new(
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server certificate"),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (handshakes, results) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(mut tcp) = tcp else { return };
            let mut conn = rustls::ServerConnection::new(config.clone()).expect("session");
            let mut outcome = Ok(());
            while conn.is_handshaking() {
                if let Err(e) = conn.complete_io(&mut tcp) {
                    outcome = Err(e.to_string());
                    break;
                }
            }
            if handshakes.send(outcome).is_err() {
                return;
            }
        }
    });
    (port, results)
}

#[tokio::test]
async fn aws_calls_refuse_a_certificate_from_any_other_root() {
    let (port, handshakes) = tls_server_outside_aws();
    let mut vars = lambda_variables();
    vars.insert("AWS_ENDPOINT_URL", format!("https://localhost:{port}"));
    let sdk = lambda_sdk_config(|name| vars.get(name).cloned()).expect("a Lambda environment");
    let clients = AwsClients::from_sdk_config(&sdk);
    let err = clients
        .dynamodb
        .list_tables()
        .send()
        .await
        .expect_err("a server outside AWS's roots must not be trusted");
    let chain = format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(&err));
    assert!(
        chain.contains("UnknownIssuer"),
        "refused for its issuer, not for anything else: {chain}"
    );
    let first = handshakes.recv().expect("the client reached the server");
    assert!(
        first.as_ref().is_err_and(|e| e.contains("UnknownCA")),
        "the client aborted the handshake: {first:?}"
    );
}

/// The control: the same server, the same SDK code path, trusting the server's certificate,
/// completes the handshake. So the refusal above is the trust store's doing.
#[tokio::test]
async fn the_same_server_is_reached_when_its_root_is_trusted() {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let (port, handshakes) = tls_server_outside_aws();
    let trusting = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(
                    TrustStore::empty()
                        .with_pem_certificate(&include_bytes!("../fixtures/not-aws-root.pem")[..]),
                )
                .build()
                .expect("trust store"),
        )
        .build_https();
    let mut vars = lambda_variables();
    vars.insert("AWS_ENDPOINT_URL", format!("https://localhost:{port}"));
    let sdk = lambda_sdk_config(|name| vars.get(name).cloned())
        .expect("a Lambda environment")
        .into_builder()
        .http_client(trusting)
        .build();
    let clients = AwsClients::from_sdk_config(&sdk);
    // The server speaks no HTTP, so the call fails after the handshake.
    let _ = clients.dynamodb.list_tables().send().await;
    assert_eq!(
        handshakes.recv().expect("the client reached the server"),
        Ok(())
    );
}
