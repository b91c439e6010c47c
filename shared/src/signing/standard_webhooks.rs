//! Standard Webhooks v1 (the scheme of Svix and standardwebhooks.com): the signed content is
//! `{webhook-id}.{webhook-timestamp}.{body}`, HMAC-SHA256 under the base64-decoded part of
//! a `whsec_` secret, sent as `v1,<base64>`; several space-separated signatures during a
//! secret rotation.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;

use super::{hmac_sha256, hmac_sha256_matches, SignatureError};

pub const SECRET_PREFIX: &str = "whsec_";
pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// Receivers reject timestamps further than this from their clock, either way.
pub const TOLERANCE_SECS: i64 = 5 * 60;
const MIN_KEY_BYTES: usize = 24;
const MAX_KEY_BYTES: usize = 64;
const GENERATED_KEY_BYTES: usize = 32;

/// A signing secret: the `whsec_…` text its owner sees and the key bytes it encodes.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret {
    text: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

impl SigningSecret {
    pub fn generate() -> Self {
        let mut key = vec![0u8; GENERATED_KEY_BYTES];
        rand::thread_rng().fill_bytes(&mut key);
        Self {
            text: format!("{SECRET_PREFIX}{}", B64.encode(&key)),
            key,
        }
    }

    /// Accepts `whsec_` + standard base64 of 24 to 64 bytes.
    pub fn parse(text: &str) -> Result<Self, SignatureError> {
        let encoded = text
            .strip_prefix(SECRET_PREFIX)
            .ok_or(SignatureError::InvalidSecret("must start with whsec_"))?;
        let key = B64
            .decode(encoded)
            .map_err(|_| SignatureError::InvalidSecret("the part after whsec_ must be base64"))?;
        if !(MIN_KEY_BYTES..=MAX_KEY_BYTES).contains(&key.len()) {
            return Err(SignatureError::InvalidSecret(
                "the key must be 24 to 64 bytes once base64-decoded",
            ));
        }
        Ok(Self {
            text: text.to_string(),
            key,
        })
    }

    /// The full secret text; shown to its owner once, sealed before it is stored.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// `v1,<base64>` for one message.
    pub fn sign(&self, msg_id: &str, timestamp: i64, payload: &[u8]) -> String {
        let ts = timestamp.to_string();
        let mac = hmac_sha256(
            &self.key,
            &[msg_id.as_bytes(), b".", ts.as_bytes(), b".", payload],
        );
        format!("v1,{}", B64.encode(mac))
    }

    fn matches(&self, msg_id: &str, timestamp: &str, payload: &[u8], signature: &[u8]) -> bool {
        hmac_sha256_matches(
            &self.key,
            &[msg_id.as_bytes(), b".", timestamp.as_bytes(), b".", payload],
            signature,
        )
    }
}

