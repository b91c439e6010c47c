//! Every schedule in `template.yaml` puts a job on the queue that this worker decodes and
//! has a handler for: a typo in a schedule's input would otherwise send every run to the
//! dead-letter queue, unnoticed until deployed.

use hookhub_shared::jobs::Job;
use hookhub_test_support::TestStack;

const TEMPLATE: &str = include_str!("../../../../template.yaml");

/// The `Input` of each `AWS::Scheduler::Schedule` target, as written (single-quoted JSON).
fn schedule_inputs() -> Vec<String> {
    let mut inputs = Vec::new();
    let mut in_schedule = false;
    for line in TEMPLATE.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("Type: ") {
            in_schedule = trimmed == "Type: AWS::Scheduler::Schedule";
        }
        if let Some(input) = trimmed.strip_prefix("Input: '") {
            if in_schedule {
                inputs.push(input.trim_end_matches('\'').to_string());
            }
        }
    }
    inputs
}

#[tokio::test]
async fn every_scheduled_job_decodes_and_has_a_handler() {
    let inputs = schedule_inputs();
    assert!(
        inputs.len() >= 2,
        "the sweep and the Graph health checks: {inputs:?}"
    );
    let stack = TestStack::new("schedules").await;
    let router = delivery_worker::job_router(&stack.ctx);
    let kinds: Vec<&str> = router.kinds().collect();
    for input in inputs {
        let job: Job = serde_json::from_str(&input)
            .unwrap_or_else(|e| panic!("the schedule's input is no job ({e}): {input}"));
        assert!(
            kinds.contains(&job.kind.as_str()),
            "no handler for {}: {kinds:?}",
            job.kind
        );
    }
}
