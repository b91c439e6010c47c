//! Outbound webhooks: the event catalog, tenant endpoints, publishing with fan-out, and the
//! delivery engine with its attempt logs and counters.

pub mod analytics;
pub mod catalog;
pub mod delivery;
pub mod endpoint;
pub mod events;
pub mod history;
pub mod logs;
pub mod n8n;
pub mod sender;
pub mod subscriptions;
pub mod target;
pub mod workflow_analytics;
pub mod workflow_calls;

/// The job kind of one delivery of one event to one endpoint.
pub const DELIVER_JOB: &str = "webhook.deliver";
