//! The cold-start harness's Runtime API, against the hello-world baseline it measures.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use hookhub_local::runtime_api::{cold_start, Launch, RuntimeApiError};

fn launch(binary: &str, event: &[u8]) -> Launch {
    Launch {
        name: "under-test".into(),
        binary: PathBuf::from(binary),
        env: HashMap::from([
            ("AWS_LAMBDA_FUNCTION_NAME".into(), "under-test".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), "128".into()),
            ("AWS_LAMBDA_LOG_GROUP_NAME".into(), "/aws/lambda/t".into()),
            ("AWS_LAMBDA_LOG_STREAM_NAME".into(), "t".into()),
        ]),
        event: event.to_vec(),
        timeout: Duration::from_secs(20),
    }
}

#[test]
fn hello_world_is_invoked_once_and_its_answer_timed() {
    let event = br#"{"greeting":"hello","n":[1,2,3]}"#;
    let started = cold_start(&launch(env!("CARGO_BIN_EXE_coldstart-hello"), event))
        .expect("the hello-world starts and answers");
    let answer: serde_json::Value = serde_json::from_slice(&started.response).unwrap();
    assert_eq!(
        answer,
        serde_json::json!({"greeting": "hello", "n": [1, 2, 3]})
    );
    assert!(started.first_next > Duration::ZERO);
    assert!(started.first_response >= started.first_next);
    if cfg!(target_os = "linux") {
        assert!(started.peak_rss_kib.is_some_and(|kib| kib > 0));
    }
}

#[test]
fn a_binary_that_never_calls_is_a_timeout_and_a_missing_one_a_spawn_error() {
    let mut quiet = launch("/bin/true", b"{}");
    quiet.timeout = Duration::from_millis(500);
    assert!(matches!(
        cold_start(&quiet),
        Err(RuntimeApiError::Timeout(_, "first invocation/next", _))
    ));
    assert!(matches!(
        cold_start(&launch("/nonexistent/bootstrap", b"{}")),
        Err(RuntimeApiError::Spawn(..))
    ));
}

#[test]
fn a_handler_error_is_reported_with_its_body() {
    // The hello-world's event type is any JSON: an invalid body fails deserialisation, which
    // lambda_runtime reports to the invocation's error route.
    let err = cold_start(&launch(env!("CARGO_BIN_EXE_coldstart-hello"), b"not json"))
        .expect_err("an undecodable event is an invocation error");
    match err {
        RuntimeApiError::Reported { route, body, .. } => {
            assert!(route.ends_with("/coldstart-0001/error"), "{route}");
            assert!(!body.is_empty());
        }
        other => panic!("expected a reported error, got {other}"),
    }
}