/// The `webhook-signature` value: one `v1,` signature per active secret, space-separated.
pub fn signature_header(
    secrets: &[SigningSecret],
    msg_id: &str,
    timestamp: i64,
    payload: &[u8],
) -> String {
    secrets
        .iter()
        .map(|s| s.sign(msg_id, timestamp, payload))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a receiver does: the timestamp within `TOLERANCE_SECS` of `now`, and any one of the
/// `v1` signatures in the header made by `secret`.
pub fn verify(
    secret: &SigningSecret,
    msg_id: Option<&str>,
    timestamp: Option<&str>,
    signature_header: Option<&str>,
    payload: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let msg_id = msg_id.ok_or(SignatureError::Missing(ID_HEADER))?;
    let timestamp = timestamp.ok_or(SignatureError::Missing(TIMESTAMP_HEADER))?;
    let header = signature_header.ok_or(SignatureError::Missing(SIGNATURE_HEADER))?;
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| SignatureError::Malformed(TIMESTAMP_HEADER))?;
    if (now - ts).abs() > TOLERANCE_SECS {
        return Err(SignatureError::StaleTimestamp);
    }
    let mut any_matched = false;
    for candidate in header.split(' ').filter(|s| !s.is_empty()) {
        let Some(("v1", encoded)) = candidate.split_once(',') else {
            continue;
        };
        let Ok(signature) = B64.decode(encoded) else {
            continue;
        };
        // Keep checking after a match, so the time taken does not say which one matched.
        any_matched |= secret.matches(msg_id, timestamp, payload, &signature);
    }
    if any_matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The vectors published with the Standard Webhooks reference libraries.
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const MSG_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TIMESTAMP: i64 = 1_649_367_553;
    const PAYLOAD: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const EXPECTED: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";
    const OTHER_SIGNATURES: [&str; 3] = [
        "v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ=",
        "v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q=",
        "v1,9DfC1c3eeOrXB6w/5dIDydLNQaEyww5KalE5jLBZucE=",
    ];

    fn secret() -> SigningSecret {
        SigningSecret::parse(SECRET).unwrap()
    }

    fn check(header: &str, ts: i64, now: i64) -> Result<(), SignatureError> {
        verify(
            &secret(),
            Some(MSG_ID),
            Some(&ts.to_string()),
            Some(header),
            PAYLOAD,
            now,
        )
    }

    #[test]
    fn published_vector_signs() {
        assert_eq!(secret().sign(MSG_ID, TIMESTAMP, PAYLOAD), EXPECTED);
    }

    #[test]
    fn published_vector_verifies_within_tolerance() {
        assert_eq!(check(EXPECTED, TIMESTAMP, TIMESTAMP), Ok(()));
        assert_eq!(
            check(EXPECTED, TIMESTAMP, TIMESTAMP + TOLERANCE_SECS),
            Ok(())
        );
        assert_eq!(
            check(EXPECTED, TIMESTAMP, TIMESTAMP - TOLERANCE_SECS),
            Ok(())
        );
    }

    #[test]
    fn wrong_signature_fails() {
        let wrong = "v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU=";
        assert_eq!(
            check(wrong, TIMESTAMP, TIMESTAMP),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stale_or_future_timestamp_fails() {
        for now in [
            TIMESTAMP + TOLERANCE_SECS + 1,
            TIMESTAMP - TOLERANCE_SECS - 1,
        ] {
            assert_eq!(
                check(EXPECTED, TIMESTAMP, now),
                Err(SignatureError::StaleTimestamp)
            );
        }
    }

    #[test]
    fn several_signatures_one_valid_passes() {
        let multi = format!(
            "{} {} {} {}",
            OTHER_SIGNATURES[0], OTHER_SIGNATURES[1], EXPECTED, OTHER_SIGNATURES[2]
        );
        assert_eq!(check(&multi, TIMESTAMP, TIMESTAMP), Ok(()));
        let none_valid = OTHER_SIGNATURES.join(" ");
        assert_eq!(
            check(&none_valid, TIMESTAMP, TIMESTAMP),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn partial_signatures_fail() {
        let encoded = EXPECTED.strip_prefix("v1,").unwrap();
        for partial in [
            "v1,".to_string(),
            "v1".to_string(),
            encoded.to_string(),
            format!("v1,{}", &encoded[..encoded.len() / 2]),
            format!("v1,{}", &encoded[..encoded.len() - 4]),
            format!("v2,{encoded}"),
        ] {
            assert_eq!(
                check(&partial, TIMESTAMP, TIMESTAMP),
                Err(SignatureError::Mismatch),
                "{partial:?}"
            );
        }
    }

    #[test]
    fn changed_payload_or_id_fails() {
        let other = br#"{"email":"test@example.com","username":"test_usex"}"#;
        let ts = TIMESTAMP.to_string();
        assert!(verify(
            &secret(),
            Some(MSG_ID),
            Some(&ts),
            Some(EXPECTED),
            other,
            TIMESTAMP
        )
        .is_err());
        assert!(verify(
            &secret(),
            Some("msg_other"),
            Some(&ts),
            Some(EXPECTED),
            PAYLOAD,
            TIMESTAMP
        )
        .is_err());
    }

    #[test]
    fn missing_headers_fail() {
        let ts = TIMESTAMP.to_string();
        let s = secret();
        assert_eq!(
            verify(&s, None, Some(&ts), Some(EXPECTED), PAYLOAD, TIMESTAMP),
            Err(SignatureError::Missing(ID_HEADER))
        );
        assert_eq!(
            verify(&s, Some(MSG_ID), None, Some(EXPECTED), PAYLOAD, TIMESTAMP),
            Err(SignatureError::Missing(TIMESTAMP_HEADER))
        );
        assert_eq!(
            verify(&s, Some(MSG_ID), Some(&ts), None, PAYLOAD, TIMESTAMP),
            Err(SignatureError::Missing(SIGNATURE_HEADER))
        );
        assert_eq!(
            verify(
                &s,
                Some(MSG_ID),
                Some("soon"),
                Some(EXPECTED),
                PAYLOAD,
                TIMESTAMP
            ),
            Err(SignatureError::Malformed(TIMESTAMP_HEADER))
        );
    }

    #[test]
    fn rotation_header_carries_every_secret() {
        let old = secret();
        let new = SigningSecret::generate();
        let header = signature_header(&[new.clone(), old.clone()], MSG_ID, TIMESTAMP, PAYLOAD);
        let ts = TIMESTAMP.to_string();
        for s in [&old, &new] {
            assert_eq!(
                verify(
                    s,
                    Some(MSG_ID),
                    Some(&ts),
                    Some(&header),
                    PAYLOAD,
                    TIMESTAMP
                ),
                Ok(())
            );
        }
    }

    #[test]
    fn secret_parsing() {
        let generated = SigningSecret::generate();
        assert!(generated.expose().starts_with("whsec_"));
        assert_eq!(SigningSecret::parse(generated.expose()).unwrap(), generated);
        assert!(SigningSecret::parse("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_err());
        assert!(SigningSecret::parse("whsec_not base64!").is_err());
        assert!(SigningSecret::parse("whsec_c2hvcnQ=").is_err());
        assert!(!format!("{generated:?}").contains(generated.expose()));
    }
}
