//! What the embedded engines acknowledged is still there after they are closed and the data
//! directory is opened again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tempfile::TempDir;
use tidings_domain::broadcast::{Broadcast, BroadcastContent, LifecycleAction};
use tidings_domain::message::{Mailbox, MessageBody, StoredMessage};
use tidings_domain::public::{PublicState, Whitelist};
use tidings_embedded::{EmbeddedEngines, OpenError};
use tidings_ports::{
    EventLog, LogRecord, MailboxChange, MailboxState, MsgRange, Order, OutgoingRecord, Store, Subscription,
};

const TOPIC: &str = "durable";
const GROUP: &str = "projector";

fn record(key: &str, payload: &str) -> OutgoingRecord {
    OutgoingRecord { topic: TOPIC.to_owned(), key: key.as_bytes().to_vec(), payload: payload.as_bytes().to_vec() }
}

async fn poll_exactly(subscription: &mut dyn Subscription, count: usize) -> Vec<LogRecord> {
    let mut received = Vec::new();
    while received.len() < count {
        let batch = subscription.poll(count - received.len(), Duration::from_secs(5)).await.expect("poll");
        assert!(!batch.is_empty(), "got {} of {count}: {received:?}", received.len());
        received.extend(batch);
    }
    let extra = subscription.poll(100, Duration::from_millis(200)).await.expect("poll");
    assert!(extra.is_empty(), "more than {count} records: {extra:?}");
    received
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Per key, its payloads in the order received.
fn by_key(records: &[LogRecord]) -> BTreeMap<String, Vec<String>> {
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in records {
        keys.entry(text(&record.key)).or_default().push(text(&record.payload));
    }
    keys
}

fn message(mailbox: Mailbox, msg_id: i64) -> StoredMessage {
    StoredMessage {
        mailbox,
        msg_id,
        create_time_us: msg_id,
        dedupe_key: format!("delivery-{msg_id}"),
        body: MessageBody {
            from_uid: 1,
            to_uid: mailbox.uid,
            content: format!("message {msg_id}"),
            ..MessageBody::default()
        },
        recalls: None,
    }
}

fn published_broadcast(app_id: i64) -> Broadcast {
    let content =
        BroadcastContent { content: "to everyone".into(), expire_at_s: 4_000_000_000, ..BroadcastContent::default() };
    Broadcast::draft(app_id, 7, content, 1_000)
        .transitioned(LifecycleAction::Publish, 2_000, 1)
        .expect("publish a draft")
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_a_reopen() {
    let dir = TempDir::new().expect("temporary directory");
    let mailbox = Mailbox::new(1, 42);
    let broadcast = published_broadcast(1);
    let public_state =
        PublicState { last_seq: 1, whitelist: Whitelist { members: [(42, 1)].into() }, ..PublicState::default() };

    let (appended, expected_after_commit) = {
        let engines = EmbeddedEngines::open(dir.path(), 3).expect("open");
        // Concurrent appenders, so the writer groups several appends into one sync.
        let appenders: Vec<_> = (0..8)
            .map(|k| {
                let log = Arc::clone(&engines.log);
                tokio::spawn(async move {
                    for i in 0..10 {
                        let key = format!("k{k}");
                        log.append(vec![record(&key, &format!("{key}/{i}"))]).await.expect("append");
                    }
                })
            })
            .collect();
        for appender in appenders {
            appender.await.expect("appender");
        }

        let mut subscription = engines.log.subscribe(GROUP, &[TOPIC.to_owned()]).await.expect("subscribe");
        let appended = poll_exactly(subscription.as_mut(), 80).await;
        let (committed, uncommitted) = appended.split_at(40);
        let positions: Vec<_> = committed.iter().map(|r| r.position.clone()).collect();
        subscription.commit(&positions).await.expect("commit");
        let mut highest_committed: BTreeMap<i32, i64> = BTreeMap::new();
        for position in &positions {
            let highest = highest_committed.entry(position.partition).or_insert(-1);
            *highest = (*highest).max(position.offset);
        }
        let expected_after_commit: BTreeSet<_> = uncommitted
            .iter()
            .filter(|r| r.position.offset > highest_committed.get(&r.position.partition).copied().unwrap_or(-1))
            .map(|r| (r.position.clone(), text(&r.payload)))
            .collect();

        let store = &engines.store;
        let inserts = (1..=4).map(|id| MailboxChange::Insert(message(mailbox, id * 100))).collect::<Vec<_>>();
        store.apply_mailbox_changes(&inserts).await.expect("insert");
        store
            .apply_mailbox_changes(&[
                MailboxChange::Delete { mailbox, msg_id: 400 },
                MailboxChange::MarkReadUpTo { mailbox, up_to: 200 },
                MailboxChange::HideBroadcast { mailbox, broadcast_id: 7 },
            ])
            .await
            .expect("change");
        store.apply_public_change(1, Some(&broadcast), &public_state).await.expect("public change");
        (appended, expected_after_commit)
        // Everything is dropped here: the subscription, both engines, the database.
    };

    let engines = EmbeddedEngines::open(dir.path(), 3).expect("reopen");
    let log = &engines.log;

    // The group resumes after what it committed.
    let mut resumed = log.subscribe(GROUP, &[TOPIC.to_owned()]).await.expect("subscribe");
    assert_eq!(resumed.lag().await.expect("lag"), expected_after_commit.len() as u64);
    let resumed_records = poll_exactly(resumed.as_mut(), expected_after_commit.len()).await;
    let resumed_set: BTreeSet<_> = resumed_records.iter().map(|r| (r.position.clone(), text(&r.payload))).collect();
    assert_eq!(resumed_set, expected_after_commit);

    // Every record is there, at the same position, in order per key.
    let mut fresh = log.subscribe("another-group", &[TOPIC.to_owned()]).await.expect("subscribe");
    let everything = poll_exactly(fresh.as_mut(), 80).await;
    let positions =
        |records: &[LogRecord]| records.iter().map(|r| (r.position.clone(), text(&r.payload))).collect::<BTreeSet<_>>();
    assert_eq!(positions(&everything), positions(&appended));
    for (key, payloads) in by_key(&everything) {
        let expected: Vec<String> = (0..10).map(|i| format!("{key}/{i}")).collect();
        assert_eq!(payloads, expected);
    }

    // Appends go on after the recovered ends, overwriting nothing.
    log.append(vec![record("k0", "k0/10")]).await.expect("append");
    let next = poll_exactly(fresh.as_mut(), 1).await;
    let before = everything
        .iter()
        .filter(|r| r.position.partition == next[0].position.partition)
        .map(|r| r.position.offset)
        .max();
    assert_eq!(Some(next[0].position.offset - 1), before);

    // The store.
    let store = &engines.store;
    let messages = store.read_mailbox(mailbox, MsgRange::default(), Order::Ascending, 10).await.expect("read");
    assert_eq!(messages, [100, 200, 300].map(|id| message(mailbox, id)).to_vec());
    assert_eq!(
        store.mailbox_state(mailbox).await.expect("state"),
        MailboxState {
            head: Some(400),
            read_up_to: 200,
            hidden_broadcasts: BTreeSet::from([7]),
            ..MailboxState::default()
        }
    );
    assert_eq!(store.find_delivery(mailbox, "delivery-400").await.expect("find"), Some(400));
    assert_eq!(store.broadcast(1, 7).await.expect("broadcast"), Some(broadcast.clone()));
    assert_eq!(store.public_state(1).await.expect("state"), public_state);
    let public = store.load_public_mailboxes().await.expect("load");
    assert_eq!(public.len(), 1);
    assert_eq!(public[0].broadcasts(), [broadcast]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_keeps_its_partition_count_when_reopened_with_another() {
    let dir = TempDir::new().expect("temporary directory");
    let keys: Vec<String> = (0..16).map(|k| format!("key-{k}")).collect();
    {
        let engines = EmbeddedEngines::open(dir.path(), 2).expect("open");
        let records = keys.iter().map(|key| record(key, "before")).collect();
        engines.log.append(records).await.expect("append");
    }
    let engines = EmbeddedEngines::open(dir.path(), 5).expect("reopen");
    let records = keys.iter().map(|key| record(key, "after")).collect();
    engines.log.append(records).await.expect("append");

    let mut subscription = engines.log.subscribe("readers", &[TOPIC.to_owned()]).await.expect("subscribe");
    let received = poll_exactly(subscription.as_mut(), 32).await;
    assert!(received.iter().all(|r| r.position.partition < 2));
    for (key, payloads) in by_key(&received) {
        assert_eq!(payloads, ["before", "after"], "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_directory_is_opened_once_at_a_time() {
    let dir = TempDir::new().expect("temporary directory");
    let engines = EmbeddedEngines::open(dir.path(), 2).expect("open");
    let refused = EmbeddedEngines::open(dir.path(), 2).expect_err("opened twice");
    assert!(matches!(refused, OpenError::Database { .. }) && refused.is_locked(), "{refused}");
    drop(engines);
    EmbeddedEngines::open(dir.path(), 2).expect("open once closed");
}
