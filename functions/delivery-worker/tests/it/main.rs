//! The crate's integration tests: one binary, a module per area.

mod aws_calls;
mod batches;
mod fixtures;
mod schedules;
mod support;
mod template_limits;
