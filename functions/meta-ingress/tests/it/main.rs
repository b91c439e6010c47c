//! The crate's integration tests: one binary, a module per area.

mod aws_calls;
mod fixtures;
mod ingest;
