//! The query strings of the routes that take more than a page: each read from a
//! [`ListQuery`] into a typed struct, reporting the first bad parameter. With the `openapi`
//! feature the same structs are the operations' documented parameters (`IntoParams`), and so
//! the parameters the router accepts (`query_rules`): a filter cannot be read without being
//! documented, nor documented without being read.

use chrono::{DateTime, Utc};
use hookhub_shared::audit::AuditFilter;
use hookhub_shared::contacts::{ContactFilter, Selection, SortBy};
use hookhub_shared::messages::{Channel, MessageFilter, STATUSES};
use hookhub_shared::meta::ProcessingStatus;
use hookhub_shared::validation::is_e164;
use hookhub_shared::webhooks::catalog;
use hookhub_shared::webhooks::events::EventFilter;
use hookhub_shared::webhooks::logs::{LogFilter, LogScope};

use crate::input::{bad_query, ListQuery};
use crate::ApiError;

type ApiResult<T> = Result<T, ApiError>;

/// A delivery attempt's outcome, as the log listings filter on it.
pub const ATTEMPT_STATUSES: [&str; 2] = ["success", "failed"];

/// The windows the workflow dashboard offers, in hours.
pub const RANGES: [(&str, i64); 4] = [("1h", 1), ("24h", 24), ("7d", 24 * 7), ("30d", 24 * 30)];

/// The range when none is given.
pub const DEFAULT_RANGE: &str = "24h";

/// The channels a contact may have opted in on.
pub const OPT_IN_CHANNELS: [&str; 3] = ["whatsapp", "instagram", "messenger"];

/// Rows one export request returns at most; `X-Next-Cursor` continues it.
pub const MAX_EXPORT_ROWS: usize = 10_000;

fn param<'a>(query: &'a ListQuery, name: &str) -> Option<&'a String> {
    query.params.get(name)
}

fn boolean(query: &ListQuery, name: &str) -> ApiResult<bool> {
    match param(query, name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(bad_query(format!("{name} must be true or false"))),
    }
}

/// A parameter holding an RFC 3339 timestamp or a date (`2025-01-01`, midnight UTC).
fn time(query: &ListQuery, name: &str) -> ApiResult<Option<DateTime<Utc>>> {
    param(query, name)
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
                })
                .map_err(|_| {
                    bad_query(format!(
                        "{name} must be an RFC 3339 timestamp or a date (YYYY-MM-DD)"
                    ))
                })
        })
        .transpose()
}

fn attempt_status(query: &ListQuery) -> ApiResult<Option<String>> {
    match param(query, "status") {
        None => Ok(None),
        Some(s) if ATTEMPT_STATUSES.contains(&s.as_str()) => Ok(Some(s.clone())),
        Some(_) => Err(bad_query("status must be success or failed")),
    }
}

/// `webhookId`: one endpoint's or workflow's records only.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query, rename_all = "camelCase"))]
pub struct WebhookIdQuery {
    /// only this webhook's
    pub webhook_id: Option<String>,
}

impl WebhookIdQuery {
    pub fn read(query: &ListQuery) -> Self {
        Self {
            webhook_id: param(query, "webhookId").cloned(),
        }
    }
}

/// A delivery log listing's filters.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query, rename_all = "camelCase"))]
pub struct LogQuery {
    #[cfg_attr(feature = "openapi", param(schema_with = schemas::attempt_status))]
    pub status: Option<String>,
    /// one event type
    pub event_type: Option<String>,
    /// attempts at or after (RFC 3339, or YYYY-MM-DD for midnight UTC)
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, format = DateTime))]
    pub from: Option<DateTime<Utc>>,
    /// attempts at or before (RFC 3339, or YYYY-MM-DD for midnight UTC)
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, format = DateTime))]
    pub to: Option<DateTime<Utc>>,
}

impl LogQuery {
    pub fn read(query: &ListQuery) -> ApiResult<Self> {
        Ok(Self {
            status: attempt_status(query)?,
            event_type: param(query, "eventType").cloned(),
            from: time(query, "from")?,
            to: time(query, "to")?,
        })
    }

    /// The filter over the attempts of `scope`.
    pub fn filter(self, scope: LogScope) -> LogFilter {
        LogFilter {
            scope,
            status: self.status,
            event_type: self.event_type,
            from: self.from,
            to: self.to,
        }
    }
}

