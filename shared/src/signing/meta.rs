//! Meta's `X-Hub-Signature-256: sha256=<hex>`: HMAC-SHA256 of the raw request bytes under the
//! app secret. Verified over the bytes as received, never a re-serialisation.

use super::{body_hmac, SignatureError};

pub const HEADER: &str = "x-hub-signature-256";

pub fn verify(
    app_secret: &str,
    raw_body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    body_hmac::verify(app_secret.as_bytes(), raw_body, header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_raw_bytes_not_reserialised_json() {
        // Meta escapes non-ASCII as \uXXXX; parsing and re-serialising changes the bytes.
        let secret = "app-secret-0123456789";
        let raw = br#"{"entry":[{"changes":[{"value":{"text":"caf\u00e9 \ud83d\ude00"}}]}]}"#;
        let header = body_hmac::sign(secret, raw);
        assert_eq!(verify(secret, raw, Some(&header)), Ok(()));

        let reserialised =
            serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(raw).unwrap()).unwrap();
        assert_ne!(reserialised.as_slice(), raw.as_slice());
        assert_eq!(
            verify(secret, &reserialised, Some(&header)),
            Err(SignatureError::Mismatch)
        );
    }

    /// The published example of the same `X-Hub-Signature-256` scheme from GitHub's
    /// "Validating webhook deliveries" documentation.
    #[test]
    fn published_example_verifies() {
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(
            verify("It's a Secret to Everybody", b"Hello, World!", Some(header)),
            Ok(())
        );
        assert_eq!(
            verify("It's a Secret to Everybody", b"Hello, World?", Some(header)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn wrong_secret_and_missing_header_fail() {
        let raw = b"{}";
        let header = body_hmac::sign("right", raw);
        assert_eq!(
            verify("wrong", raw, Some(&header)),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify("right", raw, None),
            Err(SignatureError::Missing(_))
        ));
        let sha1 = format!("sha1={}", "0".repeat(40));
        assert!(matches!(
            verify("right", raw, Some(&sha1)),
            Err(SignatureError::Malformed(_))
        ));
    }
}
