//! The counting decorators count what they pass on to a real (embedded) engine, and only
//! what the engine took.

use tempfile::TempDir;
use tidings_domain::message::{Mailbox, MessageBody, StoredMessage};
use tidings_embedded::EmbeddedEngines;
use tidings_ports::{EventLog, MailboxChange, MsgRange, Order, OutgoingRecord, Store};
use tidings_testkit::{AppendCounts, CountingLog, CountingStore};

fn engines() -> (EmbeddedEngines, TempDir) {
    let dir = TempDir::new().expect("temporary directory");
    (EmbeddedEngines::open(dir.path(), 2).expect("open embedded engines"), dir)
}

fn record(topic: &str, key: &str, payload: &str) -> OutgoingRecord {
    OutgoingRecord { topic: topic.into(), key: key.into(), payload: payload.into() }
}

#[tokio::test]
async fn the_log_counts_appended_records_and_their_bytes() {
    let (engines, _dir) = engines();
    let log = CountingLog::new(engines.log);
    log.append(vec![record("t", "ab", "12345"), record("t", "c", "")]).await.expect("append");
    let first = log.appended();
    assert_eq!(first, AppendCounts { events: 2, bytes: 8 });

    log.append(vec![record("t", "key", "payload")]).await.expect("append");
    assert_eq!(log.appended() - first, AppendCounts { events: 1, bytes: 10 });

    let rejected = log.append(vec![record("", "key", "an empty topic name is refused")]).await;
    assert!(rejected.is_err());
    assert_eq!(log.appended(), AppendCounts { events: 3, bytes: 18 }, "a failed append counts nothing");
}

#[tokio::test]
async fn the_store_counts_inserts_mailbox_reads_and_public_reads() {
    let (engines, _dir) = engines();
    let store = CountingStore::new(engines.store);
    let mailbox = Mailbox::new(1, 7);
    let insert = MailboxChange::Insert(StoredMessage {
        mailbox,
        msg_id: 10,
        create_time_us: 10,
        dedupe_key: "delivery-10".into(),
        body: MessageBody::default(),
        recalls: None,
    });
    store.apply_mailbox_changes(&[insert.clone(), MailboxChange::MarkReadUpTo { mailbox, up_to: 10 }]).await.unwrap();
    store.apply_mailbox_changes(&[insert]).await.unwrap();
    assert_eq!(store.inserted(), 2, "a repeated insert counts again");

    let read = store.read_mailbox(mailbox, MsgRange::default(), Order::Ascending, 10).await.unwrap();
    assert_eq!(read.len(), 1);
    store.load_public_mailboxes().await.unwrap();
    store.mailbox_state(mailbox).await.unwrap();
    assert_eq!((store.mailbox_reads(), store.public_reads()), (1, 1));
}
