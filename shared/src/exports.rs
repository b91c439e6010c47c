//! Contact exports: CSV flattened with a header row, JSON nested; every export
//! recorded with who, when, the filters, the row count and the SHA-256 of the file.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audit::Actor;
use crate::contacts::{Contact, ContactBook, Selection};
use crate::digest::sha256_hex;
use crate::error::ServiceResult;
use crate::ids::{new_id, IdKind};
use crate::meta::MetaEventStore;
use crate::store::{keys, to_item, Index, Query, Table};

/// Columns before the custom fields, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "channel",
    "externalId",
    "name",
    "username",
    "phone",
    "email",
    "tags",
    "optedIn",
    "exportConsent",
    "exportConsentAt",
    "createdAt",
    "updatedAt",
    "lastSeenAt",
    "messages",
    "comments",
    "reactions",
    "events",
];

/// Characters that make a spreadsheet read a field as a formula when they start it.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One CSV cell, always quoted (quotes doubled), so no separator inside it, `,` or `;`,
/// splits it. A formula start at the beginning of the value, or after a `,` or `;` inside it
/// (spaces between do not matter), is neutralised with a `'` before it: a spreadsheet that
/// splits on `;` would otherwise run `Bob;=2+3` as a formula.
pub fn csv_cell(value: &str) -> String {
    let mut cell = String::with_capacity(value.len() + 4);
    cell.push('"');
    let mut field_start = true;
    for c in value.chars() {
        if field_start && FORMULA_START.contains(&c) {
            cell.push('\'');
        }
        if c == '"' {
            cell.push('"');
        }
        cell.push(c);
        field_start = c == ',' || c == ';' || (field_start && c == ' ');
    }
    cell.push('"');
    cell
}

/// One field an export may hold: a column of [`CSV_COLUMNS`], every custom field, or one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportField {
    Column(&'static str),
    CustomFields,
    CustomField(String),
}

/// `fields=`: the export's fields, in the order given, from a comma-separated list of
/// column names, `customFields` (every custom field) and `customField.<name>`.
pub fn parse_fields(raw: &str) -> Result<Vec<ExportField>, String> {
    let mut out = Vec::new();
    for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let field = if let Some(column) = CSV_COLUMNS.iter().find(|c| **c == name) {
            ExportField::Column(column)
        } else if name == "customFields" {
            ExportField::CustomFields
        } else if let Some(custom) = name.strip_prefix("customField.").filter(|c| !c.is_empty()) {
            ExportField::CustomField(custom.to_string())
        } else {
            return Err(format!(
                "unknown field {name:?}; the fields are {}, customFields and customField.<name>",
                CSV_COLUMNS.join(", ")
            ));
        };
        if !out.contains(&field) {
            out.push(field);
        }
    }
    if out.is_empty() {
        return Err("name at least one field".into());
    }
    Ok(out)
}

/// Every field, as an export without `fields=` holds them.
fn all_fields() -> Vec<ExportField> {
    CSV_COLUMNS
        .iter()
        .map(|c| ExportField::Column(c))
        .chain(std::iter::once(ExportField::CustomFields))
        .collect()
}

fn column_value(c: &Contact, column: &str) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    match column {
        "id" => c.id.clone(),
        "channel" => c.channel.clone(),
        "externalId" => c.external_id.clone(),
        "name" => opt(&c.name),
        "username" => opt(&c.username),
        "phone" => opt(&c.phone),
        "email" => opt(&c.email),
        "tags" => c.tags.join(";"),
        "optedIn" => c.opted_in.to_string(),
        "exportConsent" => c.export_consent.to_string(),
        "exportConsentAt" => opt(&c.export_consent_at),
        "createdAt" => c.first_seen_at.clone(),
        "updatedAt" => c.updated().to_string(),
        "lastSeenAt" => c.last_seen_at.clone(),
        "messages" => c.messages.to_string(),
        "comments" => c.comments.to_string(),
        "reactions" => c.reactions.to_string(),
        "events" => c.events.to_string(),
        _ => String::new(),
    }
}

