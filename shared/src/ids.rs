//! Sortable prefixed ids: `evt_01JD…`. The body is a ULID (48-bit millisecond timestamp and
//! 80 random bits in Crockford base32), so ids sort by creation time as DynamoDB sort keys.

use rand::RngCore;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const BODY_LEN: usize = 26;

/// The kinds of thing that carry an id, with their prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Tenant,
    Event,
    Endpoint,
    Delivery,
    ApiKey,
    Job,
    Message,
    MetaEvent,
    Contact,
    Workflow,
    Export,
    Audit,
    TestSuite,
    Request,
    Erasure,
}

impl IdKind {
    pub fn prefix(self) -> &'static str {
        match self {
            IdKind::Tenant => "ten",
            IdKind::Event => "evt",
            IdKind::Endpoint => "wh",
            IdKind::Delivery => "del",
            IdKind::ApiKey => "key",
            IdKind::Job => "job",
            IdKind::Message => "msg",
            IdKind::MetaEvent => "mev",
            IdKind::Contact => "con",
            IdKind::Workflow => "wf",
            IdKind::Export => "exp",
            IdKind::Audit => "aud",
            IdKind::TestSuite => "ts",
            IdKind::Request => "req",
            IdKind::Erasure => "ers",
        }
    }
}

pub fn new_id(kind: IdKind) -> String {
    new_id_at(kind, chrono::Utc::now().timestamp_millis() as u64)
}

/// The smallest (or largest) id of `kind` made at `at`, for id-range (time-range) queries.
pub fn bound_at(kind: IdKind, at: chrono::DateTime<chrono::Utc>, upper: bool) -> String {
    let id = new_id_at(kind, at.timestamp_millis().max(0) as u64);
    let (prefix, body) = id.split_at(kind.prefix().len() + 1);
    let fill = if upper { 'Z' } else { '0' };
    let random: String = std::iter::repeat_n(fill, BODY_LEN - 10).collect();
    format!("{prefix}{}{random}", &body[..10])
}

pub fn new_id_at(kind: IdKind, unix_millis: u64) -> String {
    let mut random = [0u8; 10];
    rand::thread_rng().fill_bytes(&mut random);
    let mut value: u128 = (u128::from(unix_millis & 0xFFFF_FFFF_FFFF)) << 80;
    for (i, b) in random.iter().enumerate() {
        value |= u128::from(*b) << (72 - 8 * i);
    }
    let mut body = [0u8; BODY_LEN];
    for (i, slot) in body.iter_mut().enumerate() {
        let shift = 5 * (BODY_LEN - 1 - i);
        *slot = CROCKFORD[((value >> shift) & 0x1F) as usize];
    }
    let body = std::str::from_utf8(&body).expect("alphabet is ASCII");
    format!("{}_{}", kind.prefix(), body)
}

/// True when `id` has `kind`'s prefix and a well-formed body. Checked before an id from a
/// request goes into a key, so a crafted id cannot reach into another key space.
pub fn is_valid(kind: IdKind, id: &str) -> bool {
    let Some(body) = id
        .strip_prefix(kind.prefix())
        .and_then(|rest| rest.strip_prefix('_'))
    else {
        return false;
    };
    body.len() == BODY_LEN
        && body.bytes().all(|b| CROCKFORD.contains(&b))
        // The first character carries only 3 bits of a 128-bit value.
        && body.as_bytes()[0] <= b'7'
}

/// Milliseconds since the epoch encoded in a valid id.
pub fn timestamp_millis(id: &str) -> Option<u64> {
    let body = id.rsplit_once('_')?.1;
    if body.len() != BODY_LEN {
        return None;
    }
    let mut value: u128 = 0;
    for b in body.bytes() {
        let digit = CROCKFORD.iter().position(|c| *c == b)? as u128;
        value = (value << 5) | digit;
    }
    Some((value >> 80) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_valid_and_time_ordered() {
        let a = new_id_at(IdKind::Event, 1_700_000_000_000);
        let b = new_id_at(IdKind::Event, 1_700_000_000_001);
        assert!(a.starts_with("evt_"));
        assert!(is_valid(IdKind::Event, &a));
        assert!(a < b);
        assert_eq!(timestamp_millis(&a), Some(1_700_000_000_000));
    }

    #[test]
    fn rejects_wrong_prefix_and_garbage() {
        let id = new_id(IdKind::Endpoint);
        assert!(is_valid(IdKind::Endpoint, &id));
        assert!(!is_valid(IdKind::Event, &id));
        assert!(!is_valid(IdKind::Endpoint, "wh_"));
        assert!(!is_valid(
            IdKind::Endpoint,
            "wh_01JD#TENANT#other0000000000"
        ));
        assert!(!is_valid(IdKind::Endpoint, &format!("{id}x")));
        assert!(!is_valid(IdKind::Endpoint, &id.to_lowercase()));
    }

    #[test]
    fn unique_within_one_millisecond() {
        let ids: std::collections::HashSet<_> =
            (0..1000).map(|_| new_id_at(IdKind::Job, 42)).collect();
        assert_eq!(ids.len(), 1000);
    }
}
