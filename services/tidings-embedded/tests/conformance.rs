//! The ports' conformance suite against the embedded engines, each test on a fresh data
//! directory.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tempfile::TempDir;
use tidings_domain::broadcast::Broadcast;
use tidings_domain::message::{Mailbox, StoredMessage};
use tidings_domain::public::{PublicMailbox, PublicState};
use tidings_domain::{AppId, BroadcastId, MsgId};
use tidings_embedded::EmbeddedEngines;
use tidings_ports::log::TopicName;
use tidings_ports::{
    EventLog, LogError, LogRecord, MailboxChange, MailboxState, MsgRange, Order, OutgoingRecord, Store, StoreError,
    Subscription,
};

/// Partitions per topic: several, so keys spread over partitions.
const PARTITIONS: u32 = 4;

/// An adapter with the directory it lives in, removed once the adapter is dropped.
struct InTempDir<A: ?Sized> {
    adapter: Arc<A>,
    _dir: TempDir,
}

impl<A: ?Sized + fmt::Debug> fmt::Debug for InTempDir<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.adapter.fmt(f)
    }
}

fn engines() -> (EmbeddedEngines, TempDir) {
    let dir = TempDir::new().expect("temporary directory");
    let engines = EmbeddedEngines::open(dir.path(), PARTITIONS).expect("open embedded engines");
    (engines, dir)
}

async fn fresh_log() -> Arc<dyn EventLog> {
    let (engines, dir) = engines();
    Arc::new(InTempDir::<dyn EventLog> { adapter: engines.log, _dir: dir })
}

async fn fresh_store() -> Arc<dyn Store> {
    let (engines, dir) = engines();
    Arc::new(InTempDir::<dyn Store> { adapter: engines.store, _dir: dir })
}

tidings_ports::event_log_conformance_tests!(fresh_log());
tidings_ports::store_conformance_tests!(fresh_store());

#[async_trait]
impl EventLog for InTempDir<dyn EventLog> {
    async fn append(&self, records: Vec<OutgoingRecord>) -> Result<(), LogError> {
        self.adapter.append(records).await
    }

    async fn subscribe(&self, group: &str, topics: &[TopicName]) -> Result<Box<dyn Subscription>, LogError> {
        self.adapter.subscribe(group, topics).await
    }
}

#[async_trait]
impl Store for InTempDir<dyn Store> {
    async fn mailbox_state(&self, mailbox: Mailbox) -> Result<MailboxState, StoreError> {
        self.adapter.mailbox_state(mailbox).await
    }

    async fn find_delivery(&self, mailbox: Mailbox, dedupe_key: &str) -> Result<Option<MsgId>, StoreError> {
        self.adapter.find_delivery(mailbox, dedupe_key).await
    }

    async fn apply_mailbox_changes(&self, changes: &[MailboxChange]) -> Result<(), StoreError> {
        self.adapter.apply_mailbox_changes(changes).await
    }

    async fn read_mailbox(
        &self,
        mailbox: Mailbox,
        range: MsgRange,
        order: Order,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        self.adapter.read_mailbox(mailbox, range, order, limit).await
    }

    async fn public_state(&self, app_id: AppId) -> Result<PublicState, StoreError> {
        self.adapter.public_state(app_id).await
    }

    async fn broadcast(&self, app_id: AppId, broadcast_id: BroadcastId) -> Result<Option<Broadcast>, StoreError> {
        self.adapter.broadcast(app_id, broadcast_id).await
    }

    async fn list_broadcasts(&self, app_id: AppId) -> Result<Vec<Broadcast>, StoreError> {
        self.adapter.list_broadcasts(app_id).await
    }

    async fn apply_public_change(
        &self,
        app_id: AppId,
        broadcast: Option<&Broadcast>,
        state: &PublicState,
    ) -> Result<(), StoreError> {
        self.adapter.apply_public_change(app_id, broadcast, state).await
    }

    async fn load_public_mailboxes(&self) -> Result<Vec<PublicMailbox>, StoreError> {
        self.adapter.load_public_mailboxes().await
    }
}

/// Beyond the suite: many concurrent appenders all get their records in, each in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_are_all_written_in_order_per_key() {
    let log = fresh_log().await;
    let topic = "concurrent".to_owned();
    let appenders: Vec<_> = (0..32)
        .map(|appender| {
            let log = Arc::clone(&log);
            let topic = topic.clone();
            tokio::spawn(async move {
                for i in 0..20 {
                    let record = OutgoingRecord {
                        topic: topic.clone(),
                        key: format!("appender-{appender}").into_bytes(),
                        payload: i.to_string().into_bytes(),
                    };
                    log.append(vec![record]).await.expect("append");
                }
            })
        })
        .collect();
    for appender in appenders {
        appender.await.expect("appender");
    }

    let mut subscription = log.subscribe("readers", std::slice::from_ref(&topic)).await.expect("subscribe");
    let mut received: Vec<LogRecord> = Vec::new();
    while received.len() < 32 * 20 {
        let batch = subscription.poll(1_000, Duration::from_secs(5)).await.expect("poll");
        assert!(!batch.is_empty(), "only {} records", received.len());
        received.extend(batch);
    }
    for appender in 0..32 {
        let key = format!("appender-{appender}").into_bytes();
        let payloads: Vec<String> = received
            .iter()
            .filter(|record| record.key == key)
            .map(|record| String::from_utf8_lossy(&record.payload).into_owned())
            .collect();
        let expected: Vec<String> = (0..20).map(|i: i32| i.to_string()).collect();
        assert_eq!(payloads, expected, "appender {appender}");
    }
}
