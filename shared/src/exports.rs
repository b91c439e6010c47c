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
use crate::meta::{Channel, MetaEventStore};
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

/// The CSV file: a header row, then one row per contact; custom fields become
/// `customField.<name>` columns (the union over the rows, sorted). Lines end in CRLF.
pub fn contacts_csv(contacts: &[Contact]) -> String {
    let custom: BTreeSet<&str> = contacts
        .iter()
        .flat_map(|c| c.custom_fields.keys().map(String::as_str))
        .collect();
    let mut out = String::new();
    let header: Vec<String> = CSV_COLUMNS
        .iter()
        .map(|c| c.to_string())
        .chain(custom.iter().map(|k| format!("customField.{k}")))
        .map(|h| csv_cell(&h))
        .collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for c in contacts {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let mut row = vec![
            c.id.clone(),
            c.channel.clone(),
            c.external_id.clone(),
            opt(&c.name),
            opt(&c.username),
            opt(&c.phone),
            opt(&c.email),
            c.tags.join(";"),
            c.opted_in.to_string(),
            c.export_consent.to_string(),
            opt(&c.export_consent_at),
            c.first_seen_at.clone(),
            c.updated().to_string(),
            c.last_seen_at.clone(),
            c.messages.to_string(),
            c.comments.to_string(),
            c.reactions.to_string(),
            c.events.to_string(),
        ];
        row.extend(
            custom
                .iter()
                .map(|k| c.custom_fields.get(*k).cloned().unwrap_or_default()),
        );
        let cells: Vec<String> = row.iter().map(|v| csv_cell(v)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportRecord {
    pub id: String,
    pub format: String,
    pub actor: String,
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

/// How many of the tenant's newest Meta events a JSON export searches for each contact's
/// recent events, and how many it keeps per contact.
const RECENT_EVENTS_SCANNED: u32 = 1000;
const RECENT_EVENTS_PER_CONTACT: usize = 20;

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
            ExportFormat::Csv => contacts_csv(&page.rows).into_bytes(),
            ExportFormat::Json => {
                let contacts = self
                    .json_contacts(tenant_id, &page.rows, request.include_events)
                    .await?;
                let doc = serde_json::json!({
                    "exportedAt": crate::time::now_rfc3339(),
                    "count": contacts.len(),
                    "total": page.total,
                    "nextCursor": page.next,
                    "contacts": contacts,
                });
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

    async fn json_contacts(
        &self,
        tenant_id: &str,
        rows: &[Contact],
        include_events: bool,
    ) -> ServiceResult<Vec<Value>> {
        let recent = if include_events {
            self.meta_events
                .list(tenant_id, None, None, Some(RECENT_EVENTS_SCANNED), None)
                .await?
                .0
        } else {
            Vec::new()
        };
        Ok(rows
            .iter()
            .map(|c| {
                let mut view = c.view();
                if include_events {
                    let channel = serde_json::from_value::<Channel>(serde_json::json!(c.channel))
                        .unwrap_or(Channel::Unknown);
                    view["recentEvents"] = serde_json::json!(recent
                        .iter()
                        .filter(|e| e.concerns(channel, &c.external_id))
                        .take(RECENT_EVENTS_PER_CONTACT)
                        .map(|e| serde_json::json!({"id": e.id, "eventType": e.event_type, "occurredAt": e.occurred_at, "data": e.data}))
                        .collect::<Vec<_>>());
                }
                view
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
