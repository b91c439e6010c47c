//! The attempt log: the tenant-wide listing merges the endpoints' partitions page by page
//! (nothing skipped, nothing repeated, newest first), failures alone go to the by-status
//! index, and an attempt is found by id among the tenant's endpoints only.

use std::collections::HashSet;

use hookhub_shared::error::ServiceError;
use hookhub_shared::ids::{new_id_at, IdKind};
use hookhub_shared::store::StoreError;
use hookhub_shared::webhooks::logs::{AttemptLog, DeliveryLog, LogFilter, LogScope};
use hookhub_test_support::TestStack;

const TENANT: &str = "ten_01JDQ7Y3ZK5V8X9W2M4N6P8R0T";

fn attempt(endpoint: &str, at_ms: u64, success: bool, event_type: &str) -> AttemptLog {
    AttemptLog {
        id: new_id_at(IdKind::Delivery, at_ms),
        tenant_id: TENANT.into(),
        endpoint_id: endpoint.into(),
        delivery_id: new_id_at(IdKind::Delivery, at_ms),
        event_id: format!("evt_{at_ms}"),
        event_type: event_type.into(),
        attempt: 1,
        success,
        status: if success { "success" } else { "failed" }.into(),
        status_code: Some(if success { 200 } else { 500 }),
        response_time_ms: 3,
        response_body: None,
        error: None,
        will_retry: false,
        next_attempt_at: None,
        url: "https://example.com/hook".into(),
        created_at: "2026-11-23T10:00:00Z".into(),
        request_headers: Default::default(),
        response_headers: Default::default(),
    }
}

fn merged(ids: &[&str]) -> LogScope {
    LogScope::Merged {
        workflows: false,
        ids: ids.iter().map(|s| s.to_string()).collect(),
    }
}

/// Every page of a listing, in order.
async fn all_pages(log: &DeliveryLog, filter: &LogFilter, limit: u32) -> (Vec<AttemptLog>, usize) {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let (page, next) = log
            .list(TENANT, filter, Some(limit), cursor.as_deref())
            .await
            .unwrap();
        pages += 1;
        assert!(page.len() <= limit as usize);
        out.extend(page);
        match next {
            Some(c) => cursor = Some(c),
            None => return (out, pages),
        }
        assert!(pages < 100, "the listing does not end");
    }
}

