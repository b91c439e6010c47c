use std::collections::HashSet;

use serde_json::json;

use super::samples::{cases, SampleParams};
use super::split::{split, Channel, UNKNOWN};

fn params() -> SampleParams {
    SampleParams {
        account_id: "17841400008460056".into(),
        sender_id: "16505551234".into(),
        sender_username: "sheena.nelson".into(),
        phone_number_id: None,
    }
}

#[test]
fn every_sample_case_becomes_one_item_of_its_type() {
    let mut ids = HashSet::new();
    for case in cases(&params(), "R1", 1_732_000_000) {
        let body = serde_json::to_vec(&case.body).unwrap();
        let items = split(&body).unwrap();
        assert_eq!(items.len(), 1, "{}", case.name);
        let item = &items[0];
        assert_eq!(item.event_type, case.expected_type, "{}", case.name);
        assert_eq!(item.channel, case.channel, "{}", case.name);
        assert!(
            ids.insert(item.natural_id.to_string()),
            "{} repeats an id",
            case.name
        );
        let raw_text = std::str::from_utf8(&body).unwrap();
        assert!(
            raw_text.contains(item.raw),
            "{}: raw is a slice of the body",
            case.name
        );
        assert!(item.occurred_at.is_some(), "{}", case.name);
    }
    let again: Vec<String> = cases(&params(), "R2", 1_732_000_000)
        .iter()
        .map(|c| {
            split(&serde_json::to_vec(&c.body).unwrap()).unwrap()[0]
                .natural_id
                .to_string()
        })
        .collect();
    assert!(
        again.iter().all(|id| !ids.contains(id)),
        "a new run gives new ids"
    );
}

/// Shaped like the text-message example in the WhatsApp Cloud API webhook reference, with
/// Meta's \u escapes left as received.
const WHATSAPP_TEXT: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Caf\u00e9 \ud83d\ude00 does it come in another color?"}}]},"field":"messages"}]}]}"#;

#[test]
fn whatsapp_text_message_is_normalised_with_its_contact() {
    let items = split(WHATSAPP_TEXT.as_bytes()).unwrap();
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item.event_type, "message.received");
    assert_eq!(
        item.natural_id,
        "wa:wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    );
    assert_eq!(item.account_id.as_deref(), Some("102290129340398"));
    assert_eq!(item.occurred_at, Some(1_749_416_383_000));
    assert!(
        item.raw.contains(r"Caf\u00e9 \ud83d\ude00"),
        "raw keeps Meta's escapes"
    );
    assert_eq!(
        item.data()["message"]["text"],
        "Café 😀 does it come in another color?"
    );
    assert_eq!(item.data()["message"]["from"], "16505551234");
    assert_eq!(item.data()["message"]["to"], "15550783881");
    assert_eq!(item.data()["phoneNumberId"], "106540352242922");
    assert_eq!(item.data()["occurredAt"], "2025-06-08T20:59:43.000Z");
    let contact = item.contact.as_ref().unwrap();
    assert_eq!(contact.channel, Channel::Whatsapp);
    assert_eq!(contact.external_id, "16505551234");
    assert_eq!(contact.name.as_deref(), Some("Sheena Nelson"));
}

#[test]
fn a_contact_profile_names_its_own_sender_only() {
    let body = |contacts: serde_json::Value| {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": contacts,
            "messages": [{"from": "222", "id": "wamid.A", "timestamp": "1749416383", "type": "text", "text": {"body": "hi"}}]
        }}]}]})
        .to_string()
    };
    let name_of_sender = |contacts: serde_json::Value| {
        let body = body(contacts);
        let items = split(body.as_bytes()).unwrap();
        let contact = items[0].contact.as_ref().unwrap();
        assert_eq!(contact.external_id, "222");
        contact.name.as_deref().map(str::to_string)
    };
    assert_eq!(
        name_of_sender(json!([{"profile": {"name": "Alice"}, "wa_id": "111"}])),
        None,
        "another number's profile"
    );
    assert_eq!(
        name_of_sender(
            json!([{"profile": {"name": "Alice"}, "wa_id": "111"}, {"profile": {"name": "Bob"}, "wa_id": "222"}])
        ),
        Some("Bob".into())
    );
    assert_eq!(
        name_of_sender(json!([{"profile": {"name": "Carol"}}])),
        Some("Carol".into()),
        "the only profile, with no wa_id to say otherwise"
    );
    assert_eq!(
        name_of_sender(json!([{"profile": {"name": "Carol"}}, {"profile": {"name": "Dan"}}])),
        None
    );
}