/// How a column reads its cell from a contact.
type CellReader = Box<dyn Fn(&Contact) -> String>;

/// The CSV file: a header row, then one row per contact, with the fields asked for (all
/// of them by default); custom fields become `customField.<name>` columns (`customFields`:
/// the union over the rows, sorted). Lines end in CRLF.
pub fn contacts_csv(contacts: &[Contact], fields: Option<&[ExportField]>) -> String {
    let all = all_fields();
    let fields = fields.unwrap_or(&all);
    // Each column: its header and how a contact's cell is read.
    let mut columns: Vec<(String, CellReader)> = Vec::new();
    for field in fields {
        match field {
            ExportField::Column(name) => {
                let name: &'static str = name;
                columns.push((name.to_string(), Box::new(move |c| column_value(c, name))));
            }
            ExportField::CustomFields => {
                let custom: BTreeSet<String> = contacts
                    .iter()
                    .flat_map(|c| c.custom_fields.keys().cloned())
                    .collect();
                for key in custom {
                    let header = format!("customField.{key}");
                    columns.push((
                        header,
                        Box::new(move |c| c.custom_fields.get(&key).cloned().unwrap_or_default()),
                    ));
                }
            }
            ExportField::CustomField(key) => {
                let key = key.clone();
                columns.push((
                    format!("customField.{key}"),
                    Box::new(move |c| c.custom_fields.get(&key).cloned().unwrap_or_default()),
                ));
            }
        }
    }
    let mut out = String::new();
    let header: Vec<String> = columns.iter().map(|(h, _)| csv_cell(h)).collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for c in contacts {
        let cells: Vec<String> = columns.iter().map(|(_, cell)| csv_cell(&cell(c))).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A contact's JSON with the fields asked for (all by default).
fn json_fields(contact: &Contact, fields: Option<&[ExportField]>) -> Value {
    let view = serde_json::to_value(contact.view()).expect("a contact serialises");
    let Some(fields) = fields else {
        return view;
    };
    let mut out = serde_json::Map::new();
    for field in fields {
        match field {
            ExportField::Column(name) => {
                out.insert(name.to_string(), view[*name].clone());
            }
            ExportField::CustomFields => {
                out.insert("customFields".into(), view["customFields"].clone());
            }
            ExportField::CustomField(key) => {
                let custom = out
                    .entry("customFields")
                    .or_insert_with(|| Value::Object(Default::default()));
                if let (Some(map), Some(v)) =
                    (custom.as_object_mut(), contact.custom_fields.get(key))
                {
                    map.insert(key.clone(), Value::String(v.clone()));
                }
            }
        }
    }
    Value::Object(out)
}

/// An export as the export audit keeps it: who took which contacts, and a digest of the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExportRecord {
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = openapi::format))]
    pub format: String,
    pub actor: String,
    /// the selection's query parameters
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub filters: Value,
    pub rows: usize,
    pub sha256: String,
    pub bytes: usize,
    pub created_at: String,
}

#[derive(Clone)]
pub struct ExportAudit {
    table: Table,
}

impl ExportAudit {
    pub fn new(table: Table) -> Self {
        Self { table }
    }

    pub async fn record(
        &self,
        tenant_id: &str,
        actor: &Actor,
        format: &str,
        filters: Value,
        rows: usize,
        file: &[u8],
    ) -> ServiceResult<ExportRecord> {
        let record = ExportRecord {
            id: new_id(IdKind::Export),
            format: format.into(),
            actor: actor.label(),
            filters,
            rows,
            sha256: sha256_hex(file),
            bytes: file.len(),
            created_at: crate::time::now_rfc3339(),
        };
        self.table
            .put(to_item(
                &keys::export_record(tenant_id, &record.id),
                &record,
            )?)
            .await?;
        Ok(record)
    }

    /// Newest first.
    pub async fn list(
        &self,
        tenant_id: &str,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<ExportRecord>, Option<String>)> {
        Ok(self
            .table
            .query_records(
                Query::new(Index::Primary, keys::exports_partition(tenant_id))
                    .newest_first()
                    .page(limit, cursor),
            )
            .await?)
    }
}

