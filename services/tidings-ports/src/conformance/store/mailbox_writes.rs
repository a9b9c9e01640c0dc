//! Checks of writing private mailboxes: idempotent inserts, dedupe keys, head, deletes,
//! read marks, hidden broadcasts, attributes, command rows, the recall index, the order of
//! one call's changes, and isolation.

use std::collections::BTreeSet;
use std::sync::Arc;

use tidings_domain::Uid;
use tidings_domain::message::{Attributes, Mailbox, MessageBody, StoredMessage};

use super::mailbox_fixtures::{IDS, apply, fresh_mailbox, inserts, message, read, read_all, state};
use crate::conformance::unique_id;
use crate::store::{FoundSend, IndexedSend, MailboxChange, MailboxState, Order, Store};

/// The same insert, in one call or in two, leaves one row, one delivery and one head.
pub async fn inserting_the_same_message_twice_keeps_one_row(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let mailbox = fresh_mailbox();
    let once = inserts(mailbox, &IDS[..2]);
    apply(store, once.clone()).await;
    let after_once = (read_all(store, mailbox).await, state(store, mailbox).await);

    apply(store, once.clone()).await;
    apply(store, [once.clone(), once].concat()).await;
    assert_eq!((read_all(store, mailbox).await, state(store, mailbox).await), after_once);
    assert_eq!(after_once.0.len(), 2);
    assert_eq!(after_once.1.head, Some(IDS[1]));
}

/// The dedupe key of a delivery finds its `msg_id`, in its own mailbox only.
pub async fn find_delivery_returns_the_msg_id_by_dedupe_key(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let mailbox = fresh_mailbox();
    apply(store, inserts(mailbox, &IDS[..2])).await;
    for id in &IDS[..2] {
        let found = store.find_delivery(mailbox, &message(mailbox, *id).dedupe_key).await.expect("find_delivery");
        assert_eq!(found, Some(*id));
    }
    let unknown = store.find_delivery(mailbox, "never-delivered").await.expect("find_delivery");
    assert_eq!(unknown, None);
    let elsewhere = store
        .find_delivery(Mailbox::new(mailbox.app_id, unique_id()), &message(mailbox, IDS[0]).dedupe_key)
        .await
        .expect("find_delivery");
    assert_eq!(elsewhere, None);
}

/// `head` is the largest `msg_id` ever inserted, whatever the insertion order, and a
/// deletion does not lower it.
pub async fn mailbox_head_is_the_largest_inserted_msg_id_even_after_delete(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let mailbox = fresh_mailbox();
    apply(store, inserts(mailbox, &[IDS[0], IDS[3]])).await;
    assert_eq!(state(store, mailbox).await.head, Some(IDS[3]));
    apply(store, inserts(mailbox, &[IDS[1]])).await;
    assert_eq!(state(store, mailbox).await.head, Some(IDS[3]));

    let delete_largest = MailboxChange::Delete { mailbox, msg_id: IDS[3] };
    apply(store, vec![delete_largest]).await;
    assert_eq!(state(store, mailbox).await.head, Some(IDS[3]));
    assert_eq!(read(store, mailbox, None, None, Order::Ascending, 100).await, [IDS[0], IDS[1]]);
}

/// A deleted message is gone from every read, its dedupe key stays, and deleting again
/// (or deleting what never was) changes nothing.
pub async fn delete_removes_from_reads_but_keeps_the_dedupe_key(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let mailbox = fresh_mailbox();
    apply(store, inserts(mailbox, &IDS[..3])).await;
    let delete_middle = MailboxChange::Delete { mailbox, msg_id: IDS[1] };
    apply(store, vec![delete_middle.clone()]).await;
    let after_delete = (read_all(store, mailbox).await, state(store, mailbox).await);
    assert_eq!(after_delete.0, vec![message(mailbox, IDS[0]), message(mailbox, IDS[2])]);
    assert!(read(store, mailbox, Some(IDS[0]), Some(IDS[2]), Order::Descending, 10).await.is_empty());
    let found = store.find_delivery(mailbox, &message(mailbox, IDS[1]).dedupe_key).await.expect("find_delivery");
    assert_eq!(found, Some(IDS[1]));

    let delete_unknown = MailboxChange::Delete { mailbox, msg_id: IDS[4] };
    apply(store, vec![delete_middle, delete_unknown]).await;
    assert_eq!((read_all(store, mailbox).await, state(store, mailbox).await), after_delete);
}

