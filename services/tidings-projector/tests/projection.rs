//! The projector against the embedded engines: idempotent, replayable, dead-lettering;
//! reach sketches merged without inflating.

use std::sync::Arc;
use std::time::Duration;

use tidings_domain::audit::{Actor, AuditAction, AuditSubject};
use tidings_domain::broadcast::{BroadcastContent, BroadcastState, LifecycleAction};
use tidings_domain::client::Platform;
use tidings_domain::event::{BroadcastChange, BroadcastEvent, Delivery, MailboxEvent, broadcast_log_key};
use tidings_domain::message::{Mailbox, MessageBody};
use tidings_embedded::EmbeddedEngines;
use tidings_events::EventCodec;
use tidings_ports::{EventLog, LogRecord, MsgRange, Order, OutgoingRecord, Store, Topics};
use tidings_projector::{Projector, ProjectorSettings};
use tidings_reach::{ReachCell, ReachEvent, ReachKey, ReachKind, ReachPlatform, ReachSketch, ReachStats};

struct Engines {
    _dir: tempfile::TempDir,
    log: Arc<dyn EventLog>,
    store: Arc<dyn Store>,
}

fn engines() -> Engines {
    let dir = tempfile::tempdir().unwrap();
    let engines = EmbeddedEngines::open(dir.path(), 4).unwrap();
    Engines { _dir: dir, log: engines.log, store: engines.store }
}

fn projector(log: &Arc<dyn EventLog>, store: &Arc<dyn Store>) -> Projector {
    Projector::new(log.clone(), store.clone(), EventCodec::new(), Topics::default(), ProjectorSettings::default())
}

fn delivery(uid: i64, key: &str, create_time_us: i64) -> OutgoingRecord {
    let mailbox = Mailbox::new(1, uid);
    let event = MailboxEvent::Delivered(Delivery {
        mailbox,
        dedupe_key: key.into(),
        create_time_us,
        body: MessageBody { content: key.into(), to_uid: uid, ..Default::default() },
        send: None,
    });
    OutgoingRecord {
        topic: Topics::default().mailbox,
        key: mailbox.log_key().into_bytes(),
        payload: EventCodec::new().encode_mailbox(&event),
    }
}

async fn read_all(log: &Arc<dyn EventLog>, group: &str, topic: &str) -> Vec<LogRecord> {
    let mut subscription = log.subscribe(group, &[topic.to_owned()]).await.unwrap();
    let mut records = Vec::new();
    loop {
        let batch = subscription.poll(1000, Duration::from_millis(100)).await.unwrap();
        if batch.is_empty() {
            return records;
        }
        records.extend(batch);
    }
}

async fn ids(store: &Arc<dyn Store>, uid: i64) -> Vec<(i64, String)> {
    store
        .read_mailbox(Mailbox::new(1, uid), MsgRange::default(), Order::Ascending, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.msg_id, m.dedupe_key))
        .collect()
}

/// Clocks that go backwards and collide, as several ingest nodes' would.
fn skewed_deliveries() -> Vec<OutgoingRecord> {
    let times = [1_000, 1_000, 900, 2_000, 1_500, 1_500, 3_000];
    (0..3).flat_map(|uid| times.iter().enumerate().map(move |(n, t)| delivery(uid + 1, &format!("d{n}"), *t))).collect()
}

#[tokio::test]
async fn ids_strictly_increase_and_a_replay_into_a_fresh_store_reproduces_them() {
    let first = engines();
    first.log.append(skewed_deliveries()).await.unwrap();
    let records = read_all(&first.log, "reader", &Topics::default().mailbox).await;
    projector(&first.log, &first.store).project(&records).await.unwrap();

    let rebuilt = engines();
    let replayer = projector(&first.log, &rebuilt.store);
    for chunk in records.chunks(3) {
        replayer.project(chunk).await.unwrap();
    }
    for uid in 1..=3 {
        let original = ids(&first.store, uid).await;
        assert_eq!(original.len(), 7);
        assert!(original.windows(2).all(|w| w[0].0 < w[1].0), "ids must strictly increase: {original:?}");
        assert_eq!(original, ids(&rebuilt.store, uid).await, "a replay must reproduce the same ids");
    }
}

