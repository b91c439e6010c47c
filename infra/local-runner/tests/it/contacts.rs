//! Contacts end to end: captured from signed Meta POSTs through the runner and the worker,
//! listed with every filter, edited, exported as CSV (read back with an independent CSV
//! reader) and JSON, every export audited, erased; another tenant sees none of it.

use std::time::Duration;

use crate::support::{Behaviour, Receiver, Stack};
use hookhub_shared::signing::body_hmac::sign;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const WAIT: Duration = Duration::from_secs(30);
const WA_SECRET: &str = "wa-app-secret-0123456789abcdef";
const IG_SECRET: &str = "ig-app-secret-fedcba9876543210";

pub(crate) async fn configure(stack: &Stack, tenant: &str) {
    for (kind, body) in [
        (
            "whatsapp",
            json!({"enabled": true, "phoneNumberId": "106540352242922", "accessToken": "EAATestAccessToken123456789",
                            "webhookVerifyToken": "verify-me", "appSecret": WA_SECRET}),
        ),
        (
            "instagram",
            json!({"enabled": true, "accountId": "17841400008460056", "appId": "1234567890", "appSecret": IG_SECRET,
                             "accessToken": "IGQVJTestAccessToken1234567", "webhookVerifyToken": "verify-ig"}),
        ),
    ] {
        stack.put_integration(tenant, kind, body).await;
    }
}

pub(crate) async fn post_signed(stack: &Stack, tenant: &str, secret: &str, body: &Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    let resp = stack
        .http
        .post(format!("{}/webhooks/meta/{tenant}", stack.base))
        .header("x-hub-signature-256", sign(secret, &bytes))
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

pub(crate) fn whatsapp_message(wa_id: &str, name: &str, wamid: &str) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": wamid, "timestamp": "1763800000", "type": "text", "text": {"body": "hello"}}]}}]}]})
}

async fn contacts(stack: &Stack, tenant: &str, query: &str) -> Value {
    let (s, reply) = stack
        .call(
            "GET",
            &format!("/api/v1/contacts{query}"),
            &stack.admin,
            Some(tenant),
            None,
        )
        .await;
    assert_eq!(s, 200, "{query}: {reply}");
    reply
}

