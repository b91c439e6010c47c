//! Meta (WhatsApp Cloud API, Instagram, Messenger) webhooks: splitting verified bodies into
//! normalised items, storing them once by natural id, processing them through the queue,
//! and the read side behind `/api/v1/meta`.

pub mod graph;
pub mod graph_health;
pub mod ingest;
pub mod monitoring;
pub mod normalize;
pub mod process;
pub mod samples;
pub mod split;
pub mod stats;
pub mod store;
mod string_scan;
pub mod subscriptions;
pub mod sweep;
mod tape;
pub mod test_suites;

#[cfg(test)]
mod tests;

pub use graph_health::{GraphHealthChecks, GRAPH_HEALTH_JOB};
pub use ingest::{IngestError, IngestReport, ItemOutcome, MetaIngest, PROCESS_JOB};
pub use monitoring::MetaMonitoring;
pub use process::MetaProcessor;
pub use split::{split, Channel, ContactSeen, MetaItem, NaturalId, SplitError, StatusReport};
pub use stats::MetaStats;
pub use store::{MetaEvent, MetaEventStore, ProcessingStatus};
pub use sweep::{MetaSweep, SWEEP_JOB};
pub use test_suites::TestSuites;
