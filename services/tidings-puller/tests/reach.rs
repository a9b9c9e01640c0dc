//! Reach counting on the pull path against the embedded engines: syncs count deliveries,
//! read marks count reads, repeats count nothing more, and the flush puts it on the log.

use std::sync::Arc;
use std::time::Duration;

use tempfile::TempDir;
use tidings_domain::broadcast::{Broadcast, BroadcastContent, LifecycleAction};
use tidings_domain::client::{ClientVersion, Platform, Viewer};
use tidings_domain::message::Mailbox;
use tidings_domain::public::PublicState;
use tidings_domain::sync::SyncCursor;
use tidings_embedded::EmbeddedEngines;
use tidings_events::EventCodec;
use tidings_ports::{EventLog, Store, Topics};
use tidings_puller::{CacheMode, PublicMailboxCache, Puller, run_reach_flush};
use tidings_reach::{ReachCounter, ReachSketch, ReachStats};
use tokio_util::sync::CancellationToken;

const APP: i64 = 3;

fn viewer(uid: i64, platform: Option<Platform>) -> Viewer {
    Viewer { uid, guest: false, version: ClientVersion { platform, ..ClientVersion::default() } }
}

/// The counter's sketches folded as the projector would, read as stats.
fn stats_of(counter: &ReachCounter, broadcast_id: i64) -> ReachStats {
    let mut cells = Vec::new();
    for event in counter.drain().into_iter().filter(|event| event.broadcast_id == broadcast_id) {
        for cell in &event.cells {
            cells.push((event.key_of(cell), ReachSketch::from_bytes(&cell.sketch).expect("sketch")));
        }
    }
    ReachStats::from_sketches(cells.iter().map(|(key, sketch)| (key, sketch)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_count_deliveries_and_read_marks_count_reads_once_per_user() {
    let dir = TempDir::new().expect("temporary directory");
    let engines = EmbeddedEngines::open(dir.path(), 2).expect("open");
    let store: Arc<dyn Store> = engines.store.clone();
    let content = BroadcastContent { content: "hello".into(), expire_at_s: 4_000_000_000, ..Default::default() };
    let draft = Broadcast::draft(APP, 9, content, 1_700_000_000_000_000);
    let (published, _) = draft.transitioned(LifecycleAction::Publish, 1_700_000_000_000_100, 1).expect("publish");
    let msg_id = published.msg_id.expect("published");
    store.apply_public_change(APP, Some(&published), &PublicState { last_seq: 1, ..Default::default() }).await.unwrap();

    let cache = Arc::new(PublicMailboxCache::new(store.clone(), CacheMode::Cached));
    cache.refresh().await.expect("load the public mailbox");
    let counter = Arc::new(ReachCounter::new());
    let puller = Puller::new(store.clone(), cache).with_reach(counter.clone());
    let viewers = [viewer(1, Some(Platform::Ios)), viewer(2, Some(Platform::Ios)), viewer(3, None)];
    for _ in 0..2 {
        for viewer in &viewers {
            let page = puller.sync(Mailbox::new(APP, viewer.uid), viewer, SyncCursor::default(), 10).await.unwrap();
            assert_eq!(page.messages.len(), 1, "the broadcast");
        }
    }
    // Two of them read up to the broadcast; one of those twice, one reads below it.
    for (viewer, up_to) in
        [(&viewers[0], msg_id), (&viewers[0], msg_id + 5), (&viewers[2], msg_id), (&viewers[1], msg_id - 1)]
    {
        let mailbox = Mailbox::new(APP, viewer.uid);
        let before = puller.read_mark_before(mailbox).await.unwrap();
        assert_eq!(before, Some(0), "nothing projected the marks here");
        puller.count_read(mailbox, viewer, before, up_to).await.unwrap();
    }
    let stats = stats_of(&counter, 9);
    assert_eq!(stats.delivered.total, 3, "each user once, though each synced twice");
    let platforms: Vec<(String, u64)> = stats.delivered.by_platform.iter().map(|(p, n)| (p.to_string(), *n)).collect();
    assert_eq!(platforms, [("unknown".to_owned(), 1), ("ios".to_owned(), 2)]);
    assert_eq!(stats.read.total, 2);
    assert!(counter.is_empty(), "drained");

    let without = Puller::new(store.clone(), Arc::new(PublicMailboxCache::new(store.clone(), CacheMode::Cached)));
    assert_eq!(without.read_mark_before(Mailbox::new(APP, 1)).await.unwrap(), None, "no counting, no store read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flush_appends_one_event_per_broadcast_and_flushes_at_shutdown() {
    let dir = TempDir::new().expect("temporary directory");
    let engines = EmbeddedEngines::open(dir.path(), 2).expect("open");
    let log: Arc<dyn EventLog> = engines.log.clone();
    let topics = Topics::with_prefix("reach-test");
    let counter = Arc::new(ReachCounter::new());
    let shutdown = CancellationToken::new();
    let flush = tokio::spawn(run_reach_flush(
        counter.clone(),
        log.clone(),
        EventCodec::new(),
        topics.clone(),
        Duration::from_millis(50),
        shutdown.clone(),
    ));
    let key = |broadcast_id| tidings_reach::ReachKey {
        app_id: APP,
        broadcast_id,
        kind: tidings_reach::ReachKind::Delivered,
        platform: tidings_reach::ReachPlatform(None),
        hour: 1,
    };
    counter.record(1, [key(1), key(2)]);
    let mut subscription = log.subscribe("reader", std::slice::from_ref(&topics.reach)).await.unwrap();
    let mut records = Vec::new();
    while records.len() < 2 {
        records.extend(subscription.poll(10, Duration::from_secs(5)).await.unwrap());
    }
    // Counted after the last tick: only the shutdown flush takes it.
    counter.record(2, [key(3)]);
    shutdown.cancel();
    flush.await.expect("flush task");
    records.extend(subscription.poll(10, Duration::from_secs(5)).await.unwrap());
    let codec = EventCodec::new();
    let mut broadcasts: Vec<(String, i64)> = records
        .iter()
        .map(|record| {
            let event = codec.decode_reach(&record.payload).expect("reach event");
            (String::from_utf8(record.key.clone()).unwrap(), event.broadcast_id)
        })
        .collect();
    broadcasts.sort();
    assert_eq!(broadcasts, [("r:3:1".to_owned(), 1), ("r:3:2".to_owned(), 2), ("r:3:3".to_owned(), 3)]);
}