/// The read mark only moves up.
pub async fn mark_read_up_to_only_raises(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let mailbox = fresh_mailbox();
    let mark = |up_to| MailboxChange::MarkReadUpTo { mailbox, up_to };
    apply(store, vec![mark(IDS[3])]).await;
    assert_eq!(state(store, mailbox).await.read_up_to, IDS[3]);
    apply(store, vec![mark(IDS[1])]).await;
    assert_eq!(state(store, mailbox).await.read_up_to, IDS[3]);
    apply(store, vec![mark(IDS[5]), mark(IDS[4])]).await;
    assert_eq!(state(store, mailbox).await.read_up_to, IDS[5]);
    apply(store, vec![mark(IDS[5])]).await;
    assert_eq!(state(store, mailbox).await.read_up_to, IDS[5]);
}

/// Hidden broadcasts add up; hiding one again changes nothing.
pub async fn hide_broadcast_accumulates(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let mailbox = fresh_mailbox();
    let hide = |broadcast_id| MailboxChange::HideBroadcast { mailbox, broadcast_id };
    apply(store, vec![hide(5)]).await;
    apply(store, vec![hide(300), hide(5)]).await;
    apply(store, vec![hide(40)]).await;
    assert_eq!(state(store, mailbox).await.hidden_broadcasts, BTreeSet::from([5, 40, 300]));
    assert!(read_all(store, mailbox).await.is_empty());
}

/// Attributes are replaced whole, the last change of a call winning; empty removes them;
/// they leave the rest of the state alone.
pub async fn attributes_are_replaced_whole(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let mailbox = fresh_mailbox();
    let replace = |pairs: &[(&str, &str)]| MailboxChange::ReplaceAttributes {
        mailbox,
        attributes: pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect(),
    };
    apply(store, vec![MailboxChange::MarkReadUpTo { mailbox, up_to: IDS[1] }, replace(&[("nickname", "小明")])]).await;
    apply(store, vec![replace(&[("tier", "gold"), ("nickname", "Ming")]), replace(&[("nickname", "明 🎉")])]).await;
    let expected = MailboxState {
        read_up_to: IDS[1],
        attributes: Attributes::from([("nickname".to_owned(), "明 🎉".to_owned())]),
        ..MailboxState::default()
    };
    assert_eq!(state(store, mailbox).await, expected);
    apply(store, vec![replace(&[])]).await;
    assert_eq!(state(store, mailbox).await, MailboxState { read_up_to: IDS[1], ..MailboxState::default() });
}

/// A delete command's row keeps the `msg_id` it recalls, and a message keeps none.
pub async fn a_command_row_reads_back_with_what_it_recalls(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let mailbox = fresh_mailbox();
    let command = StoredMessage {
        recalls: Some(IDS[0]),
        dedupe_key: "x:delivery-5".into(),
        body: MessageBody { content: String::new(), ..message(mailbox, IDS[1]).body },
        ..message(mailbox, IDS[1])
    };
    apply(store, vec![MailboxChange::Insert(message(mailbox, IDS[0]))]).await;
    apply(store, vec![MailboxChange::Delete { mailbox, msg_id: IDS[0] }, MailboxChange::Insert(command.clone())]).await;
    assert_eq!(read_all(store, mailbox).await, vec![command]);
    assert_eq!(store.find_delivery(mailbox, "x:delivery-5").await.expect("find_delivery"), Some(IDS[1]));
}