#[test]
fn whatsapp_statuses_become_typed_events_keyed_by_id_and_status() {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
    "messaging_product": "whatsapp",
    "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
    "statuses": [
        {"id": "wamid.OUT1", "status": "sent", "timestamp": "1749416383", "recipient_id": "16505551234"},
        {"id": "wamid.OUT1", "status": "delivered", "timestamp": "1749416384", "recipient_id": "16505551234"},
        {"id": "wamid.OUT1", "status": "read", "timestamp": "1749416385", "recipient_id": "16505551234"},
        {"id": "wamid.OUT2", "status": "failed", "timestamp": "1749416386", "recipient_id": "16505551234",
         "errors": [{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                     "error_data": {"details": "Message Undeliverable."}}]},
        {"id": "wamid.OUT3", "status": "deleted", "timestamp": "1749416387", "recipient_id": "16505551234"}
    ]}}]}]});
    let bytes = serde_json::to_vec(&body).unwrap();
    let items = split(&bytes).unwrap();
    let types: Vec<_> = items.iter().map(|i| i.event_type).collect();
    assert_eq!(
        types,
        [
            "message.sent",
            "message.delivered",
            "message.read",
            "message.failed",
            UNKNOWN
        ]
    );
    assert_eq!(items[1].natural_id, "wa:wamid.OUT1:delivered");
    let failed = &items[3];
    assert_eq!(failed.data()["error"]["code"], "131026");
    assert_eq!(failed.data()["error"]["details"], "Message Undeliverable.");
    let report = failed.status_report.as_ref().unwrap();
    assert_eq!(report.provider_message_id, "wamid.OUT2");
    assert_eq!(report.status, "failed");
    assert_eq!(report.error_code.as_deref(), Some("131026"));
    assert!(
        items[0].contact.is_none(),
        "a status is not an inbound contact"
    );
}

#[test]
fn whatsapp_message_types_keep_their_content() {
    let message = |kind: &str, content: serde_json::Value| {
        let mut m = json!({"from": "16505551234", "id": format!("wamid.{kind}"), "timestamp": "1749416383", "type": kind});
        m[kind] = content;
        m
    };
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
    "messaging_product": "whatsapp",
    "metadata": {"display_phone_number": "15550783881", "phone_number_id": "1"},
    "contacts": [{"profile": {"name": "Sheena"}, "wa_id": "16505551234"}],
    "messages": [
        message("image", json!({"caption": "size?", "mime_type": "image/jpeg", "id": "111"})),
        message("document", json!({"filename": "invoice.pdf", "mime_type": "application/pdf", "id": "112"})),
        message("audio", json!({"mime_type": "audio/ogg; codecs=opus", "id": "113", "voice": true})),
        message("location", json!({"latitude": 38.9, "longitude": -77.0, "name": "Shop"})),
        message("contacts", json!([{"name": {"formatted_name": "Ann"}, "phones": [{"phone": "+1 555"}]}])),
        message("button", json!({"text": "Yes", "payload": "YES"})),
        message("interactive", json!({"type": "list_reply", "list_reply": {"id": "r1", "title": "Row 1"}})),
        message("reaction", json!({"message_id": "wamid.OUT", "emoji": "👍"})),
        message("sticker", json!({"mime_type": "image/webp", "id": "114", "animated": false})),
        message("unsupported", json!(null)),
    ]}}]}]});
    let bytes = serde_json::to_vec(&body).unwrap();
    let items = split(&bytes).unwrap();
    assert_eq!(items.len(), 10);
    let text = |i: usize| items[i].data()["message"]["text"].clone();
    assert_eq!(text(0), "size?");
    assert_eq!(
        items[1].data()["message"]["content"]["filename"],
        "invoice.pdf"
    );
    assert_eq!(items[2].data()["message"]["content"]["voice"], true);
    assert_eq!(text(3), "Shop");
    assert_eq!(text(5), "Yes");
    assert_eq!(items[5].event_type, "message.postback");
    assert_eq!(text(6), "Row 1");
    assert_eq!(items[7].event_type, "message.reaction");
    assert_eq!(
        items[7].data()["message"]["content"]["message_id"],
        "wamid.OUT"
    );
    assert_eq!(items[9].event_type, "message.received");
    assert!(items
        .iter()
        .all(|i| i.contact.as_ref().unwrap().name.as_deref() == Some("Sheena")));
}