#[tokio::test]
async fn tenant_wide_listing_merges_endpoint_partitions_without_gaps_or_repeats() {
    let stack = TestStack::new("logs-merge").await;
    let log = stack.ctx.delivery_log();
    let endpoints = [
        "wh_01JDQ7Y3ZK5V8X9W2M4N6P8RA1",
        "wh_01JDQ7Y3ZK5V8X9W2M4N6P8RA2",
        "wh_01JDQ7Y3ZK5V8X9W2M4N6P8RA3",
    ];
    // Uneven and interleaved in time: one busy endpoint, one quiet, one in between; a
    // quarter failed, and two event types.
    let base = 1_790_000_000_000u64;
    let mut written = Vec::new();
    for i in 0..47u64 {
        let endpoint = match i % 7 {
            0 => endpoints[1],
            1 | 2 => endpoints[2],
            _ => endpoints[0],
        };
        let kind = if i % 3 == 0 {
            "order.paid"
        } else {
            "contact.created"
        };
        let a = attempt(endpoint, base + i * 1000, i % 4 != 0, kind);
        log.record_not_sent(&a).await.unwrap();
        written.push(a);
    }
    // Another tenant's endpoint partition is never read.
    let mut stranger = attempt(endpoints[0], base + 500, true, "order.paid");
    stranger.tenant_id = "ten_01JDQ7Y3ZK5V8X9W2M4N6P8RZZ".into();
    log.record_not_sent(&stranger).await.unwrap();

    let mut newest_first = written.clone();
    newest_first.sort_by(|a, b| b.id.cmp(&a.id));
    let ids = |logs: &[AttemptLog]| logs.iter().map(|l| l.id.clone()).collect::<Vec<_>>();

    for limit in [1, 5, 10, 47, 100] {
        let filter = LogFilter {
            scope: merged(&endpoints),
            ..Default::default()
        };
        let (listed, pages) = all_pages(&log, &filter, limit).await;
        assert_eq!(ids(&listed), ids(&newest_first), "limit {limit}");
        assert!(
            pages >= 47usize.div_ceil(limit as usize),
            "limit {limit}: {pages} pages"
        );
    }

    // Filters: by event type (client side) and by failure (the sparse index).
    let filter = LogFilter {
        scope: merged(&endpoints),
        event_type: Some("order.paid".into()),
        ..Default::default()
    };
    let (paid, _) = all_pages(&log, &filter, 4).await;
    let expected: Vec<_> = newest_first
        .iter()
        .filter(|l| l.event_type == "order.paid")
        .cloned()
        .collect();
    assert_eq!(ids(&paid), ids(&expected));

    for status in ["failed", "success"] {
        let filter = LogFilter {
            scope: merged(&endpoints),
            status: Some(status.into()),
            ..Default::default()
        };
        let (got, _) = all_pages(&log, &filter, 6).await;
        let expected: Vec<_> = newest_first
            .iter()
            .filter(|l| l.status == status)
            .cloned()
            .collect();
        assert_eq!(ids(&got), ids(&expected), "{status}");
    }

    // A time window.
    let filter = LogFilter {
        scope: merged(&endpoints),
        from: chrono::DateTime::from_timestamp_millis((base + 10_000) as i64),
        to: chrono::DateTime::from_timestamp_millis((base + 20_000) as i64),
        ..Default::default()
    };
    let (window, _) = all_pages(&log, &filter, 3).await;
    assert_eq!(window.len(), 11, "{:?}", ids(&window));
    assert_eq!(
        window.iter().map(|l| &l.id).collect::<HashSet<_>>().len(),
        11
    );

    // One endpoint's own partition.
    let filter = LogFilter {
        scope: LogScope::Endpoint(endpoints[1].into()),
        ..Default::default()
    };
    let (one, _) = all_pages(&log, &filter, 2).await;
    assert_eq!(one.len(), 7);
    assert!(one.iter().all(|l| l.endpoint_id == endpoints[1]));

    // Found by id among the tenant's endpoints; not among another set, not for another tenant.
    let target = &written[20];
    let owned: Vec<String> = endpoints.iter().map(|s| s.to_string()).collect();
    assert_eq!(log.get(TENANT, &owned, &target.id).await.unwrap(), *target);
    assert!(matches!(
        log.get(TENANT, &owned[..0], &target.id).await,
        Err(ServiceError::NotFound(_))
    ));
    assert!(matches!(
        log.get("ten_01JDQ7Y3ZK5V8X9W2M4N6P8RZZ", &owned, &target.id)
            .await,
        Err(ServiceError::NotFound(_))
    ));
}

#[tokio::test]
async fn merged_cursors_are_bound_to_their_tenant_and_kind() {
    let stack = TestStack::new("logs-cursor").await;
    let log = stack.ctx.delivery_log();
    let endpoint = "wh_01JDQ7Y3ZK5V8X9W2M4N6P8RB1";
    for i in 0..3u64 {
        log.record_not_sent(&attempt(endpoint, 1_790_000_000_000 + i, true, "a.b"))
            .await
            .unwrap();
    }
    let filter = LogFilter {
        scope: merged(&[endpoint]),
        ..Default::default()
    };
    let (_, cursor) = log.list(TENANT, &filter, Some(1), None).await.unwrap();
    let cursor = cursor.expect("more pages");
    let invalid = |r: Result<_, ServiceError>| {
        matches!(r, Err(ServiceError::Store(StoreError::InvalidCursor(_))))
    };
    // Another tenant, or the workflow listing, cannot use it.
    assert!(invalid(
        log.list(
            "ten_01JDQ7Y3ZK5V8X9W2M4N6P8RZZ",
            &filter,
            Some(1),
            Some(&cursor)
        )
        .await
    ));
    let workflows = LogFilter {
        scope: LogScope::Merged {
            workflows: true,
            ids: vec![endpoint.into()],
        },
        ..Default::default()
    };
    assert!(invalid(
        log.list(TENANT, &workflows, Some(1), Some(&cursor)).await
    ));
    for junk in ["", "x", "eyJwayI6IlQjdGVuIiwic2siOiJub3QtYW4taWQifQ"] {
        assert!(
            invalid(log.list(TENANT, &filter, Some(1), Some(junk)).await),
            "{junk}"
        );
    }
}

