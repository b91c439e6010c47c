//! hookhub's common library: domain types, services, and the AWS adapters behind small
//! traits. The Lambda functions and the local runner only wire these together.

pub mod alerts;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod aws;
pub mod bootstrap;
pub mod config;
pub mod contacts;
pub mod context;
pub mod crypto;
pub mod digest;
pub mod erasure;
pub mod error;
pub mod exports;
pub mod http;
pub mod ids;
pub mod integrations;
pub mod jobs;
pub mod masking;
pub mod messages;
pub mod meta;
pub mod page;
pub mod people;
pub mod quotas;
pub mod signing;
pub mod store;
pub mod telemetry;
pub mod tenants;
pub mod time;
pub mod tls;
pub mod validation;
pub mod webhooks;

pub use bootstrap::bootstrap;
pub use config::Config;
pub use context::AppContext;

/// Sent as `User-Agent` on every outbound call, and reported by `/api/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