/// How many of each contact's latest Meta events a JSON export holds.
const RECENT_EVENTS_PER_CONTACT: u32 = 20;
/// Contacts whose histories are read at once.
const HISTORY_CONCURRENCY: usize = 16;

/// `GET /api/v1/export/contacts.json`: the file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ContactExport))]
#[serde(rename_all = "camelCase")]
pub struct ContactExportFile {
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub exported_at: String,
    pub count: usize,
    /// How many contacts match; null when the page was read straight from an index without
    /// counting
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub total: Option<usize>,
    /// ?cursor= for the rest; null when this is all
    pub next_cursor: Option<String>,
    /// with ?fields=, only those; with ?includeEvents=true, each with its recentEvents
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::contacts::ContactView>))]
    pub contacts: Vec<Value>,
}

#[cfg(feature = "openapi")]
mod openapi {
    use utoipa::openapi::schema::{ObjectBuilder, Type};

    pub fn format() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(
                [super::ExportFormat::Csv, super::ExportFormat::Json]
                    .map(super::ExportFormat::as_str),
            ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
}

impl ExportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Json => "application/json",
        }
    }
}

/// What an export asks for: a page of a selection, as a file.
pub struct ExportRequest<'a> {
    pub selection: Selection,
    /// The filters as given, for the export's record.
    pub filters: Value,
    pub cursor: Option<&'a str>,
    pub limit: usize,
    /// JSON only: each contact's recent Meta events.
    pub include_events: bool,
    /// The fields to hold; `None` for all.
    pub fields: Option<Vec<ExportField>>,
    pub format: ExportFormat,
}

/// A file made, and its record in the export audit.
pub struct ContactExport {
    pub file: Vec<u8>,
    pub record: ExportRecord,
    pub total: Option<usize>,
    pub next: Option<String>,
}

#[derive(Clone)]
pub struct ContactExporter {
    contacts: ContactBook,
    meta_events: MetaEventStore,
    audit: ExportAudit,
}

impl ContactExporter {
    pub fn new(contacts: ContactBook, meta_events: MetaEventStore, audit: ExportAudit) -> Self {
        Self {
            contacts,
            meta_events,
            audit,
        }
    }

    /// Reads the page (streamed in creation order, so a large tenant is never held in
    /// memory), makes the file, and records who exported what.
    pub async fn export(
        &self,
        tenant_id: &str,
        actor: &Actor,
        request: ExportRequest<'_>,
    ) -> ServiceResult<ContactExport> {
        let page = self
            .contacts
            .select(
                tenant_id,
                &request.selection,
                request.cursor,
                request.limit,
                true,
            )
            .await?;
        let file = match request.format {
            ExportFormat::Csv => contacts_csv(&page.rows, request.fields.as_deref()).into_bytes(),
            ExportFormat::Json => {
                let contacts = self
                    .json_contacts(
                        tenant_id,
                        &page.rows,
                        request.include_events,
                        request.fields.as_deref(),
                    )
                    .await?;
                let doc = ContactExportFile {
                    exported_at: crate::time::now_rfc3339(),
                    count: contacts.len(),
                    total: page.total,
                    next_cursor: page.next.clone(),
                    contacts,
                };
                serde_json::to_vec_pretty(&doc).unwrap_or_default()
            }
        };
        let record = self
            .audit
            .record(
                tenant_id,
                actor,
                request.format.as_str(),
                request.filters,
                page.rows.len(),
                &file,
            )
            .await?;
        Ok(ContactExport {
            file,
            record,
            total: page.total,
            next: page.next,
        })
    }