/// `?include=recentDeliveries` on an endpoint's read.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct EndpointInclude {
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, schema_with = schemas::include))]
    pub include: bool,
}

impl EndpointInclude {
    pub const RECENT_DELIVERIES: &'static str = "recentDeliveries";
    /// How many recent attempts it adds.
    pub const RECENT_COUNT: u32 = 50;

    pub fn read(query: &ListQuery) -> ApiResult<Self> {
        match param(query, "include").map(String::as_str) {
            None => Ok(Self { include: false }),
            Some(Self::RECENT_DELIVERIES) => Ok(Self { include: true }),
            Some(_) => Err(bad_query("include must be recentDeliveries")),
        }
    }
}

/// Recovery's start: failures since when are re-delivered.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct RecoverySince {
    /// failures at or after (RFC 3339, or YYYY-MM-DD for midnight UTC)
    #[cfg_attr(feature = "openapi", param(value_type = String, format = DateTime))]
    pub since: DateTime<Utc>,
}

impl RecoverySince {
    pub fn read(query: &ListQuery) -> ApiResult<Self> {
        let since =
            time(query, "since")?.ok_or_else(|| bad_query("since is required (RFC 3339)"))?;
        Ok(Self { since })
    }
}

/// The event listing's filters.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct EventQuery {
    /// an event type, <prefix>.* or *
    #[cfg_attr(feature = "openapi", param(rename = "type"))]
    pub event_type: Option<String>,
    /// who published it: api (the tenant), meta (made from a Meta webhook) or hookhub
    #[cfg_attr(feature = "openapi", param(schema_with = schemas::origin))]
    pub source: Option<String>,
    /// published at or after (RFC 3339, or YYYY-MM-DD for midnight UTC)
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, format = DateTime))]
    pub from: Option<DateTime<Utc>>,
    /// published at or before (RFC 3339, or YYYY-MM-DD for midnight UTC)
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, format = DateTime))]
    pub to: Option<DateTime<Utc>>,
}

impl EventQuery {
    pub fn read(query: &ListQuery) -> ApiResult<Self> {
        let event_type = param(query, "type").cloned();
        if event_type
            .as_deref()
            .is_some_and(|p| !catalog::is_valid_pattern(p))
        {
            return Err(bad_query(
                "type must be an event type, <prefix>.* or *; see GET /api/v1/webhooks/events",
            ));
        }
        let source = param(query, "source").cloned();
        if source
            .as_deref()
            .is_some_and(|s| catalog::sources_of(s).is_empty())
        {
            return Err(bad_query("source must be api, meta or hookhub"));
        }
        Ok(Self {
            event_type,
            source,
            from: time(query, "from")?,
            to: time(query, "to")?,
        })
    }

    pub fn filter(self) -> EventFilter {
        EventFilter {
            event_type: self.event_type,
            source: self.source,
            from: self.from,
            to: self.to,
        }
    }
}

/// `?wait=true`: call at once and answer with the workflows' responses.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct CallWait {
    /// call at once (within 20 s) and answer with the workflow's response
    #[cfg_attr(feature = "openapi", param(value_type = Option<bool>, default = false))]
    pub wait: bool,
}

impl CallWait {
    pub fn read(query: &ListQuery) -> ApiResult<Self> {
        Ok(Self {
            wait: boolean(query, "wait")?,
        })
    }
}

/// The workflow dashboard's window: `range`, ending now.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct RangeQuery {
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, schema_with = schemas::range))]
    pub range: String,
    #[cfg_attr(feature = "openapi", param(ignore))]
    pub since: DateTime<Utc>,
}

impl RangeQuery {
    pub fn read(query: &ListQuery) -> ApiResult<Self> {
        let range = param(query, "range").map_or(DEFAULT_RANGE, String::as_str);
        let hours = RANGES
            .iter()
            .find(|(name, _)| *name == range)
            .map(|(_, hours)| *hours)
            .ok_or_else(|| bad_query("range must be 1h, 24h, 7d or 30d"))?;
        Ok(Self {
            range: range.to_string(),
            since: Utc::now() - chrono::Duration::hours(hours),
        })
    }
}

