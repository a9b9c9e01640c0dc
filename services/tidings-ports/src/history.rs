//! The log's history, read outside consumer groups, and groups moved by hand: what
//! `tidings replay` needs of an event log (docs/design.md#recovery-is-replay). Not for the
//! hot path.

use async_trait::async_trait;

use crate::log::{EventLog, LogError, LogRecord, RecordPosition, TopicName};

/// One partition of a topic and the records it holds now: offsets `earliest..end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionExtent {
    pub topic: TopicName,
    pub partition: i32,
    /// The first offset still held: above 0 once retention deleted the beginning.
    pub earliest: i64,
    /// The offset the next appended record gets.
    pub end: i64,
}

/// A group's committed position in one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPosition {
    pub partition: i32,
    /// The next offset the group reads; `None` when it never committed there.
    pub next: Option<i64>,
}

/// A log's history and its consumer groups' positions.
///
/// Contract, checked by [`crate::conformance`]:
/// - [`LogHistory::partitions`] lists every partition of an existing topic, in partition
///   order, and nothing for a topic that doesn't exist (it creates none).
/// - [`LogHistory::read`] returns records of one partition at offsets `from..until`, in
///   offset order, at most `max_records` and at least one while the range holds any; it
///   joins no group and commits nothing.
/// - [`LogHistory::committed`] gives, per partition of the topic, the group's committed
///   next offset, as the group's members would resume from it.
/// - [`LogHistory::set_committed`] replaces those positions durably: a member joining
///   afterwards resumes there. Callers first check [`LogHistory::live_members`] is zero; an
///   adapter may refuse while members are live.
/// - [`LogHistory::offsets_at`] gives, per partition, the first offset appended at or after
///   a time, or the end when there is none; a log that keeps no append times refuses it
///   with [`LogError::Rejected`].
#[async_trait]
pub trait LogHistory: EventLog {
    async fn partitions(&self, topic: &str) -> Result<Vec<PartitionExtent>, LogError>;

    async fn read(
        &self,
        topic: &str,
        partition: i32,
        from: i64,
        until: i64,
        max_records: usize,
    ) -> Result<Vec<LogRecord>, LogError>;

    async fn committed(&self, group: &str, topic: &str) -> Result<Vec<GroupPosition>, LogError>;

    /// Members of the group now (consumers that joined and did not leave).
    async fn live_members(&self, group: &str) -> Result<usize, LogError>;

    /// Sets the group's next offset at each position's partition to the position's offset.
    async fn set_committed(&self, group: &str, next: &[RecordPosition]) -> Result<(), LogError>;

    /// Per partition of the topic, the first offset appended at or after `time_ms` (Unix
    /// milliseconds).
    async fn offsets_at(&self, topic: &str, time_ms: i64) -> Result<Vec<RecordPosition>, LogError>;
}
