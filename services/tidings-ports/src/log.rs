//! The event log port: partitioned, keyed, durable topics with consumer groups.

use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;
/// A topic name.
pub type TopicName = String;

/// The topics Tidings uses. Names are configurable so several deployments can share a
/// cluster and tests can use fresh topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    /// Deliveries, read marks and deletions, keyed by mailbox.
    pub mailbox: TopicName,
    /// Broadcast lifecycle and whitelist changes, keyed by app.
    pub broadcast: TopicName,
    /// Notify signals for the gateway.
    pub notify: TopicName,
    /// Reach sketches flushed by pull workers, keyed by broadcast (`r:<app_id>:<broadcast_id>`).
    pub reach: TopicName,
    /// Records that could not be decoded or were invalid, with the reason.
    pub dead_letter: TopicName,
}

impl Topics {
    /// The topic names under a prefix, e.g. `tidings` gives `tidings.mailbox`.
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            mailbox: format!("{prefix}.mailbox"),
            broadcast: format!("{prefix}.broadcast"),
            notify: format!("{prefix}.notify"),
            reach: format!("{prefix}.reach"),
            dead_letter: format!("{prefix}.dead-letter"),
        }
    }
}

impl Default for Topics {
    fn default() -> Self {
        Self::with_prefix("tidings")
    }
}

/// A record to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRecord {
    pub topic: TopicName,
    /// Decides the partition: records with equal keys go to one partition, in order.
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
}

/// Where a record sits: one partition of one topic, at one offset.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordPosition {
    pub topic: TopicName,
    pub partition: i32,
    pub offset: i64,
}

/// A record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub position: RecordPosition,
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The engine can't be reached or refused for now; the same call may succeed later.
    #[error("event log unavailable: {0}")]
    Unavailable(String),
    /// The engine's files or answers are not what they should be.
    #[error("event log corrupt: {0}")]
    Corrupt(String),
    /// A request the log rejects (unknown topic, bad configuration).
    #[error("event log rejected the request: {0}")]
    Rejected(String),
}

impl LogError {
    pub fn is_retriable(&self) -> bool {
        matches!(self, LogError::Unavailable(_))
    }
}

/// A durable, partitioned, keyed log.
///
/// Contract, checked by [`crate::conformance`]:
/// - **Durability.** [`EventLog::append`] returns `Ok` only once every record is durable
///   (embedded: synced to disk; Kafka: acknowledged by all in-sync replicas). After `Ok`, a
///   crash of the process or the engine loses none of them.
/// - **Order per key.** Records with the same topic and key land in one partition and are
///   read back in the order appended: within one call, and across calls when the second
///   starts after the first returned.
/// - **All or retry.** On `Err` some records may have been appended; callers retry the
///   whole batch, and consumers must be idempotent (they are: see the projector).
/// - **Topics** are created on first use, by `append` as by `subscribe`, with the
///   adapter's configured partition count.
#[async_trait]
pub trait EventLog: Send + Sync + Debug {
    async fn append(&self, records: Vec<OutgoingRecord>) -> Result<(), LogError>;

    /// Joins consumer `group` on `topics` (created when missing).
    async fn subscribe(&self, group: &str, topics: &[TopicName]) -> Result<Box<dyn Subscription>, LogError>;
}

/// One member of a consumer group.
///
/// Contract, checked by [`crate::conformance`]:
/// - Records of a partition are handed out in offset order, each once per member, starting
///   after the group's committed position (a new group starts at the beginning).
/// - [`Subscription::commit`] stores the group's position; after a restart or a rebalance,
///   consumption resumes right after the highest committed offset of each partition, so
///   what was polled but not committed is handed out again (at-least-once).
/// - Between poll and commit a partition may move to another member, which then gets its
///   uncommitted records again: effects must be idempotent.
#[async_trait]
pub trait Subscription: Send + Debug {
    /// Waits up to `max_wait` for records; returns at most `max_records`, maybe none.
    async fn poll(&mut self, max_records: usize, max_wait: Duration) -> Result<Vec<LogRecord>, LogError>;

    /// Commits past each given position (positions of one partition: the highest counts).
    /// Call only once the records' effects are durable. A commit replaces the group's
    /// position, so callers commit in increasing order; committing a partition this member
    /// no longer holds is either ignored or an error, never a rewind of the new owner.
    async fn commit(&mut self, positions: &[RecordPosition]) -> Result<(), LogError>;

    /// Records appended but not yet committed by the group, over this member's partitions.
    async fn lag(&mut self) -> Result<u64, LogError>;
}