/// The workflow calls listings' filters: `status`, and a window given as a `range` ending
/// now or as `from`/`to`.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct CallsQuery {
    #[cfg_attr(feature = "openapi", param(schema_with = schemas::attempt_status))]
    pub status: Option<String>,
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, schema_with = schemas::calls_range))]
    pub range: Option<RangeQuery>,
    /// calls at or after (RFC 3339, or YYYY-MM-DD for midnight UTC); with range, ignored
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, format = DateTime))]
    pub from: Option<DateTime<Utc>>,
    /// calls at or before (RFC 3339, or YYYY-MM-DD for midnight UTC)
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, format = DateTime))]
    pub to: Option<DateTime<Utc>>,
}

impl CallsQuery {
    pub fn read(query: &ListQuery) -> ApiResult<Self> {
        let range = match param(query, "range") {
            Some(_) => Some(RangeQuery::read(query)?),
            None => None,
        };
        Ok(Self {
            status: attempt_status(query)?,
            range,
            from: time(query, "from")?,
            to: time(query, "to")?,
        })
    }

    /// The filter over the calls of the workflows `ids`; the window starts where the range
    /// does, else at `from`.
    pub fn filter(self, ids: Vec<String>) -> LogFilter {
        LogFilter {
            scope: LogScope::Merged {
                workflows: true,
                ids,
            },
            from: self.range.map(|r| r.since).or(self.from),
            status: self.status,
            event_type: None,
            to: self.to,
        }
    }
}

/// The Meta event listing's filters.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query, rename_all = "camelCase"))]
pub struct MetaEventQuery {
    /// one event type of the catalog
    pub event_type: Option<String>,
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, schema_with = schemas::processing_status))]
    pub status: Option<ProcessingStatus>,
}

impl MetaEventQuery {
    pub fn read(query: &ListQuery) -> ApiResult<Self> {
        let event_type = param(query, "eventType").cloned();
        if let Some(t) = event_type.as_deref().filter(|t| !catalog::is_known(t)) {
            return Err(bad_query(format!(
                "eventType {t:?} is not a known event type; see GET /api/v1/webhooks/events"
            )));
        }
        let status = param(query, "status")
            .map(|s| {
                ProcessingStatus::parse(s)
                    .ok_or_else(|| bad_query("status must be received, processed or failed"))
            })
            .transpose()?;
        Ok(Self { event_type, status })
    }
}

/// The message listing's filters.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct MessageQuery {
    #[cfg_attr(feature = "openapi", param(schema_with = schemas::message_status))]
    pub status: Option<String>,
    #[cfg_attr(feature = "openapi", param(schema_with = schemas::channel))]
    pub channel: Option<String>,
    /// recipient, E.164
    pub to: Option<String>,
    /// created at or after (RFC 3339, or YYYY-MM-DD for midnight UTC)
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, format = DateTime))]
    pub from: Option<DateTime<Utc>>,
    /// created at or before (RFC 3339, or YYYY-MM-DD for midnight UTC)
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, format = DateTime))]
    pub until: Option<DateTime<Utc>>,
}

impl MessageQuery {
    pub fn read(query: &ListQuery) -> ApiResult<Self> {
        let status = param(query, "status").cloned();
        if status.as_deref().is_some_and(|s| !STATUSES.contains(&s)) {
            return Err(bad_query(
                "status must be queued, sent, delivered, read or failed",
            ));
        }
        let channel = param(query, "channel").cloned();
        if channel
            .as_deref()
            .is_some_and(|c| Channel::parse(c).is_none())
        {
            return Err(bad_query("channel must be sms or whatsapp"));
        }
        let to = param(query, "to").cloned();
        if to.as_deref().is_some_and(|t| !is_e164(t)) {
            return Err(bad_query("to must be an E.164 phone number (+15551234567)"));
        }
        Ok(Self {
            status,
            channel,
            to,
            from: time(query, "from")?,
            until: time(query, "until")?,
        })
    }

    pub fn filter(self) -> MessageFilter {
        MessageFilter {
            status: self.status,
            channel: self.channel,
            to: self.to,
            from: self.from,
            until: self.until,
        }
    }
}

