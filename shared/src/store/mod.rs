//! The DynamoDB store foundation: one table, keys scoped by tenant (see `keys`), conditional
//! writes that report a lost race as `Conflict`, and opaque validated pagination cursors.

mod cursor;
mod expression;
pub mod keys;
mod size;
mod table;
mod transact;
pub use transact::COMMIT_ATTEMPTS;

pub use cursor::{decode_cursor, encode_cursor};
pub use expression::{Expression, Written};
pub use keys::{Index, Key};
pub use size::item_size;
pub use table::{from_item, to_item, Item, Page, Query, Table, Update, Updated};
pub use transact::Transaction;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// A conditional write lost: the item exists, or changed since it was read.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid cursor: {0}")]
    InvalidCursor(&'static str),
    #[error("stored item is not readable: {0}")]
    Corrupt(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Other writes to the same items kept winning (DynamoDB's `TransactionConflict`) after
    /// every retry: nothing was written, and trying again shortly will most likely succeed.
    #[error("busy: {0}")]
    Contended(String),
}

/// Default and largest page sizes of every list.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 1000;
