//! The embedded store reports the disk space of its own data, and writes make it grow.

use tempfile::TempDir;
use tidings_domain::message::{Mailbox, MessageBody, StoredMessage};
use tidings_embedded::EmbeddedEngines;
use tidings_ports::{EventLog, MailboxChange, OutgoingRecord, Store};

fn insert(uid: i64) -> MailboxChange {
    let mailbox = Mailbox::new(1, uid);
    MailboxChange::Insert(StoredMessage {
        mailbox,
        msg_id: 1_000 + uid,
        create_time_us: 1_000 + uid,
        dedupe_key: format!("delivery-{uid}"),
        body: MessageBody { from_uid: 1, to_uid: uid, content: format!("{uid:0>200}"), ..MessageBody::default() },
        recalls: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_bytes_counts_the_stores_writes_and_not_the_logs() {
    let dir = TempDir::new().expect("temporary directory");
    let engines = EmbeddedEngines::open(dir.path(), 1).expect("open");
    let empty = engines.store.storage_bytes().await.expect("size").expect("the embedded store knows its size");

    let payload = vec![b'x'; 64 * 1024];
    let records = (0..16).map(|n| OutgoingRecord { topic: "t".into(), key: vec![n], payload: payload.clone() });
    engines.log.append(records.collect()).await.expect("append");
    let after_log = engines.store.storage_bytes().await.expect("size").expect("known");
    assert_eq!(after_log, empty, "log records are not the store's data");

    let changes: Vec<MailboxChange> = (1..=1_000).map(insert).collect();
    engines.store.apply_mailbox_changes(&changes).await.expect("insert");
    let after_inserts = engines.store.storage_bytes().await.expect("size").expect("known");
    // 1000 rows of more than 200 bytes of content each, flushed to tables.
    assert!(after_inserts > empty + 200_000, "from {empty} to {after_inserts} bytes");
}