/// The audit log listing's filters.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AuditQuery {
    /// actions starting with this, e.g. endpoint.
    pub action: Option<String>,
    /// one actor, e.g. tenant_admin:{sub} or api_key:{id}
    pub actor: Option<String>,
    /// changes at or after (RFC 3339, or YYYY-MM-DD for midnight UTC)
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, format = DateTime))]
    pub from: Option<DateTime<Utc>>,
    /// changes at or before (RFC 3339, or YYYY-MM-DD for midnight UTC)
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, format = DateTime))]
    pub to: Option<DateTime<Utc>>,
}

impl AuditQuery {
    pub fn read(query: &ListQuery) -> ApiResult<Self> {
        Ok(Self {
            action: param(query, "action").cloned(),
            actor: param(query, "actor").cloned(),
            from: time(query, "from")?,
            to: time(query, "to")?,
        })
    }

    pub fn filter(self) -> AuditFilter {
        AuditFilter {
            action: self.action,
            actor: self.actor,
            from: self.from,
            to: self.to,
        }
    }
}

/// The contact listing's and exports' filters, sort and offset.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query, rename_all = "camelCase"))]
pub struct ContactQuery {
    /// first seen at or after (RFC 3339, or YYYY-MM-DD for midnight UTC)
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, format = DateTime))]
    pub created_after: Option<DateTime<Utc>>,
    /// first seen before (RFC 3339, or YYYY-MM-DD for midnight UTC)
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, format = DateTime))]
    pub created_before: Option<DateTime<Utc>>,
    /// changed at or after (RFC 3339, or YYYY-MM-DD for midnight UTC)
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, format = DateTime))]
    pub updated_after: Option<DateTime<Utc>>,
    /// contacts with this tag
    pub has_tag: Option<String>,
    /// custom field equals value; any number of customField[<name>] parameters
    #[cfg_attr(feature = "openapi", param(rename = "customField[name]", value_type = Option<String>))]
    pub custom_fields: std::collections::BTreeMap<String, String>,
    #[cfg_attr(feature = "openapi", param(schema_with = schemas::opt_in_channel))]
    pub opted_in: Option<String>,
    /// part of the name, username, email, phone or external id, any case
    pub search: Option<String>,
    /// only contacts who consented to exports
    #[cfg_attr(feature = "openapi", param(value_type = Option<bool>))]
    pub export_consent_only: bool,
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, schema_with = schemas::sort_by))]
    pub sort_by: SortBy,
    #[cfg_attr(feature = "openapi", param(rename = "sortOrder", value_type = Option<String>, schema_with = schemas::sort_order))]
    pub descending: bool,
    /// rows to skip, for orders other than creation (which pages by cursor)
    #[cfg_attr(feature = "openapi", param(value_type = Option<i64>, minimum = 0))]
    pub offset: usize,
}

impl ContactQuery {
    pub fn read(query: &ListQuery) -> ApiResult<Self> {
        let opted_in = param(query, "optedIn").cloned();
        if opted_in
            .as_deref()
            .is_some_and(|c| !OPT_IN_CHANNELS.contains(&c))
        {
            return Err(bad_query(
                "optedIn must be whatsapp, instagram or messenger",
            ));
        }
        let custom_fields = query
            .params
            .iter()
            .filter_map(|(name, value)| {
                let field = name.strip_prefix("customField[")?.strip_suffix(']')?;
                (!field.is_empty()).then(|| (field.to_string(), value.clone()))
            })
            .collect();
        let sort_by = match param(query, "sortBy") {
            None => SortBy::CreatedAt,
            Some(s) => SortBy::parse(s).ok_or_else(|| {
                bad_query("sortBy must be createdAt, updatedAt, lastSeenAt or name")
            })?,
        };
        let descending = match param(query, "sortOrder").map(String::as_str) {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(_) => return Err(bad_query("sortOrder must be asc or desc")),
        };
        // Read as the document's int64, so that an offset it rules out is refused.
        let offset = match param(query, "offset") {
            None => 0,
            Some(o) => o
                .parse::<i64>()
                .ok()
                .and_then(|o| usize::try_from(o).ok())
                .ok_or_else(|| bad_query("offset must be a whole number"))?,
        };
        Ok(Self {
            created_after: time(query, "createdAfter")?,
            created_before: time(query, "createdBefore")?,
            updated_after: time(query, "updatedAfter")?,
            has_tag: param(query, "hasTag").cloned(),
            custom_fields,
            opted_in,
            search: param(query, "search").cloned().filter(|s| !s.is_empty()),
            export_consent_only: boolean(query, "exportConsentOnly")?,
            sort_by,
            descending,
            offset,
        })
    }