#[test]
fn batches_of_entries_and_changes_are_all_split() {
    let change = |id: &str| json!({"field": "comments", "value": {"id": id, "text": "hi", "from": {"id": "u1", "username": "ann"}, "media": {"id": "m1"}}});
    let body = json!({"object": "instagram", "entry": [
        {"id": "IG1", "time": 1749416383, "changes": [change("c1"), change("c2")]},
        {"id": "IG1", "time": 1749416384, "changes": [change("c3")],
         "messaging": [{"sender": {"id": "u2"}, "recipient": {"id": "IG1"}, "timestamp": 1749416384123u64, "message": {"mid": "m-1", "text": "yo"}}]}
    ]});
    let bytes = serde_json::to_vec(&body).unwrap();
    let items = split(&bytes).unwrap();
    let ids: Vec<_> = items.iter().map(|i| i.natural_id.to_string()).collect();
    assert_eq!(
        ids,
        ["ig:comment:c1", "ig:comment:c2", "ig:comment:c3", "ig:m-1"]
    );
    assert_eq!(
        items[0].contact.as_ref().unwrap().username.as_deref(),
        Some("ann")
    );
    assert_eq!(items[3].occurred_at, Some(1_749_416_384_123));
    assert_eq!(items[3].data()["message"]["direction"], "inbound");
}

#[test]
fn messenger_page_messaging_is_the_messenger_channel() {
    let body = br#"{"object":"page","entry":[{"id":"PAGE1","time":1749416383000,"messaging":[{"sender":{"id":"PSID1"},"recipient":{"id":"PAGE1"},"timestamp":1749416383000,"message":{"mid":"m_abc","text":"hello"}}]}]}"#;
    let items = split(body).unwrap();
    assert_eq!(items[0].channel, Channel::Messenger);
    assert_eq!(items[0].natural_id, "fb:m_abc");
    assert_eq!(items[0].event_type, "message.received");
}

#[test]
fn instagram_dashboard_test_changes_carry_messaging_items() {
    let body = br#"{"object":"instagram","entry":[{"id":"0","time":1749416383,"changes":[{"field":"messages","value":{"sender":{"id":"12334"},"recipient":{"id":"23245"},"timestamp":"1527459824","message":{"mid":"random_mid","text":"random_text"}}}]}]}"#;
    let items = split(body).unwrap();
    assert_eq!(items[0].event_type, "message.received");
    assert_eq!(items[0].natural_id, "ig:random_mid");
    assert_eq!(items[0].field.as_deref(), Some("messages"));
}

#[test]
fn unknown_objects_fields_and_shapes_are_kept_as_meta_unknown() {
    let cases: [&[u8]; 6] = [
        br#"{"object":"user","entry":[{"id":"1","time":1,"changes":[{"field":"feed","value":{}}]}]}"#,
        br#"{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}}]}]}"#,
        br#"{"object":"instagram","entry":[{"id":"I","time":1,"changes":[{"field":"story_insights","value":{"media_id":"1","reach":5}}]}]}"#,
        br#"{"object":"instagram","entry":[{"id":"I","time":1}]}"#,
        br#"{"object":"instagram","entry":"not a list"}"#,
        br#"[1,2,3]"#,
    ];
    let mut ids = HashSet::new();
    for body in cases {
        let items = split(body).unwrap();
        assert_eq!(items.len(), 1, "{}", String::from_utf8_lossy(body));
        assert_eq!(items[0].event_type, UNKNOWN);
        assert!(items[0].natural_id.to_string().contains(":unknown:"));
        assert!(ids.insert(items[0].natural_id.to_string()));
    }
    let again = split(cases[1]).unwrap();
    assert!(
        ids.contains(&again[0].natural_id.to_string()),
        "the same bytes give the same id"
    );
}

