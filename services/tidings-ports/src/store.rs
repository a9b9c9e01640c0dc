//! The store port: private mailbox timelines and the public mailbox.

use std::collections::BTreeSet;
use std::fmt::Debug;

use async_trait::async_trait;
use tidings_domain::broadcast::Broadcast;
use tidings_domain::message::{Attributes, Mailbox, StoredMessage};
use tidings_domain::public::{PublicMailbox, PublicState};
use tidings_domain::{AppId, BroadcastId, MsgId, Uid};
use tidings_reach::{ReachKey, ReachSketch};

use crate::accounts::{AuditStore, OperatorStore};

/// A mailbox's bookkeeping besides its messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxState {
    /// The largest `msg_id` ever inserted (deleted messages included): the base of the
    /// next stamp.
    pub head: Option<MsgId>,
    /// Everything up to this `msg_id` reads as read.
    pub read_up_to: MsgId,
    /// Broadcasts the owner deleted from their view.
    pub hidden_broadcasts: BTreeSet<BroadcastId>,
    /// What the business server last said about the user, for personalized broadcasts.
    pub attributes: Attributes,
}

/// One change to one private mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxChange {
    /// Stores the message under its dedupe key and raises the head to its `msg_id`. The
    /// caller checks [`Store::find_delivery`] first (the projector does): inserting a dedupe
    /// key the mailbox already holds is undefined.
    Insert(StoredMessage),
    /// Raises the read mark (never lowers it).
    MarkReadUpTo { mailbox: Mailbox, up_to: MsgId },
    /// Removes a message from reads for good; its dedupe key stays, so a replayed delivery
    /// does not bring it back.
    Delete { mailbox: Mailbox, msg_id: MsgId },
    /// Hides a broadcast from this mailbox's pulls.
    HideBroadcast { mailbox: Mailbox, broadcast_id: BroadcastId },
    /// Replaces the owner's attributes (empty removes them).
    ReplaceAttributes { mailbox: Mailbox, attributes: Attributes },
}

impl MailboxChange {
    pub fn mailbox(&self) -> Mailbox {
        match self {
            MailboxChange::Insert(message) => message.mailbox,
            MailboxChange::MarkReadUpTo { mailbox, .. }
            | MailboxChange::Delete { mailbox, .. }
            | MailboxChange::HideBroadcast { mailbox, .. }
            | MailboxChange::ReplaceAttributes { mailbox, .. } => *mailbox,
        }
    }
}

/// A send as the recall index keeps it (docs/design.md#recall): where a recall by request
/// id or by msgkey finds every recipient and the dedupe key their copies were delivered
/// under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedSend {
    pub app_id: AppId,
    /// `r:<request_id>` (`Delivery::request_key`).
    pub request_key: String,
    /// The deliveries' dedupe key: the request key again, or `k:<from_uid>:<msgkey>`.
    pub dedupe_key: String,
    pub recipients: Vec<Uid>,
}

impl IndexedSend {
    /// The keys the send is found under: its request key, and its dedupe key when that
    /// differs (a send with a msgkey).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        let dedupe_key = (self.dedupe_key != self.request_key).then_some(self.dedupe_key.as_str());
        std::iter::once(self.request_key.as_str()).chain(dedupe_key)
    }
}

/// What [`Store::find_send`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSend {
    pub dedupe_key: String,
    /// In uid order, each once.
    pub recipients: Vec<Uid>,
}

/// Which `msg_id`s a mailbox read covers; bounds are exclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MsgRange {
    pub after: Option<MsgId>,
    pub before: Option<MsgId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Ascending,
    Descending,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The engine can't be reached or timed out; the same call may succeed later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// What the store holds can't be read back.
    #[error("store corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub fn is_retriable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Where projections live.
