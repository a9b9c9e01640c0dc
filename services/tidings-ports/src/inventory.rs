//! What replay needs of a store besides projecting into it: checkpoints of its own, and a
//! full listing to compare two projections (docs/design.md#recovery-is-replay). Not for the
//! hot path.

use async_trait::async_trait;
use tidings_domain::message::Mailbox;
use tidings_domain::{AppId, MsgId};

use crate::log::RecordPosition;
use crate::store::{Store, StoreError};

/// One page of [`ReplayStore::mailboxes`] and where the next one starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxPage {
    pub mailboxes: Vec<Mailbox>,
    /// Opaque; `None` after the last page.
    pub next: Option<Vec<u8>>,
}

/// A [`Store`] that a rebuild can project into and a verification can list.
///
/// Contract, checked by [`crate::conformance`]:
/// - [`ReplayStore::save_replay_checkpoints`] is durable on return and replaces the
///   checkpoint of each partition it names; [`ReplayStore::replay_checkpoints`] returns
///   every saved one (what a rebuild resumes from).
/// - [`ReplayStore::mailboxes`] pages through every mailbox that any change touched, each
///   once, in an order of the adapter's choosing that stays the same while nothing writes.
/// - [`ReplayStore::apps`] lists every app with a public state or a broadcast.
/// - [`ReplayStore::deliveries`] lists a mailbox's dedupe keys with their `msg_id`s (those
///   of deleted messages included), sorted by key.
#[async_trait]
pub trait ReplayStore: Store {
    async fn replay_checkpoints(&self) -> Result<Vec<RecordPosition>, StoreError>;

    /// Saves, per partition, the next offset a rebuild projects.
    async fn save_replay_checkpoints(&self, next: &[RecordPosition]) -> Result<(), StoreError>;

    /// Up to about `limit` mailboxes from `from` (a page's `next`; `None` for the first).
    async fn mailboxes(&self, from: Option<Vec<u8>>, limit: usize) -> Result<MailboxPage, StoreError>;

    async fn apps(&self) -> Result<Vec<AppId>, StoreError>;

    async fn deliveries(&self, mailbox: Mailbox) -> Result<Vec<(String, MsgId)>, StoreError>;
}
