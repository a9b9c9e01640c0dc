//! Syncs against a real (embedded) store: what they return, and which store reads they make.

use std::sync::Arc;

use tempfile::TempDir;
use tidings_domain::MsgId;
use tidings_domain::client::{ClientVersion, Viewer};
use tidings_domain::message::{Mailbox, MessageBody, StoredMessage};
use tidings_domain::sync::SyncCursor;
use tidings_embedded::EmbeddedStore;
use tidings_ports::{MailboxChange, Store};
use tidings_puller::{CacheMode, PublicMailboxCache, Puller};
use tidings_testkit::CountingStore;

fn insert(mailbox: Mailbox, msg_id: MsgId) -> MailboxChange {
    MailboxChange::Insert(StoredMessage {
        mailbox,
        msg_id,
        create_time_us: msg_id,
        dedupe_key: format!("delivery-{msg_id}"),
        body: MessageBody { to_uid: mailbox.uid, content: format!("message {msg_id}"), ..MessageBody::default() },
        recalls: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_past_the_mailbox_head_reads_no_messages_and_misses_none() {
    let dir = TempDir::new().expect("temporary directory");
    let store = CountingStore::new(EmbeddedStore::open(dir.path()).expect("open"));
    let public = Arc::new(PublicMailboxCache::new(store.clone(), CacheMode::Cached));
    let puller = Puller::new(store.clone(), public);
    let mailbox = Mailbox::new(1, 7);
    let viewer = Viewer { uid: 7, guest: false, version: ClientVersion::default() };
    let reads = || store.mailbox_reads();
    let ids = |page: &tidings_domain::sync::SyncPage| page.messages.iter().map(|m| m.msg_id).collect::<Vec<_>>();

    let empty = puller.sync(mailbox, &viewer, SyncCursor::default(), 10).await.expect("sync");
    assert!(empty.messages.is_empty() && !empty.has_more);
    assert_eq!(reads(), 0, "a mailbox never written has nothing to read");

    store.apply_mailbox_changes(&[insert(mailbox, 10), insert(mailbox, 20)]).await.expect("insert");
    let first = puller.sync(mailbox, &viewer, SyncCursor::default(), 10).await.expect("sync");
    assert_eq!((ids(&first), first.cursor.private_after, reads()), (vec![10, 20], 20, 1));

    let again = puller.sync(mailbox, &viewer, first.cursor, 10).await.expect("sync");
    assert!(again.messages.is_empty() && !again.has_more);
    assert_eq!((again.cursor, reads()), (first.cursor, 1), "up to date: no mailbox read");

    store.apply_mailbox_changes(&[insert(mailbox, 30)]).await.expect("insert");
    let next = puller.sync(mailbox, &viewer, again.cursor, 10).await.expect("sync");
    assert_eq!((ids(&next), reads()), (vec![30], 2));

    store.apply_mailbox_changes(&[MailboxChange::Delete { mailbox, msg_id: 30 }]).await.expect("delete");
    let older = puller.sync(mailbox, &viewer, first.cursor, 10).await.expect("sync");
    assert!(older.messages.is_empty() && !older.has_more, "a deleted message stays gone");
}
