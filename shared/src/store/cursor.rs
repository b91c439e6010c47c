//! Pagination cursors: DynamoDB's `LastEvaluatedKey`, base64url-encoded JSON. Opaque to
//! clients, and validated on the way back in: only key attributes, only strings, bounded
//! size, and the partition must be the one being queried, so a crafted cursor can never
//! start a query in another tenant's partition.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

use super::keys::{
    Index, GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK, GSI3_PK, GSI3_SK, GSI4_PK, GSI4_SK, PK, SK,
};
use super::StoreError;

const MAX_CURSOR_LEN: usize = 2048;
const MAX_VALUE_LEN: usize = 512;

pub fn encode_cursor(last_key: &HashMap<String, AttributeValue>) -> Result<String, StoreError> {
    let mut plain = BTreeMap::new();
    for (name, value) in last_key {
        let s = value
            .as_s()
            .map_err(|_| StoreError::Corrupt(format!("key attribute {name} is not a string")))?;
        plain.insert(name.as_str(), s.as_str());
    }
    let json = serde_json::to_vec(&plain).expect("string map serialises");
    Ok(B64.encode(json))
}

/// Decodes a cursor for a query on `index` in `partition`.
pub fn decode_cursor(
    cursor: &str,
    index: Index,
    partition: &str,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    if cursor.is_empty() || cursor.len() > MAX_CURSOR_LEN {
        return Err(StoreError::InvalidCursor("wrong length"));
    }
    let bytes = B64
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor("not base64url"))?;
    let plain: BTreeMap<String, String> =
        serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor("not a cursor"))?;

    let allowed: &[&str] = match index {
        Index::Primary => &[PK, SK],
        Index::Gsi1 => &[PK, SK, GSI1_PK, GSI1_SK],
        Index::Gsi2 => &[PK, SK, GSI2_PK, GSI2_SK],
        Index::Gsi3 => &[PK, SK, GSI3_PK, GSI3_SK],
        Index::Gsi4 => &[PK, SK, GSI4_PK, GSI4_SK],
    };
    if plain.len() != allowed.len() || !allowed.iter().all(|a| plain.contains_key(*a)) {
        return Err(StoreError::InvalidCursor("not a cursor for this list"));
    }
    if plain
        .values()
        .any(|v| v.is_empty() || v.len() > MAX_VALUE_LEN)
    {
        return Err(StoreError::InvalidCursor("value out of bounds"));
    }
    if plain.get(index.partition_attr()).map(String::as_str) != Some(partition) {
        return Err(StoreError::InvalidCursor("not a cursor for this list"));
    }
    Ok(plain
        .into_iter()
        .map(|(k, v)| (k, AttributeValue::S(v)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pairs: &[(&str, &str)]) -> HashMap<String, AttributeValue> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
            .collect()
    }

    #[test]
    fn round_trip() {
        let k = key(&[("pk", "T#a"), ("sk", "ENDPOINT#wh_1")]);
        let c = encode_cursor(&k).unwrap();
        assert_eq!(decode_cursor(&c, Index::Primary, "T#a").unwrap(), k);
    }

    #[test]
    fn another_partition_is_refused() {
        let c = encode_cursor(&key(&[("pk", "T#other"), ("sk", "ENDPOINT#wh_1")])).unwrap();
        assert_eq!(
            decode_cursor(&c, Index::Primary, "T#mine"),
            Err(StoreError::InvalidCursor("not a cursor for this list"))
        );
    }

    #[test]
    fn garbage_is_refused() {
        let extra = encode_cursor(&key(&[("pk", "T#a"), ("sk", "x"), ("secret", "y")])).unwrap();
        let gsi_for_primary = encode_cursor(&key(&[("pk", "T#a"), ("sk", "x")])).unwrap();
        for bad in [
            "",
            "!!!",
            "e30",
            &B64.encode(b"[1,2]"),
            &B64.encode(br#"{"pk":1,"sk":"x"}"#),
            &extra,
            &"A".repeat(5000),
        ] {
            assert!(decode_cursor(bad, Index::Primary, "T#a").is_err(), "{bad}");
        }
        assert!(decode_cursor(&gsi_for_primary, Index::Gsi1, "T#a").is_err());
    }
}
