//! Checks of reading a private mailbox: what a fresh one holds, orders, limits and ranges.

use std::sync::Arc;

use tidings_domain::message::StoredMessage;

use super::mailbox_fixtures::{IDS, apply, fresh_mailbox, inserts, message, read, read_all, state};
use crate::store::{MailboxState, Order, Store};

/// A mailbox nobody wrote to: default state, no messages, no deliveries.
pub async fn a_mailbox_never_written_reads_as_default(store: Arc<dyn Store>) {
    let mailbox = fresh_mailbox();
    assert_eq!(state(store.as_ref(), mailbox).await, MailboxState::default());
    assert!(read_all(store.as_ref(), mailbox).await.is_empty());
    let found = store.find_delivery(mailbox, "delivery-5").await.expect("find_delivery");
    assert_eq!(found, None);
}

/// Messages come back whole, ascending or descending by numeric `msg_id`, at most
/// `limit` of them, from the start of the order.
pub async fn read_mailbox_returns_messages_in_both_orders_up_to_limit(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let mailbox = fresh_mailbox();
    apply(store, inserts(mailbox, &IDS[..3])).await;
    apply(store, inserts(mailbox, &IDS[3..])).await;

    let expected: Vec<StoredMessage> = IDS.iter().map(|id| message(mailbox, *id)).collect();
    assert_eq!(read_all(store, mailbox).await, expected);
    let mut descending = IDS.to_vec();
    descending.reverse();
    assert_eq!(read(store, mailbox, None, None, Order::Descending, 100).await, descending);
    assert_eq!(read(store, mailbox, None, None, Order::Ascending, 2).await, IDS[..2]);
    assert_eq!(read(store, mailbox, None, None, Order::Descending, 2).await, [IDS[5], IDS[4]]);
    assert!(read(store, mailbox, None, None, Order::Ascending, 0).await.is_empty());
}

/// `after` and `before` are exclusive, combine, and apply before `limit` in both orders.
pub async fn read_mailbox_ranges_exclude_their_bounds(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let mailbox = fresh_mailbox();
    apply(store, inserts(mailbox, &IDS)).await;
    let asc = Order::Ascending;
    let desc = Order::Descending;

    assert_eq!(read(store, mailbox, Some(IDS[1]), None, asc, 100).await, IDS[2..]);
    assert_eq!(read(store, mailbox, None, Some(IDS[3]), asc, 100).await, IDS[..3]);
    assert_eq!(read(store, mailbox, Some(IDS[1]), Some(IDS[4]), asc, 100).await, IDS[2..4]);
    assert_eq!(read(store, mailbox, Some(IDS[0]), Some(IDS[5]), asc, 2).await, IDS[1..3]);
    assert_eq!(read(store, mailbox, Some(IDS[0]), Some(IDS[5]), desc, 2).await, [IDS[4], IDS[3]]);
    assert_eq!(read(store, mailbox, None, Some(IDS[3]), desc, 100).await, [IDS[2], IDS[1], IDS[0]]);
    // Bounds between stored ids.
    assert_eq!(read(store, mailbox, Some(IDS[1] + 1), Some(IDS[3] - 1), asc, 100).await, [IDS[2]]);
    assert!(read(store, mailbox, Some(IDS[5]), None, asc, 100).await.is_empty());
    assert!(read(store, mailbox, None, Some(IDS[0]), desc, 100).await.is_empty());
    assert!(read(store, mailbox, Some(IDS[2]), Some(IDS[3]), asc, 100).await.is_empty());
}