fn names(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["name"]
                .as_str()
                .or(c["username"].as_str())
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn contacts_are_captured_filtered_edited_exported_audited_and_erased() {
    let stack = Stack::start("e2e-contacts").await;
    let tenant = stack.tenant().await;
    configure(&stack, &tenant).await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    stack
        .endpoint(&tenant, &receiver.url, json!({"events": ["contact.*"]}))
        .await;

    let tricky = "=cmd|' /C calc'!A0, \"Ann\"\nDoe";
    post_signed(
        &stack,
        &tenant,
        WA_SECRET,
        &whatsapp_message("16505550001", "Sheena Nelson", "wamid.C1"),
    )
    .await;
    post_signed(
        &stack,
        &tenant,
        WA_SECRET,
        &whatsapp_message("16505550002", tricky, "wamid.C2"),
    )
    .await;
    post_signed(
        &stack,
        &tenant,
        WA_SECRET,
        &whatsapp_message("16505550003", "Bob Stone", "wamid.C3"),
    )
    .await;
    post_signed(
        &stack,
        &tenant,
        WA_SECRET,
        &whatsapp_message("16505550001", "Sheena N.", "wamid.C4"),
    )
    .await;
    post_signed(&stack, &tenant, IG_SECRET, &json!({"object": "instagram", "entry": [{"id": "17841400008460056", "time": 1763800000, "changes": [
        {"field": "comments", "value": {"id": "c-1", "text": "nice", "from": {"id": "17841405309211844", "username": "carla.ig"}, "media": {"id": "m1"}}}]}]})).await;

    stack
        .eventually(WAIT, || async {
            contacts(&stack, &tenant, "").await["total"] == 4
        })
        .await;
    // One contact.created per person, and a contact.updated for the renamed one.
    stack
        .eventually(WAIT, || async { receiver.count() >= 5 })
        .await;
    let delivered: Vec<Value> = receiver
        .all()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(
        delivered
            .iter()
            .filter(|d| d["event"] == "contact.created")
            .count(),
        4
    );
    let updated: Vec<_> = delivered
        .iter()
        .filter(|d| d["event"] == "contact.updated")
        .collect();
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0]["data"]["changes"], json!(["name"]));

    let all = contacts(&stack, &tenant, "?sortBy=name&sortOrder=asc").await;
    assert_eq!(names(&all), [tricky, "Bob Stone", "carla.ig", "Sheena N."]);
    let sheena = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["externalId"] == "16505550001")
        .unwrap()
        .clone();
    assert_eq!(sheena["messages"], 2);
    assert_eq!(sheena["phone"], "+16505550001");
    assert_eq!(sheena["optedIn"], true);
    let carla = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "instagram")
        .unwrap()
        .clone();
    assert_eq!(carla["comments"], 1);
    assert_eq!(carla["optedIn"], false, "a comment is not a message opt-in");

    // Edits.
    let sheena_id = sheena["id"].as_str().unwrap();
    let (s, reply) = stack
        .call("PATCH", &format!("/api/v1/contacts/{sheena_id}"), &stack.admin, Some(&tenant),
              Some(json!({"tags": ["vip", "vip", "buyer"], "customFields": {"drink": "latte"}, "email": "sheena@example.com", "exportConsent": true})))
        .await;
    assert_eq!(s, 200, "{reply}");
    assert_eq!(reply["tags"], json!(["buyer", "vip"]));
    assert!(reply["exportConsentAt"].is_string());
    // The edit is announced as a whole and tag by tag, field by field.
    let (s, reply) = stack
        .call(
            "PATCH",
            &format!("/api/v1/contacts/{sheena_id}"),
            &stack.admin,
            Some(&tenant),
            Some(
                json!({"tags": ["vip", "regular"], "customFields": {"drink": "tea", "size": "L"}}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{reply}");
    let announced = |event_type: &'static str| {
        let (stack, tenant) = (&stack, tenant.clone());
        async move {
            let (s, page) = stack
                .call(
                    "GET",
                    &format!("/api/v1/events?type={event_type}"),
                    &stack.admin,
                    Some(&tenant),
                    None,
                )
                .await;
            assert_eq!(s, 200, "{page}");
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["data"].clone())
                .collect::<Vec<Value>>()
        }
    };
    let added: Vec<Value> = announced("tag.added")
        .await
        .iter()
        .map(|d| d["tag"]["name"].clone())
        .collect();
    assert!(added.contains(&json!("regular")), "{added:?}");
    let removed = announced("tag.removed").await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["tag"]["name"], "buyer");
    assert_eq!(removed[0]["contact"]["id"], sheena_id);
    let fields: Vec<Value> = announced("customfield.updated")
        .await
        .iter()
        .map(|d| d["field"].clone())
        .collect();
    assert!(
        fields.contains(&json!({"name": "drink", "oldValue": "latte", "newValue": "tea"})),
        "{fields:?}"
    );
    assert!(
        fields.contains(&json!({"name": "size", "oldValue": null, "newValue": "L"})),
        "{fields:?}"
    );
    let (s, _) = stack
        .call(
            "PATCH",
            &format!("/api/v1/contacts/{sheena_id}"),
            &stack.admin,
            Some(&tenant),
            Some(json!({"tags": ["buyer", "vip"], "customFields": {"drink": "latte"}})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, reply) = stack
        .call(
            "PATCH",
            &format!("/api/v1/contacts/{sheena_id}"),
            &stack.admin,
            Some(&tenant),
            Some(json!({"email": "nope", "tags": "x", "colour": 1})),
        )
        .await;
    assert_eq!(s, 422, "{reply}");
    assert_eq!(reply["error"]["details"].as_array().unwrap().len(), 3);

    // Every filter.
    let count = |q: &'static str| {
        let stack = &stack;
        let tenant = tenant.clone();
        async move { contacts(stack, &tenant, q).await["total"].as_u64().unwrap() }
    };
    assert_eq!(count("?optedIn=whatsapp").await, 3);
    assert_eq!(count("?optedIn=instagram").await, 0);
    assert_eq!(count("?hasTag=VIP").await, 1);
    assert_eq!(count("?customField[drink]=latte").await, 1);
    assert_eq!(count("?customField[drink]=tea").await, 0);
    assert_eq!(count("?exportConsentOnly=true").await, 1);
    assert_eq!(count("?search=stone").await, 1);
    assert_eq!(count("?search=sheena%40example").await, 1);
    assert_eq!(count("?createdAfter=2000-01-01").await, 4);
    assert_eq!(count("?createdBefore=2000-01-01").await, 0);
    assert_eq!(count("?updatedAfter=2999-01-01T00:00:00Z").await, 0);
    for bad in [
        "?sortBy=shoe",
        "?sortOrder=up",
        "?createdAfter=yesterday",
        "?optedIn=fax",
        "?offset=-1",
        "?cursor=con_nope",
    ] {
        let (s, reply) = stack
            .call(
                "GET",
                &format!("/api/v1/contacts{bad}"),
                &stack.admin,
                Some(&tenant),
                None,
            )
            .await;
        assert_eq!(s, 400, "{bad}: {reply}");
    }
    // Pages: by offset and by cursor.
    let first = contacts(&stack, &tenant, "?sortBy=name&sortOrder=asc&limit=2").await;
    assert_eq!(first["hasMore"], true);
    let cursor = first["nextCursor"].as_str().unwrap();
    let second = contacts(
        &stack,
        &tenant,
        &format!("?sortBy=name&sortOrder=asc&limit=2&cursor={cursor}"),
    )
    .await;
    let by_offset = contacts(
        &stack,
        &tenant,
        "?sortBy=name&sortOrder=asc&limit=2&offset=2",
    )
    .await;
    assert_eq!(second["data"], by_offset["data"]);
    assert_eq!(second["hasMore"], false);

    // CSV, read back by an independent reader.
    let resp = stack
        .http
        .get(format!(
            "{}/api/v1/export/contacts.csv?sortBy=name&sortOrder=asc",
            stack.base
        ))
        .bearer_auth(&stack.admin)
        .header("x-tenant-id", &tenant)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let export_id = resp.headers()["x-export-id"].to_str().unwrap().to_string();
    let csv_bytes = resp.bytes().await.unwrap();
    let mut reader = csv::Reader::from_reader(csv_bytes.as_ref());
    let headers = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 4);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    // Every row equals the listing, field by field (cells a spreadsheet would run carry the
    // guard's leading quote).
    let listed = contacts(&stack, &tenant, "?sortBy=name&sortOrder=asc").await;
    for (row, contact) in rows.iter().zip(listed["data"].as_array().unwrap()) {
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        for field in [
            "id",
            "channel",
            "externalId",
            "name",
            "username",
            "email",
            "optedIn",
            "exportConsent",
            "createdAt",
            "messages",
            "comments",
            "events",
        ] {
            let expected = text(&contact[field]);
            let expected = if expected.starts_with(['=', '+', '-', '@']) {
                format!("'{expected}")
            } else {
                expected
            };
            assert_eq!(&row[col(field)], expected, "{field}");
        }
    }
    let tricky_row = rows
        .iter()
        .find(|r| &r[col("externalId")] == "16505550002")
        .unwrap();
    assert_eq!(
        &tricky_row[col("name")],
        format!("'{tricky}"),
        "formula guarded, quotes and newline kept"
    );
    let sheena_row = rows
        .iter()
        .find(|r| &r[col("externalId")] == "16505550001")
        .unwrap();
    assert_eq!(&sheena_row[col("tags")], "buyer;vip");
    assert_eq!(&sheena_row[col("customField.drink")], "latte");
    assert_eq!(&sheena_row[col("email")], "sheena@example.com");
    assert_eq!(&sheena_row[col("phone")], "'+16505550001");
    assert_eq!(&sheena_row[col("messages")], "2");

    // JSON with recent events, consent only.
    let (s, doc) = stack
        .call(
            "GET",
            "/api/v1/export/contacts.json?exportConsentOnly=true&includeEvents=true",
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(s, 200, "{doc}");
    assert_eq!(doc["count"], 1);
    assert_eq!(doc["contacts"][0]["customFields"]["drink"], "latte");
    assert_eq!(
        doc["contacts"][0]["recentEvents"].as_array().unwrap().len(),
        2
    );

    // The audit: both exports, with the file's hash.
    let (s, audit) = stack
        .call(
            "GET",
            "/api/v1/export/audit",
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let records = audit["data"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    let csv_record = records
        .iter()
        .find(|r| r["id"] == export_id.as_str())
        .unwrap();
    assert_eq!(csv_record["rows"], 4);
    assert_eq!(csv_record["format"], "csv");
    assert_eq!(
        csv_record["sha256"],
        hex::encode(Sha256::digest(&csv_bytes))
    );
    assert_eq!(csv_record["filters"]["sortBy"], "name");
    assert!(csv_record["actor"]
        .as_str()
        .unwrap()
        .contains("platform_admin"));

    // fields= picks the columns, in order, and the JSON keys.
    let resp = stack
        .http
        .get(format!(
            "{}/api/v1/export/contacts.csv?fields=name,customField.drink,id",
            stack.base
        ))
        .bearer_auth(&stack.admin)
        .header("x-tenant-id", &tenant)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let rows = python_csv(&resp.bytes().await.unwrap(), ',');
    assert_eq!(rows[0], ["name", "customField.drink", "id"]);
    assert!(
        rows.iter().any(|r| r[1] == "latte" && r[0] == "Sheena N."),
        "{rows:?}"
    );
    let (s, json_export) = stack
        .call(
            "GET",
            "/api/v1/export/contacts.json?fields=id,tags",
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(s, 200, "{json_export}");
    for c in json_export["contacts"].as_array().unwrap() {
        let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "tags"], "{c}");
    }
    let (s, refused) = stack
        .call(
            "GET",
            "/api/v1/export/contacts.csv?fields=id,password",
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(s, 400, "{refused}");

    // In creation order an export reads page by page and continues by cursor.
    let export_page = |cursor: Option<String>| {
        let stack = &stack;
        let tenant = tenant.clone();
        async move {
            let mut url = format!(
                "{}/api/v1/export/contacts.csv?limit=3&sortOrder=asc",
                stack.base
            );
            if let Some(c) = cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let resp = stack
                .http
                .get(url)
                .bearer_auth(&stack.admin)
                .header("x-tenant-id", &tenant)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let next = resp
                .headers()
                .get("x-next-cursor")
                .map(|v| v.to_str().unwrap().to_string());
            let body = resp.bytes().await.unwrap();
            let ids: Vec<String> = csv::Reader::from_reader(body.as_ref())
                .records()
                .map(|r| r.unwrap()[0].to_string())
                .collect();
            (ids, next)
        }
    };
    let (first_ids, next) = export_page(None).await;
    assert_eq!(first_ids.len(), 3);
    let (rest_ids, end) = export_page(next).await;
    assert_eq!(rest_ids.len(), 1);
    assert!(end.is_none());
    let mut streamed: Vec<String> = first_ids.into_iter().chain(rest_ids).collect();
    assert!(streamed.windows(2).all(|w| w[0] < w[1]), "creation order");
    streamed.sort();
    let mut listed_ids: Vec<String> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    listed_ids.sort();
    assert_eq!(streamed, listed_ids);

    // Another tenant sees nothing.
    let other = stack.tenant().await;
    assert_eq!(contacts(&stack, &other, "").await["total"], 0);
    let (s, _) = stack
        .call(
            "GET",
            &format!("/api/v1/contacts/{sheena_id}"),
            &stack.admin,
            Some(&other),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let (s, _) = stack
        .call(
            "DELETE",
            &format!("/api/v1/contacts/{sheena_id}"),
            &stack.admin,
            Some(&other),
            None,
        )
        .await;
    assert_eq!(s, 404);

    // Erasure.
    let (s, erased) = stack
        .call(
            "DELETE",
            &format!("/api/v1/contacts/{sheena_id}"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(s, 202, "{erased}");
    let status_url = erased["erasure"]["statusUrl"].as_str().unwrap().to_string();
    stack
        .eventually(WAIT, || async {
            let (_, status) = stack
                .call("GET", &status_url, &stack.admin, Some(&tenant), None)
                .await;
            status["status"] == "done"
        })
        .await;
    let (_, status) = stack
        .call("GET", &status_url, &stack.admin, Some(&tenant), None)
        .await;
    assert_eq!(status["erased"]["metaEvents"], 2, "{status}");
    let (s, _) = stack
        .call(
            "GET",
            &format!("/api/v1/contacts/{sheena_id}"),
            &stack.admin,
            Some(&tenant),
            None,
        )
        .await;
    assert_eq!(s, 404);
    let event = stack
        .stack
        .ctx
        .meta_events()
        .get_by_natural_id(&tenant, "wa:wamid.C1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(event.raw, "");
    assert_eq!(event.data, Some(json!({"erased": true})));
    assert_eq!(event.event_type, "message.received", "ids and type kept");
    assert_eq!(contacts(&stack, &tenant, "").await["total"], 3);
}

/// Parses CSV with Python's own `csv` module, splitting on `delimiter`: the rows as JSON.
fn python_csv(csv: &[u8], delimiter: char) -> Vec<Vec<String>> {
    use std::io::Write;
    let mut child = std::process::Command::new("python3")
        .args([
            "-c",
            "import csv, io, json, sys; d = sys.argv[1]; \
             print(json.dumps(list(csv.reader(io.StringIO(sys.stdin.read(), newline=''), delimiter=d))))",
            &delimiter.to_string(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(csv).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What each name reads back as: the cell's value, unquoted.
fn expected_unsorted(names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| {
            let cell = hookhub_shared::exports::csv_cell(n);
            cell[1..cell.len() - 1].replace("\"\"", "\"")
        })
        .collect()
}

#[tokio::test]
async fn hostile_names_from_meta_export_as_text_whatever_the_spreadsheets_separator() {
    let stack = Stack::start("e2e-csv-hostile").await;
    let tenant = stack.tenant().await;
    configure(&stack, &tenant).await;
    // Profile names are chosen by whoever writes to the business.
    let hostile = [
        "=HYPERLINK(\"http://evil.example\",\"click\")",
        "Bob;=2+3",
        "Ann, +1 (555) 010",
        "@SUM(A1:A9)",
        "-cmd|' /C calc'!A0",
        "Eve; @x, =y",
        "quote \" and, comma",
    ];
    for (i, name) in hostile.iter().enumerate() {
        let wa_id = format!("1650555{i:04}");
        post_signed(
            &stack,
            &tenant,
            WA_SECRET,
            &whatsapp_message(&wa_id, name, &format!("wamid.hostile{i}")),
        )
        .await;
    }
    stack
        .eventually(WAIT, || async {
            contacts(&stack, &tenant, "").await["total"] == hostile.len()
        })
        .await;
    let csv = stack
        .http
        .get(format!(
            "{}/api/v1/export/contacts.csv?sortBy=name",
            stack.base
        ))
        .bearer_auth(&stack.admin)
        .header("x-tenant-id", &tenant)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();

    // Read with `,`: every cell round-trips; the names are the originals with a `'` before
    // each formula start, and nothing else changed.
    let rows = python_csv(&csv, ',');
    let name_col = rows[0].iter().position(|h| h == "name").unwrap();
    assert!(rows.iter().all(|r| r.len() == rows[0].len()), "{rows:?}");
    let mut exported: Vec<String> = rows[1..].iter().map(|r| r[name_col].clone()).collect();
    exported.sort();
    let mut expected = expected_unsorted(&hostile);
    expected.sort();
    assert_eq!(exported, expected);
    for (original, guarded) in hostile.iter().zip(&expected_unsorted(&hostile)) {
        assert_eq!(guarded.replace('\'', ""), original.replace('\'', ""));
    }

    // Read with `;`, as a European spreadsheet would: no cell starts a formula.
    for row in python_csv(&csv, ';') {
        for cell in row {
            let start = cell.trim_start_matches([' ', '"']);
            assert!(
                !start.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?} would run as a formula"
            );
        }
    }
}
