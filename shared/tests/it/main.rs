//! The crate's integration tests: one binary, a module per area.

mod alerts;
mod api_keys;
mod contacts;
mod delivery_logs;
mod envelope;
mod fanout;
mod lambda_config;
mod messages;
mod oidc;
mod properties;
mod store;
mod subscriptions;
mod support;
