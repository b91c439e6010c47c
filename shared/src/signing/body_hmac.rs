//! `X-Webhook-Signature: sha256=<hex>`: HMAC-SHA256 of the raw body keyed by the endpoint's
//! secret string exactly as shown to its owner (`whsec_…`), the scheme the seed documents'
//! receivers already verify.

use super::{hmac_sha256, hmac_sha256_matches, SignatureError};

pub const PREFIX: &str = "sha256=";

pub fn sign(secret: &str, body: &[u8]) -> String {
    format!(
        "{PREFIX}{}",
        hex::encode(hmac_sha256(secret.as_bytes(), &[body]))
    )
}

/// Parses `sha256=` + 64 lowercase hex digits; anything else is malformed.
pub fn parse_header(value: &str) -> Result<[u8; 32], SignatureError> {
    let hex_part = value.strip_prefix(PREFIX).ok_or(SignatureError::Malformed(
        "signature header: expected sha256=<hex>",
    ))?;
    if hex_part.len() != 64
        || !hex_part
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(SignatureError::Malformed(
            "signature header: expected 64 lowercase hex digits",
        ));
    }
    let mut digest = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut digest)
        .map_err(|_| SignatureError::Malformed("signature header"))?;
    Ok(digest)
}

pub fn verify(key: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing("signature header"))?;
    let expected = parse_header(header)?;
    if hmac_sha256_matches(key, &[body], &expected) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_one_byte_change() {
        let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(secret, body);
        assert!(header.starts_with("sha256="));
        assert_eq!(verify(secret.as_bytes(), body, Some(&header)), Ok(()));
        assert_eq!(
            verify(secret.as_bytes(), br#"{"id":"evt_2"}"#, Some(&header)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn known_answer() {
        // RFC 4231 test case 2 ("Jefe"), as a body HMAC header.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn rejects_malformed_headers() {
        let key = b"k";
        let good = sign("k", b"x");
        for bad in [
            "",
            "sha1=abc",
            "sha256=",
            &good.to_uppercase(),
            &good[..good.len() - 2],
            &format!("{good}00"),
            &good.replace("sha256=", "SHA256="),
        ] {
            assert!(
                matches!(
                    verify(key, b"x", Some(bad)),
                    Err(SignatureError::Malformed(_))
                ),
                "{bad:?} should be malformed"
            );
        }
        assert_eq!(
            verify(key, b"x", None),
            Err(SignatureError::Missing("signature header"))
        );
    }
}
