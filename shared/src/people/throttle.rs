//! Failed sign-ins counted per email and per source address in the table, so every Lambda
//! instance sees the same counts: past the limit, sign-in for that email (or from that
//! address) waits for the window to end. Fixed windows; the counts expire with TTL.

use std::net::IpAddr;

use crate::store::StoreError;
use crate::store::{keys, Table};

/// The window failures are counted in.
pub const WINDOW_SECS: i64 = 15 * 60;
/// Failures per email before its sign-in pauses until the window ends.
pub const MAX_FAILURES_PER_EMAIL: i64 = 5;
/// Failures from one address (many emails tried from one place) before it pauses.
pub const MAX_FAILURES_PER_ADDRESS: i64 = 30;

const COUNT: &str = "failures";

#[derive(Clone)]
pub struct SignInThrottle {
    table: Table,
}

/// The subjects a sign-in attempt counts against, hashed (emails are not stored here), and
/// each one's limit.
fn subjects(email: &str, ip: Option<IpAddr>) -> Vec<(String, i64)> {
    let mut subjects = vec![(
        crate::digest::sha256_hex(format!("email:{}", email.to_lowercase()).as_bytes()),
        MAX_FAILURES_PER_EMAIL,
    )];
    if let Some(ip) = ip {
        subjects.push((
            crate::digest::sha256_hex(format!("ip:{ip}").as_bytes()),
            MAX_FAILURES_PER_ADDRESS,
        ));
    }
    subjects
}

fn window(now: i64) -> (i64, i64) {
    let start = now - now.rem_euclid(WINDOW_SECS);
    (start, start + WINDOW_SECS)
}

impl SignInThrottle {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    /// Seconds until `email` (or `ip`) may try again, when either is over its limit.
    pub async fn retry_after(
        &self,
        email: &str,
        ip: Option<IpAddr>,
    ) -> Result<Option<u64>, StoreError> {
        let now = chrono::Utc::now().timestamp();
        let (start, end) = window(now);
        let subjects = subjects(email, ip);
        let keys: Vec<_> = subjects
            .iter()
            .map(|(hash, _)| keys::sign_in_failures(hash, start))
            .collect();
        let items = self.table.batch_get(&keys).await?;
        let over = subjects.iter().zip(&keys).any(|((_, limit), key)| {
            items.iter().any(|item| {
                item.get(keys::PK).and_then(|v| v.as_s().ok()) == Some(&key.pk)
                    && item
                        .get(COUNT)
                        .and_then(|v| v.as_n().ok())
                        .and_then(|n| n.parse::<i64>().ok())
                        .is_some_and(|count| count >= *limit)
            })
        });
        Ok(over.then(|| (end - now).max(1) as u64))
    }

    /// Counts one failure against `email` and `ip`.
    pub async fn record_failure(&self, email: &str, ip: Option<IpAddr>) -> Result<(), StoreError> {
        let (start, end) = window(chrono::Utc::now().timestamp());
        let counts = subjects(email, ip).into_iter().map(|(hash, _)| {
            let table = self.table.clone();
            async move {
                table
                    .increment(
                        &keys::sign_in_failures(&hash, start),
                        COUNT,
                        1,
                        Some(end + 60),
                    )
                    .await
            }
        });
        for result in futures::future::join_all(counts).await {
            result?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_aligned_and_cover_now() {
        let (start, end) = window(1_000_000);
        assert_eq!(start % WINDOW_SECS, 0);
        assert!(start <= 1_000_000 && 1_000_000 < end);
        assert_eq!(end - start, WINDOW_SECS);
    }

    #[test]
    fn emails_count_alike_whatever_their_case_and_addresses_apart() {
        let a = subjects("Alice@Example.com", None);
        let b = subjects("alice@example.com", Some("203.0.113.7".parse().unwrap()));
        assert_eq!(a[0], b[0]);
        assert_eq!(b.len(), 2);
        assert_ne!(b[0].0, b[1].0);
        assert!(!a[0].0.contains("alice"));
    }
}
