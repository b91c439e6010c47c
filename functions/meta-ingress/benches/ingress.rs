//! In-process ingress cost: signature check + parse + split of a Meta body (no AWS I/O),
//! against the baseline of a raw HMAC-SHA256 over the same bytes, and the floor of a
//! serde_json walk that only finds each message and reads its id.
//!
//! `cargo bench -p meta-ingress --bench ingress`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hookhub_shared::meta::split;
use hookhub_shared::signing::{body_hmac, meta};
use serde_json::json;

const SECRET: &str = "app-secret-0123456789abcdef";

fn whatsapp_batch(messages: usize) -> Vec<u8> {
    let items: Vec<_> = (0..messages)
        .map(|i| {
            json!({"from": "16505551234", "id": format!("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAz{i:08}"),
                   "timestamp": "1763800000", "type": "text",
                   "text": {"body": "Hi! Is the blue one still available in size M? \u{1F499}"}})
        })
        .collect();
    serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
        "messages": items}}]}]}))
    .unwrap()
}

fn ingress(c: &mut Criterion) {
    let mut group = c.benchmark_group("meta_ingress");
    for (label, body) in [
        ("1 message", whatsapp_batch(1)),
        ("1000 messages", whatsapp_batch(1000)),
    ] {
        let header = body_hmac::sign(SECRET, &body);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("raw_hmac", label), &body, |b, body| {
            b.iter(|| body_hmac::sign(SECRET, std::hint::black_box(body)))
        });
        group.bench_with_input(
            BenchmarkId::new("verify_parse_split", label),
            &body,
            |b, body| {
                b.iter(|| {
                    meta::verify(SECRET, body, Some(&header)).unwrap();
                    let items = split(std::hint::black_box(body)).unwrap();
                    assert_eq!(items.len(), if body.len() > 10_000 { 1000 } else { 1 });
                    items
                })
            },
        );
        // The floor of any serde_json-based split: walk entry -> change -> value -> message
        // as borrowed RawValues and read each message's id and type, nothing else.
        group.bench_with_input(
            BenchmarkId::new("serde_json_floor", label),
            &body,
            |b, body| {
                b.iter(|| {
                    #[derive(serde::Deserialize)]
                    struct Env<'a> {
                        #[serde(borrow)]
                        entry: Vec<&'a serde_json::value::RawValue>,
                    }
                    #[derive(serde::Deserialize)]
                    struct Ent<'a> {
                        #[serde(borrow)]
                        changes: Vec<&'a serde_json::value::RawValue>,
                    }
                    #[derive(serde::Deserialize)]
                    struct Ch<'a> {
                        #[serde(borrow)]
                        value: &'a serde_json::value::RawValue,
                    }
                    #[derive(serde::Deserialize)]
                    struct Val<'a> {
                        #[serde(borrow)]
                        messages: Vec<&'a serde_json::value::RawValue>,
                    }
                    #[derive(serde::Deserialize)]
                    struct Msg<'a> {
                        #[serde(borrow)]
                        id: &'a str,
                        #[serde(borrow, rename = "type")]
                        kind: &'a str,
                    }
                    let s = std::str::from_utf8(body).unwrap();
                    let env: Env = serde_json::from_str(s).unwrap();
                    let mut n = 0;
                    for e in env.entry {
                        let e: Ent = serde_json::from_str(e.get()).unwrap();
                        for c in e.changes {
                            let c: Ch = serde_json::from_str(c.get()).unwrap();
                            let v: Val = serde_json::from_str(c.value.get()).unwrap();
                            for m in v.messages {
                                let m: Msg = serde_json::from_str(m.get()).unwrap();
                                n += m.id.len() + m.kind.len();
                            }
                        }
                    }
                    n
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, ingress);
criterion_main!(benches);
