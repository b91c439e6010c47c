pub mod api_keys;
pub mod platform;
pub mod webhooks;
pub mod workflows;