#[tokio::test]
async fn the_open_hour_moves_to_its_own_item_once_the_next_hour_opens() {
    let stack = TestStack::new("logs-hours").await;
    let log = stack.ctx.delivery_log();
    let endpoint = "wh_01JDQ7Y3ZK5V8X9W2M4N6P8RC1";
    let now = chrono::Utc::now();
    let hour = |offset: i64| {
        (now + chrono::Duration::hours(offset))
            .format("%Y-%m-%dT%H")
            .to_string()
    };
    let (h1, h2, h3, h4) = (hour(-2), hour(-1), hour(0), hour(1));
    let mut clock = 1_790_000_000_000u64;
    let mut at = |h: &str, success: bool| {
        clock += 1;
        let mut a = attempt(endpoint, clock, success, "contact.created");
        a.created_at = format!("{h}:30:00Z");
        a.response_time_ms = 10;
        a
    };
    let batches = [
        vec![at(&h1, true), at(&h1, false)],
        vec![at(&h1, true)],
        // The next hour opens: h1 moves to its own item.
        vec![at(&h2, true), at(&h2, true), at(&h2, false)],
        // A straggler from h1, after it closed: straight to h1's item.
        vec![at(&h1, false)],
        // A batch straddling the top of the hour: h2's part to its item, h3 opens.
        vec![at(&h2, true), at(&h3, false)],
    ];
    for batch in &batches {
        let refs: Vec<&AttemptLog> = batch.iter().collect();
        log.count(&refs).await.unwrap();
    }
    // Six single attempts in a new hour: the first closes h3. (Run one after another: the
    // emulator does not isolate concurrent conditional writes and transactions the way
    // DynamoDB does, which is what keeps a second worker from closing h3 twice.)
    for _ in 0..6 {
        let one = at(&h4, true);
        log.count(&[&one]).await.unwrap();
    }

    let hours = log
        .hours(TENANT, endpoint, now - chrono::Duration::hours(3))
        .await
        .unwrap();
    let got: Vec<(String, u64, u64, u64)> = hours
        .iter()
        .map(|h| (h.hour.clone(), h.total, h.successful, h.failed))
        .collect();
    assert_eq!(
        got,
        vec![
            (h1.clone(), 4, 2, 2),
            (h2.clone(), 4, 3, 1),
            (h3.clone(), 1, 0, 1),
            (h4.clone(), 6, 6, 0),
        ]
    );
    assert_eq!(hours.iter().map(|h| h.response_ms).sum::<u64>(), 150);
    let stats = log.stats(TENANT, endpoint).await.unwrap();
    assert_eq!(
        (
            stats.total_deliveries,
            stats.successful_deliveries,
            stats.failed_deliveries
        ),
        (15, 11, 4)
    );
    assert_eq!(stats.total_response_ms, 150);
    assert_eq!(stats.consecutive_failures, 0);
    // Only the hours since a later time.
    let recent = log.hours(TENANT, endpoint, now).await.unwrap();
    assert_eq!(
        recent.iter().map(|h| h.hour.as_str()).collect::<Vec<_>>(),
        [h3.as_str(), h4.as_str()]
    );
}
