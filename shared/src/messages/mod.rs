//! Outbound messaging: SMS through Twilio, Vonage or AWS SNS and WhatsApp through the Cloud
//! API. A request is validated and checked against the tenant's integration, stored as
//! `queued` and handed to the worker as a `message.send` job; the worker sends it with the
//! tenant's sealed credentials, retries what the provider says may succeed later, and
//! publishes `message.sent` or `message.failed`. WhatsApp's later statuses (delivered,
//! read, failed) arrive through the Meta ingress and move the message forward.

pub mod content;
pub mod providers;
mod sender;
mod service;
mod store;

pub use content::{Channel, Content, SendRequest};
pub use providers::ProviderUrls;
pub use sender::ProviderClients;
pub use service::{
    IntegrationTest, IntegrationTestView, MessageService, Submitted, MAX_SEND_ATTEMPTS, SEND_JOB,
};
pub use store::{
    messages_partition, status_rank, MessageFilter, MessageLog, MessageView, OutboundMessage,
    StatusApplied, STATUSES,
};