    pub fn selection(self) -> Selection {
        let rfc3339 = |t: Option<DateTime<Utc>>| t.map(hookhub_shared::time::rfc3339);
        Selection {
            filter: ContactFilter {
                created_after: rfc3339(self.created_after),
                created_before: rfc3339(self.created_before),
                updated_after: rfc3339(self.updated_after),
                has_tag: self.has_tag,
                opted_in: self.opted_in,
                search: self.search,
                export_consent_only: self.export_consent_only,
                custom_fields: self.custom_fields,
            },
            sort_by: self.sort_by,
            descending: self.descending,
            offset: self.offset,
        }
    }
}

/// An export's own parameters, besides the selection's.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ExportFields {
    #[cfg_attr(feature = "openapi", param(value_type = Option<String>, schema_with = schemas::export_fields))]
    pub fields: Option<Vec<hookhub_shared::exports::ExportField>>,
}

impl ExportFields {
    pub fn read(query: &ListQuery) -> ApiResult<Self> {
        let fields = param(query, "fields")
            .map(|f| hookhub_shared::exports::parse_fields(f))
            .transpose()
            .map_err(bad_query)?;
        Ok(Self { fields })
    }
}

/// The JSON export's `includeEvents`.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query, rename_all = "camelCase"))]
pub struct ExportEvents {
    /// add each contact's recent events
    #[cfg_attr(feature = "openapi", param(value_type = Option<bool>))]
    pub include_events: bool,
}

impl ExportEvents {
    pub fn read(query: &ListQuery) -> ApiResult<Self> {
        Ok(Self {
            include_events: boolean(query, "includeEvents")?,
        })
    }
}

/// The schemas of the parameters whose values are a closed list, from the lists the readers
/// check.
#[cfg(feature = "openapi")]
mod schemas {
    use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

    fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values.into_iter().collect::<Vec<_>>()))
    }

    pub fn attempt_status() -> Object {
        one_of(super::ATTEMPT_STATUSES).build()
    }

    pub fn include() -> Object {
        one_of([super::EndpointInclude::RECENT_DELIVERIES])
            .description(Some(format!(
                "{}: add the last {} attempts",
                super::EndpointInclude::RECENT_DELIVERIES,
                super::EndpointInclude::RECENT_COUNT
            )))
            .build()
    }

    pub fn origin() -> Object {
        one_of(
            hookhub_shared::webhooks::catalog::ORIGINS
                .iter()
                .map(|(name, _)| *name),
        )
        .build()
    }

    pub fn range() -> Object {
        one_of(super::RANGES.map(|(name, _)| name))
            .description(Some("the window, ending now"))
            .default(Some(super::DEFAULT_RANGE.into()))
            .build()
    }

    pub fn calls_range() -> Object {
        one_of(super::RANGES.map(|(name, _)| name))
            .description(Some("the window, ending now; instead of from"))
            .build()
    }

    pub fn processing_status() -> Object {
        one_of(super::ProcessingStatus::ALL.map(super::ProcessingStatus::as_str)).build()
    }

    pub fn message_status() -> Object {
        one_of(super::STATUSES.iter().copied()).build()
    }

    pub fn channel() -> Object {
        one_of(super::Channel::ALL.map(super::Channel::as_str)).build()
    }

    pub fn opt_in_channel() -> Object {
        one_of(super::OPT_IN_CHANNELS).build()
    }

    pub fn sort_by() -> Object {
        one_of(super::SortBy::NAMES).build()
    }

    pub fn sort_order() -> Object {
        one_of(["asc", "desc"]).default(Some("desc".into())).build()
    }

    pub fn export_fields() -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(format!(
                "comma-separated: the fields to export, in this order: {}, customFields (every custom field) or customField.<name>; all by default",
                hookhub_shared::exports::CSV_COLUMNS.join(", ")
            )))
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> ListQuery {
        ListQuery {
            limit: None,
            cursor: None,
            params: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn message(error: ApiError) -> String {
        error.to_string()
    }

    #[test]
    fn times_are_rfc3339_or_a_date_at_midnight_utc() {
        let q = LogQuery::read(&query(&[
            ("from", "2026-03-01"),
            ("to", "2026-03-02T10:00:00+02:00"),
        ]))
        .unwrap();
        assert_eq!(q.from.unwrap().to_rfc3339(), "2026-03-01T00:00:00+00:00");
        assert_eq!(q.to.unwrap().to_rfc3339(), "2026-03-02T08:00:00+00:00");
        let bad = LogQuery::read(&query(&[("to", "yesterday")]))
            .err()
            .unwrap();
        assert!(message(bad).contains("to must be an RFC 3339 timestamp"));
    }

    #[test]
    fn a_calls_range_starts_the_window_before_from() {
        let before = Utc::now() - chrono::Duration::hours(1);
        let ranged = CallsQuery::read(&query(&[("range", "1h"), ("from", "2020-01-01")])).unwrap();
        let start = ranged.filter(vec![]).from.unwrap();
        assert!(start >= before - chrono::Duration::seconds(5) && start <= Utc::now());
        let from = CallsQuery::read(&query(&[("from", "2020-01-01")])).unwrap();
        assert_eq!(
            from.filter(vec![]).from.unwrap().to_rfc3339(),
            "2020-01-01T00:00:00+00:00"
        );
        assert!(CallsQuery::read(&query(&[("range", "2h")])).is_err());
        assert!(CallsQuery::read(&query(&[("status", "ok")])).is_err());
    }

    #[test]
    fn the_dashboard_range_defaults_to_a_day() {
        let q = RangeQuery::read(&query(&[])).unwrap();
        assert_eq!(q.range, DEFAULT_RANGE);
        let hours = (Utc::now() - q.since).num_minutes() as f64 / 60.0;
        assert!((23.9..=24.1).contains(&hours));
    }

    #[test]
    fn a_contact_selection_reads_every_filter() {
        let q = ContactQuery::read(&query(&[
            ("customField[drink]", "tea"),
            ("customField[]", "ignored"),
            ("optedIn", "whatsapp"),
            ("sortBy", "lastSeenAt"),
            ("sortOrder", "asc"),
            ("offset", "20"),
            ("search", ""),
        ]))
        .unwrap()
        .selection();
        assert_eq!(
            q.filter.custom_fields.into_iter().collect::<Vec<_>>(),
            vec![("drink".to_string(), "tea".to_string())]
        );
        assert_eq!(q.filter.opted_in.as_deref(), Some("whatsapp"));
        assert_eq!(q.filter.search, None, "a blank search filters nothing");
        assert_eq!(q.sort_by, SortBy::LastSeenAt);
        assert!(!q.descending);
        assert_eq!(q.offset, 20);
    }

    #[test]
    fn an_offset_beyond_int64_or_negative_is_refused() {
        for offset in ["-1", "9223372036854775808", "ten"] {
            let bad = ContactQuery::read(&query(&[("offset", offset)])).err();
            assert!(bad.is_some(), "{offset} accepted");
        }
        let max = ContactQuery::read(&query(&[("offset", "9223372036854775807")])).unwrap();
        assert_eq!(max.offset as u64, i64::MAX as u64);
    }

    #[test]
    fn closed_lists_refuse_other_values() {
        assert!(MetaEventQuery::read(&query(&[("status", "done")])).is_err());
        assert!(MetaEventQuery::read(&query(&[("eventType", "no.such")])).is_err());
        assert!(MessageQuery::read(&query(&[("channel", "fax")])).is_err());
        assert!(MessageQuery::read(&query(&[("to", "12345")])).is_err());
        assert!(EventQuery::read(&query(&[("source", "elsewhere")])).is_err());
        assert!(EndpointInclude::read(&query(&[("include", "all")])).is_err());
        assert!(CallWait::read(&query(&[("wait", "yes")])).is_err());
        assert!(RecoverySince::read(&query(&[])).is_err());
        assert!(
            EndpointInclude::read(&query(&[("include", "recentDeliveries")]))
                .unwrap()
                .include
        );
    }
}
