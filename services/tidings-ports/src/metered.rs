//! Port decorators that count what passes through them, whatever the engine behind: the
//! benchmarks wrap the configured log and store in these before assembling the pipeline,
//! and tests use them to check which reads a code path makes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::log::TopicName;
use crate::{
    EventLog, LogError, MailboxChange, MailboxState, MsgRange, Order, OutgoingRecord, Store, StoreError, Subscription,
};
use async_trait::async_trait;
use tidings_domain::broadcast::Broadcast;
use tidings_domain::message::{Mailbox, StoredMessage};
use tidings_domain::public::{PublicMailbox, PublicState};
use tidings_domain::{AppId, BroadcastId, MsgId};

/// What was appended through a [`CountingLog`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Appended {
    /// Records (events) durably appended.
    pub events: u64,
    /// Their keys and payloads, in bytes.
    pub bytes: u64,
}

impl std::ops::Sub for Appended {
    type Output = Appended;

    fn sub(self, earlier: Appended) -> Appended {
        Appended { events: self.events - earlier.events, bytes: self.bytes - earlier.bytes }
    }
}

/// An [`EventLog`] that counts the records appended through it (by ingest and by the
/// projector's notify signals and dead letters alike).
#[derive(Debug)]
pub struct CountingLog {
    inner: Arc<dyn EventLog>,
    events: AtomicU64,
    bytes: AtomicU64,
}

impl CountingLog {
    pub fn new(inner: Arc<dyn EventLog>) -> Arc<Self> {
        Arc::new(Self { inner, events: AtomicU64::new(0), bytes: AtomicU64::new(0) })
    }

    pub fn appended(&self) -> Appended {
        Appended { events: self.events.load(Ordering::Relaxed), bytes: self.bytes.load(Ordering::Relaxed) }
    }
}

#[async_trait]
impl EventLog for CountingLog {
    async fn append(&self, records: Vec<OutgoingRecord>) -> Result<(), LogError> {
        let events = records.len() as u64;
        let bytes = records.iter().map(|r| (r.key.len() + r.payload.len()) as u64).sum();
        self.inner.append(records).await?;
        self.events.fetch_add(events, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        Ok(())
    }

    async fn subscribe(&self, group: &str, topics: &[TopicName]) -> Result<Box<dyn Subscription>, LogError> {
        self.inner.subscribe(group, topics).await
    }
}

/// A [`Store`] that counts the messages inserted through it, the mailbox reads and the
/// reads of the public mailbox, and otherwise passes every call on.
#[derive(Debug)]
pub struct MeteredStore {
    inner: Arc<dyn Store>,
    inserted: AtomicU64,
    mailbox_reads: AtomicU64,
    public_reads: AtomicU64,
}

impl MeteredStore {
    pub fn new(inner: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            inserted: AtomicU64::new(0),
            mailbox_reads: AtomicU64::new(0),
            public_reads: AtomicU64::new(0),
        })
    }

    /// Message inserts durably applied (a repeated insert counts again).
    pub fn inserted(&self) -> u64 {
        self.inserted.load(Ordering::Relaxed)
    }

    /// Calls of [`Store::read_mailbox`]: pages of a private timeline read.
    pub fn mailbox_reads(&self) -> u64 {
        self.mailbox_reads.load(Ordering::Relaxed)
    }

    /// Calls of [`Store::load_public_mailboxes`]: the public mailbox read from the store.
    pub fn public_reads(&self) -> u64 {
        self.public_reads.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl Store for MeteredStore {
    async fn mailbox_state(&self, mailbox: Mailbox) -> Result<MailboxState, StoreError> {
        self.inner.mailbox_state(mailbox).await
    }

    async fn find_delivery(&self, mailbox: Mailbox, dedupe_key: &str) -> Result<Option<MsgId>, StoreError> {
        self.inner.find_delivery(mailbox, dedupe_key).await
    }

    async fn apply_mailbox_changes(&self, changes: &[MailboxChange]) -> Result<(), StoreError> {
        self.inner.apply_mailbox_changes(changes).await?;
        let inserts = changes.iter().filter(|c| matches!(c, MailboxChange::Insert(_))).count();
        self.inserted.fetch_add(inserts as u64, Ordering::Relaxed);
        Ok(())
    }

    async fn read_mailbox(
        &self,
        mailbox: Mailbox,
        range: MsgRange,
        order: Order,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        self.mailbox_reads.fetch_add(1, Ordering::Relaxed);
        self.inner.read_mailbox(mailbox, range, order, limit).await
    }

    async fn public_state(&self, app_id: AppId) -> Result<PublicState, StoreError> {
        self.inner.public_state(app_id).await
    }

    async fn broadcast(&self, app_id: AppId, broadcast_id: BroadcastId) -> Result<Option<Broadcast>, StoreError> {
        self.inner.broadcast(app_id, broadcast_id).await
    }

    async fn list_broadcasts(&self, app_id: AppId) -> Result<Vec<Broadcast>, StoreError> {
        self.inner.list_broadcasts(app_id).await
    }

    async fn apply_public_change(
        &self,
        app_id: AppId,
        broadcast: Option<&Broadcast>,
        state: &PublicState,
    ) -> Result<(), StoreError> {
        self.inner.apply_public_change(app_id, broadcast, state).await
    }

    async fn load_public_mailboxes(&self) -> Result<Vec<PublicMailbox>, StoreError> {
        self.public_reads.fetch_add(1, Ordering::Relaxed);
        self.inner.load_public_mailboxes().await
    }

    async fn storage_bytes(&self) -> Result<Option<u64>, StoreError> {
        self.inner.storage_bytes().await
    }
}
