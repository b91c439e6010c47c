//! Listings of attempts: one endpoint's partition, or the tenant's endpoints merged newest
//! first (failures from their index).

use super::*;

/// Whose attempts a listing covers.
#[derive(Debug, Clone)]
pub enum LogScope {
    /// One endpoint's (its partition, newest first).
    Endpoint(String),
    /// These endpoints' together (the tenant's endpoints, or its n8n workflows): their
    /// partitions merged newest first, or the failed-attempts index when only failures are
    /// asked for.
    Merged { workflows: bool, ids: Vec<String> },
}

impl Default for LogScope {
    fn default() -> Self {
        Self::Merged {
            workflows: false,
            ids: Vec::new(),
        }
    }
}

/// Filters for a log listing.
#[derive(Debug, Default, Clone)]
pub struct LogFilter {
    pub scope: LogScope,
    pub status: Option<String>,
    pub event_type: Option<String>,
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    pub to: Option<chrono::DateTime<chrono::Utc>>,
}

fn id_bound(at: chrono::DateTime<chrono::Utc>, upper: bool) -> String {
    ids::bound_at(IdKind::Delivery, at, upper)
}

impl DeliveryLog {
    /// Newest first, filtered, one page.
    pub async fn list(
        &self,
        tenant_id: &str,
        filter: &LogFilter,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<AttemptLog>, Option<String>)> {
        let from = filter
            .from
            .map(|t| id_bound(t, false))
            .unwrap_or_else(|| "del_0".into());
        let to = filter
            .to
            .map(|t| id_bound(t, true))
            .unwrap_or_else(|| "del_~".into());
        let (query, sort_prefix) = match &filter.scope {
            LogScope::Endpoint(e) => (
                Query::new(Index::Primary, keys::endpoint_partition(tenant_id, e)),
                ATTEMPT_PREFIX,
            ),
            LogScope::Merged { workflows, .. } if filter.status.as_deref() == Some(FAILED) => (
                Query::new(
                    Index::Gsi2,
                    format!("{}#{FAILED}", attempts_partition(tenant_id, *workflows)),
                ),
                "",
            ),
            LogScope::Merged { workflows, ids } => {
                return self
                    .list_merged(
                        tenant_id,
                        *workflows,
                        ids,
                        filter,
                        (from, to),
                        limit,
                        cursor,
                    )
                    .await;
            }
        };
        let query = query
            .between(format!("{sort_prefix}{from}"), format!("{sort_prefix}{to}"))
            .newest_first();
        // Filters on other attributes are applied to each page; a page may come back short
        // with a cursor, as with any filtered DynamoDB listing.
        let page = self.table.query(query.page(limit, cursor)).await?;
        let mut logs = parse_logs(page.items)?;
        logs.retain(|l| filter.admits(l));
        Ok((logs, page.next_cursor))
    }

    /// The endpoints' partitions read side by side from the cursor's position down, merged
    /// newest first. A partition that has more than it returned bounds what can be returned
    /// (its unread attempts are older than its last read one), so no attempt is skipped; the
    /// next page starts below the last attempt returned.
    #[allow(clippy::too_many_arguments)]
    async fn list_merged(
        &self,
        tenant_id: &str,
        workflows: bool,
        endpoint_ids: &[String],
        filter: &LogFilter,
        (from, to): (String, String),
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<(Vec<AttemptLog>, Option<String>)> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE) as usize;
        let position = attempts_partition(tenant_id, workflows);
        let below = cursor.map(|c| decode_position(c, &position)).transpose()?;
        let upper = match &below {
            Some(b) if *b < to => b.clone(),
            _ => to,
        };
        let queries: Vec<Query<'static>> = endpoint_ids
            .iter()
            .map(|id| {
                Query::new(Index::Primary, keys::endpoint_partition(tenant_id, id))
                    .between(
                        format!("{ATTEMPT_PREFIX}{from}"),
                        format!("{ATTEMPT_PREFIX}{upper}"),
                    )
                    .newest_first()
                    .page(Some(limit as u32 + 1), None)
            })
            .collect();
        // Chunks joined rather than a buffered stream: a stream's closure type in this future
        // defeats the `Send` proof axum needs for the handler.
        let mut pages = Vec::with_capacity(queries.len());
        for chunk in queries.chunks(MERGE_CONCURRENCY) {
            let read =
                futures::future::try_join_all(chunk.iter().cloned().map(|q| self.table.query(q)))
                    .await?;
            pages.extend(read);
        }
        let mut frontier: Option<String> = None;
        let mut logs = Vec::new();
        for page in pages {
            let mut read = parse_logs(page.items)?;
            if page.next_cursor.is_some() {
                if let Some(last) = read.last() {
                    if frontier.as_ref().is_none_or(|f| last.id > *f) {
                        frontier = Some(last.id.clone());
                    }
                }
            }
            read.retain(|l| filter.admits(l) && below.as_ref().is_none_or(|b| l.id < *b));
            logs.append(&mut read);
        }
        logs.sort_unstable_by(|a, b| b.id.cmp(&a.id));
        if let Some(f) = &frontier {
            logs.retain(|l| l.id >= *f);
        }
        let next = if logs.len() > limit {
            logs.truncate(limit);
            logs.last().map(|l| l.id.clone())
        } else {
            frontier
        };
        let next = next.map(|id| encode_position(&position, &id)).transpose()?;
        Ok((logs, next))
    }
}

/// How many endpoint partitions a merged listing reads at once.
const MERGE_CONCURRENCY: usize = 16;

fn parse_logs(items: Vec<crate::store::Item>) -> ServiceResult<Vec<AttemptLog>> {
    Ok(items
        .into_iter()
        .map(from_item::<AttemptLog>)
        .collect::<Result<Vec<_>, _>>()?)
}

impl LogFilter {
    fn admits(&self, log: &AttemptLog) -> bool {
        self.status.as_deref().is_none_or(|s| log.status == s)
            && self
                .event_type
                .as_deref()
                .is_none_or(|t| log.event_type == t)
    }
}

/// A merged listing's cursor: the attempt id the next page starts below, bound to the
/// tenant and kind so it cannot be replayed elsewhere (the same validated cursor format as
/// every other list).
fn encode_position(position: &str, below: &str) -> Result<String, StoreError> {
    encode_cursor(&HashMap::from([
        (keys::PK.to_string(), AttributeValue::S(position.into())),
        (keys::SK.to_string(), AttributeValue::S(below.into())),
    ]))
}

fn decode_position(cursor: &str, position: &str) -> Result<String, StoreError> {
    let key = decode_cursor(cursor, Index::Primary, position)?;
    key.get(keys::SK)
        .and_then(|v| v.as_s().ok())
        .filter(|id| ids::is_valid(IdKind::Delivery, id))
        .cloned()
        .ok_or(StoreError::InvalidCursor("not a cursor for this list"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_bounds_bracket_ids_of_that_time() {
        let at = chrono::Utc::now();
        let id = ids::new_id_at(IdKind::Delivery, at.timestamp_millis() as u64);
        assert!(id_bound(at, false) <= id && id <= id_bound(at, true));
        let later = at + chrono::Duration::seconds(1);
        assert!(id < id_bound(later, false));
    }
}
