//! [`CountingStore`]: a [`Store`] that counts inserts, mailbox reads and public mailbox
//! reads.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use tidings_domain::audit::{AuditEntry, AuditSubject};
use tidings_domain::broadcast::Broadcast;
use tidings_domain::message::{Mailbox, StoredMessage};
use tidings_domain::public::{PublicMailbox, PublicState};
use tidings_domain::{AppId, BroadcastId, MsgId};
use tidings_ports::{
    AuditStore, FoundSend, IndexedSend, MailboxChange, MailboxState, MsgRange, Operator, OperatorStore, Order, Store,
    StoreError,
};
use tidings_reach::{ReachKey, ReachSketch};

/// A [`Store`] that counts the messages inserted through it, the mailbox reads and the
/// reads of the public mailbox, and otherwise passes every call on.
#[derive(Debug)]
pub struct CountingStore {
    inner: Arc<dyn Store>,
    inserted: AtomicU64,
    mailbox_reads: AtomicU64,
    public_reads: AtomicU64,
}

impl CountingStore {
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
impl Store for CountingStore {
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

    async fn index_sends(&self, sends: &[IndexedSend]) -> Result<(), StoreError> {
        self.inner.index_sends(sends).await
    }

    async fn find_send(&self, app_id: AppId, key: &str) -> Result<Option<FoundSend>, StoreError> {
        self.inner.find_send(app_id, key).await
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

    async fn merge_reach(&self, sketches: &[(ReachKey, ReachSketch)]) -> Result<(), StoreError> {
        self.inner.merge_reach(sketches).await
    }

    async fn reach(
        &self,
        app_id: AppId,
        broadcast_id: BroadcastId,
    ) -> Result<Vec<(ReachKey, ReachSketch)>, StoreError> {
        self.inner.reach(app_id, broadcast_id).await
    }

    async fn load_public_mailboxes(&self) -> Result<Vec<PublicMailbox>, StoreError> {
        self.public_reads.fetch_add(1, Ordering::Relaxed);
        self.inner.load_public_mailboxes().await
    }

    async fn storage_bytes(&self) -> Result<Option<u64>, StoreError> {
        self.inner.storage_bytes().await
    }
}

#[async_trait]
impl AuditStore for CountingStore {
    async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.inner.record_audit(entry).await
    }

    async fn audit(
        &self,
        app_id: AppId,
        subject: Option<AuditSubject>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.audit(app_id, subject, limit).await
    }
}

#[async_trait]
impl OperatorStore for CountingStore {
    async fn put_operator(&self, operator: &Operator) -> Result<(), StoreError> {
        self.inner.put_operator(operator).await
    }

    async fn operator(&self, app_id: AppId, name: &str) -> Result<Option<Operator>, StoreError> {
        self.inner.operator(app_id, name).await
    }

    async fn list_operators(&self, app_id: AppId) -> Result<Vec<Operator>, StoreError> {
        self.inner.list_operators(app_id).await
    }
}
