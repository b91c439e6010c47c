//! The contact book's bound: a sorted listing reads at most its limit and is refused beyond
//! it, while creation order pages through any number of contacts.

use hookhub_shared::contacts::{ContactFilter, Interaction, SortBy};
use hookhub_shared::error::ServiceError;
use hookhub_shared::meta::{Channel, ContactSeen};
use hookhub_test_support::TestStack;

#[tokio::test]
async fn sorted_listing_is_bounded_and_creation_order_pages() {
    let stack = TestStack::new("contacts-bound").await;
    let tenant = "ten_01JDQ7Y3ZK5V8X9W2M4N6P8R0T";
    let book = stack.ctx.contacts();
    for i in 0..5 {
        let seen = ContactSeen {
            channel: Channel::Whatsapp,
            external_id: format!("1650555000{i}").into(),
            name: Some(format!("Person {i}").into()),
            username: None,
        };
        let captured = book
            .record_seen(
                tenant,
                &seen,
                Interaction::Message,
                "2026-11-22T10:00:00.000Z",
            )
            .await
            .unwrap();
        assert!(captured.created);
    }
    let filter = ContactFilter::default();
    assert_eq!(
        book.list(tenant, &filter, SortBy::Name, false)
            .await
            .unwrap()
            .len(),
        5
    );
    let bounded = book.clone().with_sort_limit(3);
    assert!(matches!(
        bounded.list(tenant, &filter, SortBy::Name, false).await,
        Err(ServiceError::FailedPrecondition(_))
    ));
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let (page, more) = bounded
            .created_order_page(tenant, &filter, false, after.as_deref(), 2)
            .await
            .unwrap();
        seen.extend(page.iter().map(|c| c.id.clone()));
        after = page.last().map(|c| c.id.clone());
        if !more {
            break;
        }
    }
    assert_eq!(seen.len(), 5);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    let (desc, _) = bounded
        .created_order_page(tenant, &filter, true, Some(&seen[2]), 10)
        .await
        .unwrap();
    assert_eq!(
        desc.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        vec![seen[1].clone(), seen[0].clone()]
    );
}