#[test]
fn duplicates_inside_one_body_share_a_natural_id() {
    let m = json!({"sender": {"id": "u"}, "recipient": {"id": "I"}, "timestamp": 1749416383000u64, "message": {"mid": "dup", "text": "x"}});
    let body =
        json!({"object": "instagram", "entry": [{"id": "I", "time": 1, "messaging": [m, m]}]});
    let bytes = serde_json::to_vec(&body).unwrap();
    let items = split(&bytes).unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].natural_id, items[1].natural_id);
}

#[test]
fn not_json_is_an_error() {
    assert!(split(b"{\"object\":").is_err());
    assert!(split(b"\xff\xfe").is_err());
    assert!(split(b"").is_err());
}

/// Whatever a signed body holds, splitting never panics: truncations at every byte, and
/// seeded random byte mutations, of every sample kind, give items or a not-JSON error.
#[test]
fn mangled_bodies_never_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let mut items_total = 0usize;
    for case in cases(&params(), "F1", 1_732_000_000) {
        let body = serde_json::to_vec(&case.body).unwrap();
        for cut in 0..body.len() {
            let _ = split(&body[..cut]);
        }
        for _ in 0..300 {
            let mut mangled = body.clone();
            for _ in 0..rng.gen_range(1..4) {
                let at = rng.gen_range(0..mangled.len());
                let alphabet = b"{}[]\",:0a\\ \xff";
                mangled[at] = alphabet[rng.gen_range(0..alphabet.len())];
            }
            if let Ok(items) = split(&mangled) {
                items_total += items.len();
                assert!(items.iter().all(|i| !i.natural_id.key().is_empty()));
            }
        }
    }
    assert!(items_total > 0, "some mutations stay valid JSON and split");
}

#[test]
fn template_status_changes_become_template_events() {
    let body = |event: &str, reason: &str| {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "time": 1_749_416_383,
            "changes": [{"field": "message_template_status_update", "value": {
                "event": event, "message_template_id": 594425479261596u64,
                "message_template_name": "order_update", "message_template_language": "en_US",
                "reason": reason}}]}]})
    };
    for (event, reason, expected) in [
        ("APPROVED", "NONE", "template.approved"),
        ("REJECTED", "INCORRECT_CATEGORY", "template.rejected"),
        ("PAUSED", "NONE", "template.status_updated"),
        ("PENDING_DELETION", "NONE", "template.status_updated"),
    ] {
        let bytes = serde_json::to_vec(&body(event, reason)).unwrap();
        let items = split(&bytes).unwrap();
        assert_eq!(items.len(), 1);
        let item = &items[0];
        assert_eq!(item.event_type, expected, "{event}");
        assert_eq!(item.channel, Channel::Whatsapp);
        assert_eq!(item.account_id.as_deref(), Some("102290129340398"));
        let data = item.data();
        assert_eq!(data["template"]["id"], "594425479261596");
        assert_eq!(data["template"]["name"], "order_update");
        assert_eq!(data["template"]["language"], "en_US");
        assert_eq!(data["template"]["status"], event.to_ascii_lowercase());
        let expected_reason = (reason != "NONE").then_some(reason);
        assert_eq!(data["template"]["reason"], json!(expected_reason));
        let again = split(&bytes).unwrap();
        assert_eq!(
            again[0].natural_id, item.natural_id,
            "Meta's retry is the same item"
        );
    }
    let (approved, rejected) = (
        serde_json::to_vec(&body("APPROVED", "NONE")).unwrap(),
        serde_json::to_vec(&body("REJECTED", "NONE")).unwrap(),
    );
    assert_ne!(
        split(&approved).unwrap()[0].natural_id,
        split(&rejected).unwrap()[0].natural_id
    );
    let no_event = json!({"object": "whatsapp_business_account", "entry": [{"id": "W",
        "changes": [{"field": "message_template_status_update", "value": {"message_template_id": 1}}]}]});
    let no_event = serde_json::to_vec(&no_event).unwrap();
    assert_eq!(split(&no_event).unwrap()[0].event_type, UNKNOWN);
}
