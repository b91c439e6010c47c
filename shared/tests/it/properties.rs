//! Property tests (proptest) for everything that reads untrusted bytes: the Meta payload
//! splitter, the signature header parsers, the cursor decoder and the request validators.
//! Whatever arrives, they answer Ok or a typed error: no panic, and nothing they build grows
//! beyond a fixed multiple of what came in.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use hookhub_shared::masking::mask;
use hookhub_shared::messages::{Channel, SendRequest};
use hookhub_shared::meta::split;
use hookhub_shared::signing::standard_webhooks::{self, SigningSecret};
use hookhub_shared::signing::{body_hmac, meta};
use hookhub_shared::store::{decode_cursor, encode_cursor, Index};
use hookhub_shared::validation::{is_e164, parse_object, Fields, InputError};
use hookhub_shared::webhooks::target::{check_url, TargetPolicy};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn config() -> ProptestConfig {
    // Enough cases to find shape confusions, few enough to keep `make test` quick; a failure
    // prints its minimal input and seed.
    ProptestConfig {
        cases: 1024,
        ..ProptestConfig::default()
    }
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        prop_oneof![
            Just("text"),
            Just("image"),
            Just("sent"),
            Just("read"),
            Just("messages"),
            Just("comments"),
            Just("wamid.HBgL")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Keys Meta's payloads use, mixed with arbitrary ones, so generated objects hit the splitter's
/// real paths with wrong types in them.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "id", "from", "type", "text", "body", "timestamp", "status", "statuses", "messages",
            "contacts", "wa_id", "profile", "name", "errors", "code", "recipient_id", "sender",
            "recipient", "message", "mid", "is_echo", "reaction", "postback", "referral", "read",
            "field", "value", "media", "comment_id", "username", "metadata", "phone_number_id",
        ])
        .prop_map(String::from),
        1 => "[a-z_]{1,12}",
    ]
}

/// A Meta-shaped envelope with arbitrary values wherever Meta puts data.
fn meta_envelope() -> impl Strategy<Value = Value> {
    let object = prop_oneof![
        Just(json!("whatsapp_business_account")),
        Just(json!("instagram")),
        Just(json!("page")),
        any_json(),
    ];
    let field = prop_oneof![
        Just(json!("messages")),
        Just(json!("comments")),
        Just(json!("live_comments")),
        Just(json!("mentions")),
        any_json(),
    ];
    let whatsapp_value = (
        prop::collection::vec(any_json(), 0..4),
        prop::collection::vec(any_json(), 0..4),
        prop::collection::vec(any_json(), 0..4),
    )
        .prop_map(|(contacts, messages, statuses)| {
            json!({"messaging_product": "whatsapp", "contacts": contacts, "messages": messages, "statuses": statuses})
        });
    let change = (field, prop_oneof![whatsapp_value, any_json()])
        .prop_map(|(field, value)| json!({"field": field, "value": value}));
    let messaging = any_json().prop_map(|extra| {
        let mut item = json!({"sender": {"id": "1"}, "recipient": {"id": "2"}, "timestamp": 1});
        if let Value::Object(m) = extra {
            for (k, v) in m {
                item[k] = v;
            }
        }
        item
    });
    let entry = (
        any_json(),
        prop::collection::vec(change, 0..4),
        prop::collection::vec(messaging, 0..4),
    )
        .prop_map(|(id, changes, messaging)| {
            json!({"id": id, "time": 1_700_000_000, "changes": changes, "messaging": messaging})
        });
    (object, prop::collection::vec(entry, 0..4))
        .prop_map(|(object, entry)| json!({"object": object, "entry": entry}))
}

