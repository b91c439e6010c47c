//! The deployment's time limits in `template.yaml` against the waits the code allows, so that
//! raising an endpoint's maximum timeout, or lowering a function's, fails here instead of
//! timing invocations out in production.

use std::time::Duration;

use hookhub_shared::meta::process::PROCESSING_LEASE;
use hookhub_shared::webhooks::delivery::MAX_TEST_WAIT;
use hookhub_shared::webhooks::endpoint::MAX_TIMEOUT_MS;
use hookhub_test_support::QueueSettings;

const TEMPLATE: &str = include_str!("../../../../template.yaml");
/// API Gateway HTTP APIs end an integration after 30 seconds, whatever the function's timeout.
const HTTP_API_LIMIT: Duration = Duration::from_secs(30);
/// What a worker invocation needs besides its sends: the endpoints' batch read, the secrets'
/// decrypts, the attempt logs and the counters, each a DynamoDB or KMS round trip.
const WORKER_BOOKKEEPING: Duration = Duration::from_secs(30);

/// A number-valued property of the block that starts with `header` (a whole line, such as
/// `  DeliveryWorkerFunction:`), searched until the block ends (a line indented no deeper).
fn property(header: &str, name: &str) -> Option<u64> {
    let mut lines = TEMPLATE.lines().skip_while(|l| l.trim_end() != header);
    let first = lines.next()?;
    let depth = |l: &str| l.len() - l.trim_start().len();
    let block_depth = depth(first);
    let key = format!("{name}:");
    for line in lines {
        if !line.trim().is_empty() && depth(line) <= block_depth {
            return None;
        }
        if let Some(value) = line.trim().strip_prefix(&key) {
            return value.trim().parse().ok();
        }
    }
    None
}

fn function_timeout(resource: &str) -> Duration {
    let seconds = property(&format!("  {resource}:"), "Timeout")
        .or_else(|| property("  Function:", "Timeout"))
        .unwrap_or_else(|| panic!("{resource} has no Timeout, nor do the Globals"));
    Duration::from_secs(seconds)
}

#[test]
fn the_worker_outlasts_its_slowest_send_and_the_queue_outlasts_the_worker() {
    let worker = function_timeout("DeliveryWorkerFunction");
    let slowest_send = Duration::from_millis(MAX_TIMEOUT_MS as u64);
    assert!(
        worker >= slowest_send + WORKER_BOOKKEEPING,
        "the worker's {worker:?} leave too little after a {slowest_send:?} send"
    );
    let visibility = Duration::from_secs(
        property("  DeliveryQueue:", "VisibilityTimeout").expect("the queue's VisibilityTimeout"),
    );
    // AWS: at least six times the function's timeout for an SQS event source.
    assert!(
        visibility >= worker * 6,
        "visibility {visibility:?} under six times the worker's {worker:?}"
    );
    assert_eq!(
        QueueSettings::default().visibility_timeout,
        visibility,
        "the local stack mirrors the template's queue"
    );
    assert!(
        worker < PROCESSING_LEASE && PROCESSING_LEASE < visibility,
        "a Meta processing claim outlives a worker invocation and expires before a redelivery"
    );
}

#[test]
fn a_test_delivery_answers_within_the_http_api_and_the_function_limits() {
    let admin = function_timeout("AdminApiFunction");
    let limit = admin.min(HTTP_API_LIMIT);
    assert!(
        MAX_TEST_WAIT + Duration::from_secs(5) <= limit,
        "a {MAX_TEST_WAIT:?} test send leaves no room within {limit:?}"
    );
}

#[test]
fn the_reader_finds_properties_in_their_own_block_only() {
    assert_eq!(property("  MetaIngressFunction:", "Timeout"), Some(10));
    assert_eq!(property("  DeliveryQueue:", "MemorySize"), None);
    assert_eq!(property("  NoSuchResource:", "Timeout"), None);
}