///
/// Contract, checked by [`crate::conformance`]:
/// - **Durability.** A write returns `Ok` only once it survives a crash of the process or
///   the engine.
/// - **Idempotency.** Every write can be repeated with the same arguments and changes
///   nothing the second time, so the projector may retry and replay.
/// - **Atomic per mailbox.** The changes of one call that touch one mailbox become visible
///   together or not at all (an insert's row, dedupe key and head move as one), and a reader
///   never sees a message while a smaller `msg_id` of the same call is missing (docs/design.md#no-missed-pull).
///   Changes to different mailboxes need not be atomic with each other.
/// - **Atomic per app** for [`Store::apply_public_change`]: the broadcast and the app's
///   public state change together.
/// - The public mailbox is read on the pull path only by [`Store::load_public_mailboxes`],
///   which the pull workers' cache refresh calls (docs/design.md#pulls-read-the-cache).
///
/// Every store also keeps the audit trail and operators' accounts, each with its own
/// contract ([`AuditStore`], [`OperatorStore`]).
#[async_trait]
pub trait Store: AuditStore + OperatorStore + Send + Sync + Debug {
    async fn mailbox_state(&self, mailbox: Mailbox) -> Result<MailboxState, StoreError>;

    /// The `msg_id` that the delivery with this dedupe key got in this mailbox, if any.
    async fn find_delivery(&self, mailbox: Mailbox, dedupe_key: &str) -> Result<Option<MsgId>, StoreError>;

    /// Applies changes in order; see the trait's contract.
    async fn apply_mailbox_changes(&self, changes: &[MailboxChange]) -> Result<(), StoreError>;

    /// Indexes sends for recall, under their request key and under their dedupe key (once
    /// when they are the same). A key's recipients are the union of every send indexed
    /// under it (two sends with one msgkey), so repeating a call changes nothing.
    async fn index_sends(&self, sends: &[IndexedSend]) -> Result<(), StoreError>;

    /// The send indexed under `key` (a request key or a dedupe key), if any.
    async fn find_send(&self, app_id: AppId, key: &str) -> Result<Option<FoundSend>, StoreError>;

    /// Up to `limit` undeleted messages of the mailbox within `range`, in `order`.
    async fn read_mailbox(
        &self,
        mailbox: Mailbox,
        range: MsgRange,
        order: Order,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError>;

    /// The app's public state (position and whitelist); the default for an app never seen.
    async fn public_state(&self, app_id: AppId) -> Result<PublicState, StoreError>;

    /// A broadcast in any state, deleted ones included.
    async fn broadcast(&self, app_id: AppId, broadcast_id: BroadcastId) -> Result<Option<Broadcast>, StoreError>;

    /// Every broadcast of the app in any state, by id.
    async fn list_broadcasts(&self, app_id: AppId) -> Result<Vec<Broadcast>, StoreError>;

    /// Stores the broadcast (when given) and the app's public state, atomically.
    async fn apply_public_change(
        &self,
        app_id: AppId,
        broadcast: Option<&Broadcast>,
        state: &PublicState,
    ) -> Result<(), StoreError>;

    /// Every app's public mailbox as [`PublicMailbox::new`] builds it.
    async fn load_public_mailboxes(&self) -> Result<Vec<PublicMailbox>, StoreError>;

    /// Merges each sketch into the stored sketch of its key (a key never stored starts
    /// empty); durable on return. Keys may repeat within a call.
    async fn merge_reach(&self, sketches: &[(ReachKey, ReachSketch)]) -> Result<(), StoreError>;

    /// Every stored reach sketch of the broadcast, in key order; none for a broadcast never
    /// counted.
    async fn reach(&self, app_id: AppId, broadcast_id: BroadcastId)
    -> Result<Vec<(ReachKey, ReachSketch)>, StoreError>;

    /// The bytes the store's data occupies, by the engine's own accounting, or `None` when
    /// the adapter can't tell (the default).
    ///
    /// For benchmarks and capacity reports, not for the hot path: an adapter may first make
    /// recent writes count (the embedded store flushes its memtables to disk), so a call can
    /// take a while and write. The figure covers the store's own data only, not an event
    /// log sharing the engine; compare two calls to learn what some writes added.
    async fn storage_bytes(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }
}