/// Splitting checks that hold for every body: items come from the body and stay in
/// proportion to it.
fn check_split(body: &[u8]) -> Result<(), TestCaseError> {
    let Ok(items) = split(body) else {
        return Ok(());
    };
    let text = std::str::from_utf8(body).expect("split only accepts UTF-8");
    prop_assert!(items.len() <= body.len(), "more items than bytes");
    for item in &items {
        prop_assert!(!item.natural_id.key().is_empty());
        prop_assert!(text.contains(item.raw), "raw is a slice of the body");
        let data = serde_json::to_vec(&item.data()).unwrap().len();
        prop_assert!(
            data <= 4 * item.raw.len() + 4096,
            "normalised data of {data} bytes for a {}-byte item",
            item.raw.len()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn split_handles_any_meta_shaped_body(envelope in meta_envelope()) {
        let body = serde_json::to_vec(&envelope).unwrap();
        check_split(&body)?;
    }

    #[test]
    fn split_handles_any_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        check_split(&body)?;
    }

    #[test]
    fn split_handles_any_json(value in any_json()) {
        check_split(&serde_json::to_vec(&value).unwrap())?;
    }

    #[test]
    fn sha256_header_parser_accepts_only_its_own_format(header in prop_oneof![
        ".{0,80}",
        "sha256=[0-9a-f]{64}",
        // Near misses: wrong case, length, alphabet or prefix.
        "sha256=[0-9a-fA-F]{62,66}",
        "(sha256|SHA256|sha1|sha256 )=[0-9a-f]{64}",
        "sha256=[0-9a-g]{64}",
    ]) {
        let valid = header.len() == 71
            && header.starts_with("sha256=")
            && header[7..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        match body_hmac::parse_header(&header) {
            Ok(digest) => {
                prop_assert!(valid, "accepted {header}");
                prop_assert_eq!(format!("sha256={}", hex::encode(digest)), header);
            }
            Err(_) => prop_assert!(!valid, "refused {header}"),
        }
    }

    #[test]
    fn body_signatures_verify_only_the_signed_bytes(
        secret in "[ -~]{1,64}",
        body in prop::collection::vec(any::<u8>(), 0..2048),
        flip in any::<prop::sample::Index>(),
    ) {
        let header = body_hmac::sign(&secret, &body);
        prop_assert!(meta::verify(&secret, &body, Some(&header)).is_ok());
        if !body.is_empty() {
            let mut changed = body.clone();
            let at = flip.index(body.len());
            changed[at] ^= 0x01;
            prop_assert!(meta::verify(&secret, &changed, Some(&header)).is_err());
        }
        prop_assert!(meta::verify(&secret, &body, Some(&header.to_uppercase())).is_err());
    }

    #[test]
    fn standard_webhooks_verify_never_panics_on_any_headers(
        id in proptest::option::of(".{0,40}"),
        timestamp in proptest::option::of(".{0,20}"),
        header in proptest::option::of(".{0,200}"),
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let secret = SigningSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let result = standard_webhooks::verify(
            &secret,
            id.as_deref(),
            timestamp.as_deref(),
            header.as_deref(),
            &body,
            1_763_800_000,
        );
        // Random headers never carry a valid MAC.
        prop_assert!(result.is_err());
    }

    #[test]
    fn standard_webhooks_round_trip_and_reject_changes(
        id in "[A-Za-z0-9_]{1,40}",
        body in prop::collection::vec(any::<u8>(), 0..1024),
        skew in -300i64..=300,
        extra in 0usize..3,
    ) {
        let secret = SigningSecret::generate();
        let ts = 1_763_800_000i64;
        // Other secrets' signatures beside ours, as during a rotation.
        let mut secrets: Vec<_> = (0..extra).map(|_| SigningSecret::generate()).collect();
        secrets.push(secret.clone());
        let header = standard_webhooks::signature_header(&secrets, &id, ts, &body);
        let ts_text = ts.to_string();
        let verify = |body: &[u8], id: &str| {
            standard_webhooks::verify(&secret, Some(id), Some(&ts_text), Some(&header), body, ts + skew)
        };
        prop_assert!(verify(&body, &id).is_ok());
        let mut changed = body.clone();
        changed.push(b' ');
        prop_assert!(verify(&changed, &id).is_err());
        let other_id = format!("{id}x");
        prop_assert!(verify(&body, &other_id).is_err());
    }

    #[test]
    fn signing_secret_parser_accepts_exactly_whsec_and_a_24_to_64_byte_key(text in prop_oneof![
        ".{0,120}",
        prop::collection::vec(any::<u8>(), 0..80).prop_map(|key| format!("whsec_{}", b64(&key))),
        // Near misses: another prefix, broken base64, URL-safe base64.
        prop::collection::vec(any::<u8>(), 20..70).prop_map(|key| format!("whsek_{}", b64(&key))),
        prop::collection::vec(any::<u8>(), 24..64).prop_map(|key| format!("whsec_{}!", b64(&key))),
        prop::collection::vec(any::<u8>(), 24..64).prop_map(|key| {
            use base64::Engine;
            format!("whsec_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key))
        }),
    ]) {
        use base64::Engine;
        let key = text
            .strip_prefix("whsec_")
            .and_then(|k| base64::engine::general_purpose::STANDARD.decode(k).ok());
        let valid = key.is_some_and(|k| (24..=64).contains(&k.len()));
        match SigningSecret::parse(&text) {
            Ok(secret) => {
                prop_assert!(valid, "accepted {text}");
                prop_assert_eq!(secret.expose(), text.as_str());
            }
            Err(_) => prop_assert!(!valid, "refused {text}"),
        }
    }

    #[test]
    fn cursor_decoder_refuses_anything_not_its_own(cursor in prop_oneof![
        ".{0,600}",
        any_json().prop_map(|v| b64url(&serde_json::to_vec(&v).unwrap())),
        // Well-formed cursors of other lists: another tenant, another index, extra keys.
        ("[a-z0-9_]{1,12}".prop_filter("another tenant", |t| t != "acme"), "[ -~]{1,40}")
            .prop_map(|(tenant, sk)| {
            let key: HashMap<String, AttributeValue> = [
                ("pk".to_string(), AttributeValue::S(format!("T#{tenant}"))),
                ("sk".to_string(), AttributeValue::S(sk)),
            ].into_iter().collect();
            encode_cursor(&key).unwrap()
        }),
        "[ -~]{1,40}".prop_map(|sk| {
            let key: HashMap<String, AttributeValue> = [
                ("pk".to_string(), AttributeValue::S("T#acme".into())),
                ("sk".to_string(), AttributeValue::S(sk)),
                ("gsi1pk".to_string(), AttributeValue::S("T#other".into())),
            ].into_iter().collect();
            encode_cursor(&key).unwrap()
        }),
    ]) {
        // None of these is a cursor of T#acme's primary listing, nor of its gsi1 listing.
        prop_assert!(decode_cursor(&cursor, Index::Primary, "T#acme").is_err(), "{cursor}");
        prop_assert!(decode_cursor(&cursor, Index::Gsi1, "T#acme").is_err(), "{cursor}");
    }

    #[test]
    fn cursor_decoder_handles_crafted_json(map in prop::collection::btree_map(
        prop::sample::select(vec!["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "other"]).prop_map(String::from),
        prop_oneof![".{0,30}".prop_map(Value::String), any_json()],
        0..6,
    )) {
        use base64::Engine;
        let json = serde_json::to_vec(&map).unwrap();
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
        if let Ok(key) = decode_cursor(&cursor, Index::Primary, "T#acme") {
            // Only a key of this list's partition gets through.
            prop_assert_eq!(key.get("pk").and_then(|v| v.as_s().ok()).map(String::as_str), Some("T#acme"));
            prop_assert_eq!(key.len(), 2);
        }
    }

    #[test]
    fn cursors_round_trip_within_their_partition(sk in "[ -~]{1,100}", other in "[a-z]{1,10}") {
        let key: HashMap<String, AttributeValue> = [
            ("pk".to_string(), AttributeValue::S("T#acme".into())),
            ("sk".to_string(), AttributeValue::S(sk)),
        ]
        .into_iter()
        .collect();
        let cursor = encode_cursor(&key).unwrap();
        prop_assert_eq!(decode_cursor(&cursor, Index::Primary, "T#acme").unwrap(), key);
        let other_partition = format!("T#{other}x");
        prop_assert!(decode_cursor(&cursor, Index::Primary, &other_partition).is_err());
    }

    #[test]
    fn body_parser_answers_every_body(body in prop::collection::vec(any::<u8>(), 0..256)) {
        match parse_object(&body) {
            Ok(map) => prop_assert!(serde_json::to_vec(&map).unwrap().len() <= 4 * body.len()),
            Err(InputError::Malformed(message)) => prop_assert!(!message.is_empty()),
            Err(InputError::Invalid(_)) => prop_assert!(false, "a body is malformed or an object"),
        }
    }

    #[test]
    fn field_readers_type_check_any_value(value in any_json()) {
        let mut map = Map::new();
        for name in ["s", "n", "b", "l", "m", "o"] {
            map.insert(name.into(), value.clone());
        }
        let mut fields = Fields::new(map);
        let s = fields.string("s", 10);
        let n = fields.integer("n", 0, 10);
        let b = fields.bool("b");
        let l = fields.string_list("l", 3, 5);
        let m = fields.string_map("m", 3, 5);
        let o = fields.object("o", |inner| inner.string("x", 5));
        if let Some(s) = s { prop_assert!(s.chars().count() <= 10); }
        if let Some(n) = n { prop_assert!((0..=10).contains(&n)); }
        prop_assert_eq!(b.is_some(), value.is_boolean());
        if let Some(l) = l { prop_assert!(l.len() <= 3 && l.iter().all(|i| i.chars().count() <= 5)); }
        if let Some(m) = m { prop_assert!(m.len() <= 3); }
        let _ = o;
        // Every value that was not taken cleanly is reported against its field.
        if let Err(InputError::Invalid(errors)) = fields.finish() {
            prop_assert!(errors.iter().all(|e| !e.message.is_empty() && !e.field.is_empty()));
        }
    }

    #[test]
    fn send_requests_validate_any_body(
        channel in prop_oneof![Just(json!("sms")), Just(json!("whatsapp")), any_json()],
        to in prop_oneof!["\\+[1-9][0-9]{6,14}".prop_map(Value::String), any_json()],
        text in prop_oneof![".{0,50}".prop_map(Value::String), any_json()],
        template in proptest::option::of(any_json()),
    ) {
        let mut map = Map::new();
        map.insert("channel".into(), channel);
        map.insert("to".into(), to);
        map.insert("text".into(), text);
        if let Some(t) = template { map.insert("template".into(), t); }
        let mut fields = Fields::new(map);
        let request = SendRequest::read(&mut fields, Some(Channel::Sms));
        let finished = fields.finish();
        match request {
            Some(request) => prop_assert!(is_e164(&request.to), "{}", request.to),
            // Every refusal is explained field by field.
            None => prop_assert!(matches!(finished, Err(InputError::Invalid(ref e)) if !e.is_empty())),
        }
    }

    #[test]
    fn masking_shows_at_most_two_thirds_and_never_the_middle(secret in ".{0,60}") {
        let masked = mask(&secret);
        let n = secret.chars().count();
        let shown = masked.chars().count() - 3;
        prop_assert!(masked.contains("***"));
        prop_assert!(shown <= 16 && shown * 3 <= n * 2, "{shown} of {n} shown");
        let (head, tail) = match n {
            24.. => (10, 6),
            8..=23 => (0, 4),
            _ => (0, 0),
        };
        let chars: Vec<char> = secret.chars().collect();
        let expected: String = chars[..head]
            .iter()
            .chain("***".chars().collect::<Vec<_>>().iter())
            .chain(chars[n - tail..].iter())
            .collect();
        prop_assert_eq!(masked, expected);
    }

    #[test]
    fn e164_accepts_only_plus_and_8_to_15_digits(phone in prop_oneof![
        ".{0,20}",
        "\\+[1-9][0-9]{7,14}",
        // Near misses: too short or long, a leading 0, no plus, a space or a letter.
        "\\+[0-9]{5,18}",
        "[1-9][0-9]{7,14}",
        "\\+[1-9][0-9 a]{7,14}",
    ]) {
        let digits = phone.strip_prefix('+').unwrap_or("");
        let valid = phone.starts_with('+')
            && (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        prop_assert_eq!(is_e164(&phone), valid, "{}", phone);
    }

    #[test]
    fn url_checks_never_panic_and_keep_to_https(raw in prop_oneof![
        ".{0,80}",
        "https?://[a-z0-9.:@\\[\\]-]{0,40}(/[ -~]{0,20})?",
    ]) {
        let policy = TargetPolicy { allow_private: false, allow_http: false };
        if let Ok(url) = check_url(&raw, policy) {
            prop_assert_eq!(url.scheme(), "https");
            prop_assert!(url.username().is_empty() && url.password().is_none());
        }
    }
}
