//! Meta (WhatsApp Cloud API, Instagram, Messenger) webhooks: splitting verified bodies into
//! normalised items, storing them once by natural id, processing them through the queue,
//! and the read side behind `/api/v1/meta`.

pub mod normalize;
pub mod samples;

#[cfg(test)]
mod tests;

pub use normalize::{split, Channel, ContactSeen, MetaItem, SplitError, StatusReport};
