//! Calls of n8n workflow webhooks (by id, by name, or broadcast): stored as one
//! `workflow.call` event, then queued for the delivery engine, or, when the caller waits,
//! made at once and answered with each workflow's response. Either way every call is logged
//! and counted like any delivery.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::delivery::{DeliveryJob, DeliveryService};
use super::endpoint::Endpoint;
use super::events::EventService;
use super::n8n::N8nInstance;
use crate::error::ServiceResult;

/// How much of a workflow's answer a waiting caller gets.
pub const MAX_ANSWER_BODY: usize = 64 * 1024;
const CALL_EVENT: &str = "workflow.call";

/// A workflow's answer to a call made at once.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = WorkflowAnswer))]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub webhook_id: String,
    pub workflow_name: String,
    pub delivery_id: String,
    /// the call's log entry, for its request and response
    pub log_id: String,
    pub success: bool,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub status_code: Option<u16>,
    pub headers: BTreeMap<String, String>,
    /// the workflow's answer as received, up to 64 KiB
    #[cfg_attr(feature = "openapi", schema(required = true, max_length = 65536))]
    pub body: Option<String>,
    /// the body was longer than what is shown
    pub body_truncated: bool,
    pub duration_ms: u64,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub error: Option<String>,
}

/// What a call of workflow webhooks answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum CallView {
    Queued(CallAccepted),
    Answered(WorkflowCallAnswered),
    Broadcast(BroadcastAnswered),
}

/// Queued: the event, and one delivery per workflow.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CallAccepted {
    pub event_id: String,
    #[cfg_attr(feature = "openapi", schema(inline))]
    pub deliveries: Vec<QueuedCall>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct QueuedCall {
    pub webhook_id: String,
    pub delivery_id: String,
}

/// One workflow called at once: its answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WorkflowCallAnswered {
    #[serde(flatten)]
    pub answer: Answer,
    pub event_id: String,
}

/// Every active workflow called at once: their answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BroadcastAnswered {
    pub event_id: String,
    pub results: Vec<Answer>,
}

/// What a call did.
#[derive(Debug, Clone, PartialEq)]
pub enum Called {
    /// Queued for the delivery engine: one delivery per workflow.
    Queued {
        event_id: String,
        deliveries: Vec<(String, String)>,
    },
    /// Made at once: one answer per workflow.
    Answered {
        event_id: String,
        answers: Vec<Answer>,
    },
}

impl Called {
    /// The queued deliveries, or the answers (`single`: the one answer, flattened).
    pub fn view(self, single: bool) -> CallView {
        match self {
            Called::Queued {
                event_id,
                deliveries,
            } => CallView::Queued(CallAccepted {
                event_id,
                deliveries: deliveries
                    .into_iter()
                    .map(|(webhook_id, delivery_id)| QueuedCall {
                        webhook_id,
                        delivery_id,
                    })
                    .collect(),
            }),
            Called::Answered {
                event_id,
                mut answers,
            } => {
                if single && answers.len() == 1 {
                    if let Some(answer) = answers.pop() {
                        return CallView::Answered(WorkflowCallAnswered { answer, event_id });
                    }
                }
                CallView::Broadcast(BroadcastAnswered {
                    event_id,
                    results: answers,
                })
            }
        }
    }
}

#[derive(Clone)]
pub struct WorkflowCallService {
    events: EventService,
    delivery: DeliveryService,
}

impl WorkflowCallService {
    pub fn new(events: EventService, delivery: DeliveryService) -> Self {
        Self { events, delivery }
    }

    /// Calls these workflows with `data`: queued, or at once and concurrently when `wait`.
    pub async fn call(
        &self,
        tenant_id: &str,
        workflows: &[Endpoint],
        data: Value,
        wait: bool,
    ) -> ServiceResult<Called> {
        let data_bytes = EventService::validate(CALL_EVENT, &data)?;
        self.events.admit(tenant_id, data_bytes).await?;
        let event = self
            .events
            .store_only(tenant_id, CALL_EVENT, data, "api")
            .await?;
        let ids: Vec<String> = workflows.iter().map(|w| w.id.clone()).collect();
        let jobs = DeliveryJob::fan_out(&event, &ids);
        if !wait {
            let deliveries = jobs
                .iter()
                .map(|j| (j.endpoint_id.clone(), j.delivery_id.clone()))
                .collect();
            let queued: Vec<_> = jobs.into_iter().map(|j| j.into_job(tenant_id)).collect();
            self.events.enqueue_all(&queued).await?;
            return Ok(Called::Queued {
                event_id: event.id,
                deliveries,
            });
        }
        // The tenant's n8n instance read once for all of them.
        let n8n = self.delivery.n8n_instances(workflows.iter()).await?;
        let n8n = n8n.get(tenant_id);
        let answers = futures::future::try_join_all(
            workflows
                .iter()
                .zip(&jobs)
                .map(|(workflow, job)| self.call_now(workflow, job, n8n)),
        )
        .await?;
        Ok(Called::Answered {
            event_id: event.id,
            answers,
        })
    }

    async fn call_now(
        &self,
        workflow: &Endpoint,
        job: &DeliveryJob,
        n8n: Option<&N8nInstance>,
    ) -> ServiceResult<Answer> {
        let (log, answer) = self
            .delivery
            .call_now(workflow, job, n8n, MAX_ANSWER_BODY)
            .await?;
        Ok(Answer {
            webhook_id: workflow.id.clone(),
            workflow_name: workflow.name.clone(),
            delivery_id: job.delivery_id.clone(),
            log_id: log.id,
            success: log.success,
            status_code: answer.status,
            headers: answer.headers,
            body: answer.body,
            body_truncated: answer.truncated,
            duration_ms: answer.elapsed_ms,
            error: log.error,
        })
    }
}
