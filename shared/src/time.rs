//! Wall-clock helpers; timestamps are RFC 3339 UTC with milliseconds everywhere.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn now() -> DateTime<Utc> {
    Utc::now()
}

pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn now_rfc3339() -> String {
    rfc3339(now())
}

/// Epoch seconds at which DynamoDB's TTL may delete an item kept for `retention`.
pub fn ttl_after(retention: std::time::Duration) -> i64 {
    now().timestamp() + retention.as_secs() as i64
}

/// A version stamp for an item last stamped `previous`: now, made distinct from `previous`
/// when both fall in the same millisecond, so optimistic concurrency checks on it hold.
pub fn next_version(previous: &str) -> String {
    let now = now_rfc3339();
    if now == previous {
        rfc3339(self::now() + chrono::Duration::milliseconds(1))
    } else {
        now
    }
}