    /// The contacts as JSON; with `include_events`, each with its own latest Meta events
    /// (read from the events indexed by their sender, several contacts at once).
    async fn json_contacts(
        &self,
        tenant_id: &str,
        rows: &[Contact],
        include_events: bool,
        fields: Option<&[ExportField]>,
    ) -> ServiceResult<Vec<Value>> {
        use futures::StreamExt;
        let mut out: Vec<Value> = rows.iter().map(|c| json_fields(c, fields)).collect();
        if !include_events {
            return Ok(out);
        }
        let people: Vec<(String, String)> = rows
            .iter()
            .map(|c| (c.channel.clone(), c.external_id.clone()))
            .collect();
        let store = &self.meta_events;
        let histories: Vec<ServiceResult<Vec<crate::meta::MetaEvent>>> =
            futures::stream::iter(people)
                .map(|(channel, external_id)| async move {
                    store
                        .by_contact(tenant_id, &channel, &external_id, RECENT_EVENTS_PER_CONTACT)
                        .await
                })
                .buffered(HISTORY_CONCURRENCY)
                .collect()
                .await;
        for (view, history) in out.iter_mut().zip(histories) {
            view["recentEvents"] = serde_json::json!(history?
                .iter()
                .map(|e| serde_json::json!({"id": e.id, "eventType": e.event_type, "occurredAt": e.occurred_at, "data": e.data}))
                .collect::<Vec<_>>());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(id: &str, fields: &[(&str, &str)]) -> Contact {
        serde_json::from_value(serde_json::json!({
            "id": id, "channel": "whatsapp", "externalId": "16505551234", "name": "Ana",
            "tags": ["vip"], "customFields": fields.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
            "optedIn": true, "exportConsent": true, "firstSeenAt": "2026-01-01T00:00:00.000Z",
            "lastSeenAt": "2026-01-02T00:00:00.000Z",
        }))
        .unwrap()
    }

    #[test]
    fn fields_choose_and_order_the_columns_and_the_keys() {
        let rows = [
            contact("con_1", &[("drink", "tea"), ("size", "L")]),
            contact("con_2", &[("drink", "latte")]),
        ];
        let fields = parse_fields("name, id,customField.drink,name").unwrap();
        assert_eq!(fields.len(), 3, "a repeat counts once");
        let csv = contacts_csv(&rows, Some(&fields));
        assert_eq!(
            csv,
            "\"name\",\"id\",\"customField.drink\"\r\n\"Ana\",\"con_1\",\"tea\"\r\n\"Ana\",\"con_2\",\"latte\"\r\n"
        );
        let every = contacts_csv(&rows, Some(&parse_fields("id,customFields").unwrap()));
        assert!(every.starts_with("\"id\",\"customField.drink\",\"customField.size\"\r\n"));
        assert_eq!(
            contacts_csv(&rows, None).lines().next().unwrap(),
            contacts_csv(&rows, Some(&all_fields()))
                .lines()
                .next()
                .unwrap()
        );
        let json = json_fields(&rows[0], Some(&fields));
        assert_eq!(
            json,
            serde_json::json!({"name": "Ana", "id": "con_1", "customFields": {"drink": "tea"}})
        );
        for bad in ["", "nmae", "customField.", "id,password"] {
            let err = parse_fields(bad).unwrap_err();
            assert!(err.contains("field"), "{bad}: {err}");
        }
    }

    #[test]
    fn cells_are_quoted_and_formulas_guarded() {
        assert_eq!(csv_cell("plain"), "\"plain\"");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_cell("+15550001111"), "\"'+15550001111\"");
        assert_eq!(csv_cell("-1"), "\"'-1\"");
        assert_eq!(csv_cell("@SUM(A1)"), "\"'@SUM(A1)\"");
        assert_eq!(csv_cell("Bob;=2+3"), "\"Bob;'=2+3\"");
        assert_eq!(csv_cell("Bob, +1; @x"), "\"Bob, '+1; '@x\"");
        assert_eq!(csv_cell(" =1"), "\" '=1\"");
        assert_eq!(
            csv_cell("a-b=c"),
            "\"a-b=c\"",
            "inside a field, not after a separator"
        );
        assert_eq!(csv_cell("\tx"), "\"'\tx\"");
        assert_eq!(csv_cell(""), "\"\"");
    }
}