#[tokio::test]
async fn a_redelivered_batch_changes_nothing() {
    let engines = engines();
    engines.log.append(skewed_deliveries()).await.unwrap();
    let records = read_all(&engines.log, "reader", &Topics::default().mailbox).await;
    let projector = projector(&engines.log, &engines.store);
    let first = projector.project(&records).await.unwrap();
    let before = ids(&engines.store, 1).await;
    let again = projector.project(&records).await.unwrap();
    assert_eq!((first.projected, first.duplicates), (records.len(), 0));
    assert_eq!((again.projected, again.duplicates), (0, records.len()));
    assert_eq!(before, ids(&engines.store, 1).await);
}

#[tokio::test]
async fn undecodable_and_invalid_records_go_to_the_dead_letter_topic_and_the_rest_projects() {
    let engines = engines();
    let topics = Topics::default();
    let garbage =
        OutgoingRecord { topic: topics.mailbox.clone(), key: b"m:1:1".to_vec(), payload: b"not avro".to_vec() };
    let invalid = delivery(-5, "bad", 1_000);
    engines.log.append(vec![garbage, invalid, delivery(1, "good", 1_000)]).await.unwrap();
    let records = read_all(&engines.log, "reader", &topics.mailbox).await;
    let outcome = projector(&engines.log, &engines.store).project_and_publish(&records).await.unwrap();
    assert_eq!((outcome.projected, outcome.dead_letters.len()), (1, 2));
    assert_eq!(ids(&engines.store, 1).await.len(), 1);
    let letters = read_all(&engines.log, "reader", &topics.dead_letter).await;
    let codec = EventCodec::new();
    let reasons: Vec<String> = letters.iter().map(|r| codec.decode_dead_letter(&r.payload).unwrap().reason).collect();
    assert_eq!(reasons.len(), 2);
    assert!(reasons.iter().any(|r| r.contains("non-positive")), "{reasons:?}");
    let notified = read_all(&engines.log, "reader", &topics.notify).await;
    assert_eq!(notified.len(), 1, "one notify for the one mailbox that got a message");
}

