//! Checks of the [`ReplayStore`](crate::inventory::ReplayStore) contract: checkpoints, and
//! the listing of mailboxes, apps and deliveries.

use std::collections::BTreeSet;
use std::sync::Arc;

use tidings_domain::message::{Mailbox, MessageBody, StoredMessage};
use tidings_domain::public::PublicState;

use crate::conformance::{unique_id, unique_name};
use crate::inventory::ReplayStore;
use crate::log::RecordPosition;
use crate::store::MailboxChange;

fn insert(mailbox: Mailbox, msg_id: i64, dedupe_key: &str) -> MailboxChange {
    MailboxChange::Insert(StoredMessage {
        mailbox,
        msg_id,
        create_time_us: msg_id,
        dedupe_key: dedupe_key.to_owned(),
        body: MessageBody { to_uid: mailbox.uid, content: format!("message {msg_id}"), ..MessageBody::default() },
        recalls: None,
    })
}

pub async fn replay_checkpoints_are_saved_and_replaced(store: Arc<dyn ReplayStore>) {
    let topic = unique_name("checkpoints");
    let at = |partition, offset| RecordPosition { topic: topic.clone(), partition, offset };
    store.save_replay_checkpoints(&[at(0, 10), at(1, 3)]).await.expect("save");
    store.save_replay_checkpoints(&[at(1, 7)]).await.expect("save");
    let mut saved: Vec<_> =
        store.replay_checkpoints().await.expect("checkpoints").into_iter().filter(|p| p.topic == topic).collect();
    saved.sort();
    assert_eq!(saved, [at(0, 10), at(1, 7)]);
}

pub async fn mailboxes_page_through_every_mailbox_once(store: Arc<dyn ReplayStore>) {
    let app_id = unique_id();
    let written: BTreeSet<Mailbox> = (0..5).map(|n| Mailbox::new(app_id, 100 + n)).collect();
    let mut changes: Vec<MailboxChange> = written.iter().map(|mailbox| insert(*mailbox, 1, "first")).collect();
    let read_only = Mailbox::new(app_id, 99);
    changes.push(MailboxChange::MarkReadUpTo { mailbox: read_only, up_to: 4 });
    store.apply_mailbox_changes(&changes).await.expect("apply");

    let mut listed = Vec::new();
    let mut from = None;
    loop {
        let page = store.mailboxes(from, 2).await.expect("mailboxes");
        listed.extend(page.mailboxes.into_iter().filter(|mailbox| mailbox.app_id == app_id));
        match page.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    let mut expected: Vec<Mailbox> = written.into_iter().chain([read_only]).collect();
    expected.sort();
    listed.sort();
    assert_eq!(listed, expected, "each touched mailbox once");
}

pub async fn deliveries_and_apps_are_listed(store: Arc<dyn ReplayStore>) {
    let mailbox = Mailbox::new(unique_id(), unique_id());
    let changes = [insert(mailbox, 5, "k-b"), insert(mailbox, 6, "k-a"), MailboxChange::Delete { mailbox, msg_id: 5 }];
    store.apply_mailbox_changes(&changes).await.expect("apply");
    let deliveries = store.deliveries(mailbox).await.expect("deliveries");
    assert_eq!(deliveries, [("k-a".to_owned(), 6), ("k-b".to_owned(), 5)], "deleted ones kept, sorted by key");

    let app_id = unique_id();
    store
        .apply_public_change(app_id, None, &PublicState { last_seq: 3, ..PublicState::default() })
        .await
        .expect("apply");
    assert!(store.apps().await.expect("apps").contains(&app_id));
}
