//! The OpenAPI document and the router agree: every route documented, nothing documented
//! that is not served.

use std::collections::BTreeSet;

#[test]
fn document_matches_the_router() {
    let doc: serde_json::Value = serde_json::from_str(include_str!("../../openapi.json")).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .filter(|m| !["parameters", "summary", "description"].contains(&m.as_str()))
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> = admin_api::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from openapi.json: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "documented but not served: {unserved:?}"
    );
}

#[test]
fn every_reference_resolves_and_every_operation_is_complete() {
    let doc: serde_json::Value = serde_json::from_str(include_str!("../../openapi.json")).unwrap();
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling $ref {name}"
        );
    }
    let mut ids = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} lacks operationId"));
            assert!(ids.insert(id.to_string()), "duplicate operationId {id}");
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()));
            for segment in path.split('/').filter(|s| s.starts_with('{')) {
                let name = segment.trim_matches(|c| c == '{' || c == '}');
                let declared = op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "path"));
                assert!(
                    declared,
                    "{method} {path} does not declare path parameter {name}"
                );
            }
        }
    }
}

/// The document lists the event types and subscription patterns the API accepts, so that
/// clients (and the fuzzer) can tell a valid request without trying it: exactly the catalog.
#[test]
fn event_type_enums_are_the_catalog() {
    use hookhub_shared::webhooks::catalog::{is_valid_pattern, EVENT_TYPES};
    let doc: serde_json::Value = serde_json::from_str(include_str!("../../openapi.json")).unwrap();
    let listed = |schema: &str| -> Vec<String> {
        doc["components"]["schemas"][schema]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema} has an enum"))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let names: Vec<String> = EVENT_TYPES.iter().map(|e| e.name.to_string()).collect();
    assert_eq!(listed("EventType"), names);

    let patterns = listed("EventPattern");
    assert!(patterns.iter().all(|p| is_valid_pattern(p)), "{patterns:?}");
    let mut expected: BTreeSet<String> = names.iter().cloned().collect();
    expected.insert("*".into());
    for name in &names {
        let prefix = name.split_once('.').map_or(name.as_str(), |(p, _)| p);
        expected.insert(format!("{prefix}.*"));
    }
    assert_eq!(
        patterns.iter().cloned().collect::<BTreeSet<_>>(),
        expected,
        "every valid pattern listed, once"
    );
    assert_eq!(patterns.len(), expected.len());
}

/// Every schema the operations name is in the document: a body type missing from the
/// generator's component list would leave a dangling reference.
#[test]
fn every_named_schema_is_in_the_document() {
    let document = admin_api::openapi::generate::document();
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("schemas");
    let mut named = std::collections::BTreeSet::new();
    collect_refs(&document, &mut named);
    assert!(named.len() > 100, "the document names its schemas");
    for name in &named {
        assert!(
            schemas.contains_key(name),
            "{name} is named but not defined"
        );
    }
}

fn collect_refs(value: &serde_json::Value, into: &mut std::collections::BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v.as_str()) {
                    ("$ref", Some(r)) => {
                        into.insert(r.rsplit('/').next().unwrap_or(r).to_string());
                    }
                    _ => collect_refs(v, into),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

/// The served document is the generated one: a change to a typed body or to an annotation
/// without `make openapi` fails here.
#[test]
fn the_committed_document_is_generated_from_the_code() {
    let committed = include_str!("../../openapi.json");
    let generated = admin_api::openapi::generate::document_text();
    assert!(
        committed == generated,
        "functions/admin-api/openapi.json is stale: run `make openapi`"
    );
}