#[tokio::test]
async fn a_record_under_another_key_or_with_a_create_time_past_2_53_is_dead_lettered() {
    let engines = engines();
    let topics = Topics::default();
    let mut miskeyed = delivery(2, "elsewhere", 1_000);
    miskeyed.key = b"m:1:3".to_vec();
    let far_future = delivery(2, "far", 1 << 53);
    engines.log.append(vec![miskeyed, far_future, delivery(2, "good", 1_000)]).await.unwrap();
    let records = read_all(&engines.log, "reader", &topics.mailbox).await;
    let outcome = projector(&engines.log, &engines.store).project(&records).await.unwrap();
    let reasons: Vec<&str> = outcome.dead_letters.iter().map(|letter| letter.reason.as_str()).collect();
    assert_eq!(outcome.projected, 1, "{reasons:?}");
    let refused = |why: &str| reasons.iter().any(|reason| reason.contains(why));
    assert!(refused(r#"record key "m:1:3" is not its event's key "m:1:2""#), "{reasons:?}");
    assert!(refused("at or past 2^53"), "{reasons:?}");
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!(ids(&engines.store, 2).await.len(), 1);
}

#[tokio::test]
async fn broadcast_events_fold_once_and_illegal_ones_are_skipped() {
    let engines = engines();
    let codec = EventCodec::new();
    let content = BroadcastContent { content: "b".into(), expire_at_s: i64::MAX / 2, ..Default::default() };
    let event = |at_us, change| {
        let actor = Some(Actor::Operator(format!("op-{at_us}")));
        let payload = codec.encode_broadcast(&BroadcastEvent { app_id: 1, at_us, change, actor });
        OutgoingRecord { topic: Topics::default().broadcast, key: broadcast_log_key(1).into_bytes(), payload }
    };
    engines
        .log
        .append(vec![
            event(10, BroadcastChange::Created { broadcast_id: 5, content }),
            event(20, BroadcastChange::Lifecycle { broadcast_id: 5, revision: 2, action: LifecycleAction::Stop }),
            event(30, BroadcastChange::Lifecycle { broadcast_id: 5, revision: 2, action: LifecycleAction::Publish }),
        ])
        .await
        .unwrap();
    let records = read_all(&engines.log, "reader", &Topics::default().broadcast).await;
    let projector = projector(&engines.log, &engines.store);
    let outcome = projector.project(&records).await.unwrap();
    assert_eq!((outcome.projected, outcome.rejected), (2, 1));
    let again = projector.project(&records).await.unwrap();
    assert_eq!((again.projected, again.rejected), (0, 3), "a replay changes nothing");
    let stored = engines.store.broadcast(1, 5).await.unwrap().unwrap();
    assert_eq!((stored.state, stored.msg_id, stored.published_seq), (BroadcastState::Published, Some(30), Some(1)));
    assert_eq!(engines.store.public_state(1).await.unwrap().last_seq, 1);

    // The accepted events' entries, once each: the refused stop and the replay add none.
    let audit = engines.store.audit(1, None, 10).await.unwrap();
    let trail: Vec<_> =
        audit.iter().map(|entry| (entry.revision, entry.action, entry.actor.clone(), entry.at_us)).collect();
    assert_eq!(
        trail,
        [
            (2, AuditAction::Lifecycle(LifecycleAction::Publish), Some(Actor::Operator("op-30".into())), 30),
            (1, AuditAction::Created, Some(Actor::Operator("op-10".into())), 10),
        ]
    );
    assert!(audit.iter().all(|entry| entry.subject == AuditSubject::Broadcast(5)));
}

fn reach_record(broadcast_id: i64, uids: std::ops::Range<i64>, platform: Option<Platform>) -> OutgoingRecord {
    let mut sketch = ReachSketch::new();
    uids.for_each(|uid| sketch.insert_uid(uid));
    let cell = ReachCell {
        kind: ReachKind::Delivered,
        platform: ReachPlatform(platform),
        hour: 470_000,
        sketch: sketch.to_bytes(),
    };
    let event = ReachEvent { app_id: 1, broadcast_id, cells: vec![cell] };
    OutgoingRecord {
        topic: Topics::default().reach,
        key: ReachKey::log_key(1, broadcast_id).into_bytes(),
        payload: EventCodec::new().encode_reach(&event),
    }
}

async fn delivered(store: &Arc<dyn Store>, broadcast_id: i64) -> (u64, Vec<(String, u64)>) {
    let sketches = store.reach(1, broadcast_id).await.unwrap();
    let stats = ReachStats::from_sketches(sketches.iter().map(|(key, sketch)| (key, sketch)));
    let by_platform = stats.delivered.by_platform.iter().map(|(p, n)| (p.to_string(), *n)).collect();
    (stats.delivered.total, by_platform)
}

#[tokio::test]
async fn reach_events_of_several_workers_merge_and_a_redelivery_or_replay_inflates_nothing() {
    let engines = engines();
    // Two pull workers saw overlapping users; a third event is for another broadcast.
    let mut miskeyed = reach_record(5, 0..10, None);
    miskeyed.key = b"r:1:6".to_vec();
    let mut bad_sketch = reach_record(5, 0..10, None);
    bad_sketch.payload = EventCodec::new().encode_reach(&ReachEvent {
        app_id: 1,
        broadcast_id: 5,
        cells: vec![ReachCell { kind: ReachKind::Read, platform: ReachPlatform(None), hour: 1, sketch: vec![1, 2, 3] }],
    });
    engines
        .log
        .append(vec![
            reach_record(5, 0..300, Some(Platform::Ios)),
            reach_record(5, 200..700, Some(Platform::Ios)),
            reach_record(5, 0..50, Some(Platform::Web)),
            reach_record(6, 0..9, None),
            miskeyed,
            bad_sketch,
        ])
        .await
        .unwrap();
    let records = read_all(&engines.log, "reader", &Topics::default().reach).await;
    let projector = projector(&engines.log, &engines.store);
    let outcome = projector.project(&records).await.unwrap();
    assert_eq!((outcome.projected, outcome.dead_letters.len()), (4, 2), "{:?}", outcome.dead_letters);
    let expected = (700, vec![("ios".to_owned(), 700), ("web".to_owned(), 50)]);
    assert_eq!(delivered(&engines.store, 5).await, expected);
    assert_eq!(delivered(&engines.store, 6).await.0, 9);

    projector.project(&records).await.unwrap();
    assert_eq!(delivered(&engines.store, 5).await, expected, "a redelivered batch changes nothing");

    let rebuilt = self::engines();
    let replayer = self::projector(&engines.log, &rebuilt.store);
    for chunk in records.rchunks(2) {
        replayer.project(chunk).await.unwrap();
    }
    assert_eq!(delivered(&rebuilt.store, 5).await, expected, "a replay, in another order, gives the same counts");
    assert_eq!(rebuilt.store.reach(1, 5).await.unwrap(), engines.store.reach(1, 5).await.unwrap());
}
