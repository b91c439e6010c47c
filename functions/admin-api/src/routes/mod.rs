pub mod api_keys;
pub mod contacts;
pub mod messages;
pub mod meta;
pub mod platform;
pub mod webhooks;
pub mod workflows;