/// A send is found by its request key and by its dedupe key; two sends under one dedupe
/// key (one msgkey) add up their recipients; repeating an index changes nothing.
pub async fn sends_are_found_by_request_and_dedupe_key(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let app_id = unique_id();
    let send = |request: &str, dedupe_key: &str, recipients: &[Uid]| IndexedSend {
        app_id,
        request_key: format!("r:{request}"),
        dedupe_key: dedupe_key.into(),
        recipients: recipients.to_vec(),
    };
    let found = |dedupe_key: &str, recipients: &[Uid]| {
        Some(FoundSend { dedupe_key: dedupe_key.into(), recipients: recipients.to_vec() })
    };
    let plain = send("1a-2b", "r:1a-2b", &[30, 4, 1_000_000]);
    let keyed = send("3c-4d", "k:9:order-1", &[7, 4]);
    let again = send("5e-6f", "k:9:order-1", &[8]);
    let index = |sends: Vec<IndexedSend>| async move { store.index_sends(&sends).await.expect("index_sends") };
    index(vec![plain.clone(), keyed.clone()]).await;
    index(vec![again, keyed, plain]).await;

    let find = |key: &'static str| async move { store.find_send(app_id, key).await.expect("find_send") };
    assert_eq!(find("r:1a-2b").await, found("r:1a-2b", &[4, 30, 1_000_000]));
    assert_eq!(find("r:3c-4d").await, found("k:9:order-1", &[4, 7]));
    assert_eq!(find("k:9:order-1").await, found("k:9:order-1", &[4, 7, 8]));
    assert_eq!(find("r:5e-6f").await, found("k:9:order-1", &[8]));
    assert_eq!(find("r:1a").await, None, "a prefix of a key is not the key");
    assert_eq!(store.find_send(unique_id(), "r:1a-2b").await.expect("find_send"), None, "another app's");
}

/// One call's changes apply in the order given, across mailboxes.
pub async fn changes_of_one_call_apply_in_order(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let mailbox = fresh_mailbox();
    let other = Mailbox::new(mailbox.app_id, unique_id());
    let changes = [
        inserts(mailbox, &IDS[..3]),
        vec![
            MailboxChange::Delete { mailbox, msg_id: IDS[1] },
            MailboxChange::MarkReadUpTo { mailbox, up_to: IDS[2] },
            MailboxChange::MarkReadUpTo { mailbox, up_to: IDS[0] },
            MailboxChange::HideBroadcast { mailbox, broadcast_id: 9 },
        ],
        inserts(other, &IDS[4..5]),
        inserts(mailbox, &IDS[3..4]),
    ]
    .concat();
    apply(store, changes).await;

    assert_eq!(read(store, mailbox, None, None, Order::Ascending, 100).await, [IDS[0], IDS[2], IDS[3]]);
    assert_eq!(
        state(store, mailbox).await,
        MailboxState {
            head: Some(IDS[3]),
            read_up_to: IDS[2],
            hidden_broadcasts: BTreeSet::from([9]),
            attributes: Attributes::new()
        }
    );
    assert_eq!(read_all(store, other).await, vec![message(other, IDS[4])]);
    assert_eq!(state(store, other).await.head, Some(IDS[4]));
}

/// Nothing leaks between mailboxes: not to another uid of the app, not to the same uid
/// of another app.
pub async fn mailboxes_are_isolated(store: Arc<dyn Store>) {
    let store = store.as_ref();
    let mailbox = fresh_mailbox();
    let same_app = Mailbox::new(mailbox.app_id, unique_id());
    let same_uid = Mailbox::new(unique_id(), mailbox.uid);
    apply(
        store,
        [
            inserts(mailbox, &IDS[..3]),
            inserts(same_app, &IDS[1..2]),
            vec![
                MailboxChange::MarkReadUpTo { mailbox: same_uid, up_to: IDS[5] },
                MailboxChange::HideBroadcast { mailbox: same_app, broadcast_id: 3 },
            ],
        ]
        .concat(),
    )
    .await;

    assert_eq!(read(store, mailbox, None, None, Order::Ascending, 100).await, IDS[..3]);
    assert_eq!(state(store, mailbox).await, MailboxState { head: Some(IDS[2]), ..MailboxState::default() });
    assert_eq!(read_all(store, same_app).await, vec![message(same_app, IDS[1])]);
    assert_eq!(
        state(store, same_app).await,
        MailboxState { head: Some(IDS[1]), hidden_broadcasts: BTreeSet::from([3]), ..MailboxState::default() }
    );
    assert!(read_all(store, same_uid).await.is_empty());
    assert_eq!(state(store, same_uid).await, MailboxState { read_up_to: IDS[5], ..MailboxState::default() });
    let leaked = store.find_delivery(same_uid, &message(mailbox, IDS[0]).dedupe_key).await.expect("find_delivery");
    assert_eq!(leaked, None);
}
