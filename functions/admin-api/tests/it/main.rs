//! The admin API's integration tests: one binary, the router called in-process against an
//! isolated stack on the emulator per test.

mod api_keys;
mod console;
mod fixtures;
mod integrations;
mod openapi;
mod quotas;
mod sign_in;
mod spellings;
mod support;
mod tenants;
