//! The crate's integration tests: one binary, a module per area.

mod alerts;
mod audit;
mod contacts;
mod delivery;
mod erasure;
mod faults;
mod history;
mod hostile_receivers;
mod iam_policy;
mod messages;
mod meta;
mod meta_graph;
mod n8n;
mod quotas;
mod runner;
mod runtime_api;
mod support;
mod suspension;
mod workflows;
