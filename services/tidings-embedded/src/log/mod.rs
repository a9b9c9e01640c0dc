//! The embedded event log: partitioned topics in fjall, appends group-committed by one
//! writer thread, single-process consumer groups. It keeps every record for good (nothing
//! here deletes one): the history a rebuild replays (docs/design.md#recovery-is-replay).
//!
//! This module holds the handle, what it shares with the writer and the members, and the
//! recovery of partition ends on open; [`writer`] group-commits appends, [`subscription`]
//! is a member of a consumer group.

mod copy;
mod history;
mod subscription;
mod writer;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use async_trait::async_trait;
use fjall::{Database, Keyspace, KeyspaceCreateOptions};
use tidings_ports::log::TopicName;
use tidings_ports::{EventLog, LogError, OutgoingRecord, Subscription};
use tokio::sync::{Notify, mpsc, oneshot};
use tracing::{debug, warn};

pub use self::subscription::EmbeddedSubscription;
use self::writer::{AppendRequest, run_writer};
use crate::keys;

const RECORDS_KEYSPACE: &str = "log_records";
const TOPICS_KEYSPACE: &str = "log_topics";
const COMMITTED_KEYSPACE: &str = "log_committed";

/// Appends waiting for the writer; beyond this, `append` waits for room (back-pressure).
const APPEND_QUEUE_LENGTH: usize = 1024;
/// Names become parts of keys; Kafka allows 249 characters for a topic.
const MAX_NAME_LENGTH: usize = 1024;

/// The embedded [`EventLog`].
///
/// - Every topic has a fixed number of partitions, set when the topic is first used (by an
///   append or a subscription) from the count given to [`EmbeddedLog::open`], and kept in
///   the database: reopening with another count leaves existing topics as they are. A
///   record's partition is the FNV-1a hash of its key modulo that count.
/// - **Group commit.** `append` hands its records to one writer thread and waits for its
///   acknowledgement. The writer takes every append that queued up meanwhile, writes them
///   as one atomic fjall batch, syncs the journal once (`fsync`) and only then
///   acknowledges them all: durability before `Ok`, one fsync for many concurrent callers.
///   Offsets are assigned by the writer, in queue order, so appends of one caller keep
///   their order.
/// - Consumers only ever see synced records: a partition's end moves after the sync.
/// - **Consumer groups are single-process.** Every member of a group is handed every
///   partition of its topics (no split between members; two members of one group both see
///   everything, which idempotent consumers tolerate). A member starts at the group's
///   committed offsets; commits are stored durably, and the highest given offset counts.
///
/// Dropping the last handle stops the writer thread, after it has written what was queued.
pub struct EmbeddedLog {
    shared: Arc<LogShared>,
    appends: Option<mpsc::Sender<AppendRequest>>,
    writer: Option<JoinHandle<()>>,
}

impl fmt::Debug for EmbeddedLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedLog")
            .field("path", &self.shared.path)
            .field("partitions_per_new_topic", &self.shared.partitions_per_new_topic)
            .finish_non_exhaustive()
    }
}

/// What the log handle, its writer and its subscriptions share.
struct LogShared {
    path: PathBuf,
    database: Database,
    records: Keyspace,
    topics_keyspace: Keyspace,
    committed: Keyspace,
    partitions_per_new_topic: u32,
    /// Per topic, the next offset of each partition: the end of what is synced. Only the
    /// writer moves ends; subscriptions add missing topics with empty partitions.
    ends: Mutex<HashMap<TopicName, Vec<u64>>>,
    /// Woken after every synced batch, for subscriptions waiting in `poll`.
    appended: Notify,
    /// Live members per consumer group, in this process (the only one: fjall locks the
    /// directory).
    members: Mutex<HashMap<String, usize>>,
}

impl EmbeddedLog {
    /// Opens (or creates) the log in its own fjall database in `dir`. New topics get
    /// `partitions` partitions. To share one database with the store, use
    /// [`crate::EmbeddedEngines::open`].
    pub fn open(dir: &Path, partitions: u32) -> Result<Arc<Self>, LogError> {
        if partitions == 0 {
            return Err(LogError::Rejected("a topic needs at least one partition".into()));
        }
        let database = crate::open_database(dir, crate::DEFAULT_CACHE_BYTES).map_err(|error| log_error(&error))?;
        Self::with_database(database, dir, partitions).map_err(|error| log_error(&error))
    }

    /// Opens the log's keyspaces in `database`, recovers every partition's end and starts
    /// the writer thread.
    pub(crate) fn with_database(database: Database, dir: &Path, partitions: u32) -> fjall::Result<Arc<Self>> {
        let records = database.keyspace(RECORDS_KEYSPACE, KeyspaceCreateOptions::default)?;
        let topics_keyspace = database.keyspace(TOPICS_KEYSPACE, KeyspaceCreateOptions::default)?;
        let committed = database.keyspace(COMMITTED_KEYSPACE, KeyspaceCreateOptions::default)?;
        let ends = recover_ends(&records, &topics_keyspace)?;
        debug!(path = %dir.display(), topics = ends.len(), "opened the embedded log");
        let shared = Arc::new(LogShared {
            path: dir.to_path_buf(),
            database,
            records,
            topics_keyspace,
            committed,
            partitions_per_new_topic: partitions.max(1),
            ends: Mutex::new(ends),
            appended: Notify::new(),
            members: Mutex::new(HashMap::new()),
        });
        let (appends, queued) = mpsc::channel(APPEND_QUEUE_LENGTH);
        let writer = std::thread::Builder::new().name("tidings-log-writer".into()).spawn({
            let shared = Arc::clone(&shared);
            move || run_writer(&shared, queued)
        })?;
        Ok(Arc::new(Self { shared, appends: Some(appends), writer: Some(writer) }))
    }
}

impl Drop for EmbeddedLog {
    fn drop(&mut self) {
        // Closing the queue ends the writer once it has written what is queued. Joining it
        // blocks for at most one batch, and releases its database handles before we return,
        // so the directory can be reopened right away.
        drop(self.appends.take());
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            warn!("the embedded log writer panicked");
        }
    }
}

/// Every known topic with, per partition, the offset after its last record.
fn recover_ends(records: &Keyspace, topics_keyspace: &Keyspace) -> fjall::Result<HashMap<TopicName, Vec<u64>>> {
    let mut ends = HashMap::new();
    for entry in topics_keyspace.iter() {
        let (topic, partitions) = entry.into_inner()?;
        let topic = String::from_utf8(topic.to_vec()).map_err(|_| corrupt("topic name"))?;
        let partitions = partitions
            .first_chunk::<4>()
            .map(|count| u32::from_be_bytes(*count))
            .ok_or_else(|| corrupt("partition count"))?;
        let mut topic_ends = Vec::with_capacity(partitions as usize);
        for partition in 0..partitions {
            let end = match records.prefix(keys::partition_prefix(&topic, partition)).next_back() {
                Some(last) => {
                    keys::offset_of_record_key(&last.key()?).ok_or_else(|| corrupt("record key"))?.saturating_add(1)
                }
                None => 0,
            };
            topic_ends.push(end);
        }
        ends.insert(topic, topic_ends);
    }
    Ok(ends)
}

/// A fjall error for data that doesn't decode; surfaces as [`LogError::Corrupt`].
fn corrupt(what: &str) -> fjall::Error {
    fjall::Error::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("undecodable {what} in the embedded log"),
    ))
}

pub(crate) fn log_error(error: &fjall::Error) -> LogError {
    match error {
        fjall::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => LogError::Corrupt(error.to_string()),
        fjall::Error::Io(_) | fjall::Error::Storage(fjall::LsmError::Io(_)) => LogError::Unavailable(error.to_string()),
        fjall::Error::Locked => {
            LogError::Unavailable(format!("the data directory is in use by another process: {error}"))
        }
        // Poisoned (an fsync failed) included: retrying in this process can't help.
        _ => LogError::Corrupt(error.to_string()),
    }
}

fn task_error(error: tokio::task::JoinError) -> LogError {
    LogError::Unavailable(format!("embedded log task failed: {error}"))
}

fn lock_ends(shared: &LogShared) -> MutexGuard<'_, HashMap<TopicName, Vec<u64>>> {
    shared.ends.lock().unwrap_or_else(PoisonError::into_inner)
}

fn check_name(kind: &str, name: &str) -> Result<(), LogError> {
    if name.is_empty() || name.len() > MAX_NAME_LENGTH {
        return Err(LogError::Rejected(format!(
            "{kind} name must have 1 to {MAX_NAME_LENGTH} bytes, got {}",
            name.len()
        )));
    }
    Ok(())
}

#[async_trait]
impl EventLog for EmbeddedLog {
    async fn append(&self, records: Vec<OutgoingRecord>) -> Result<(), LogError> {
        if records.is_empty() {
            return Ok(());
        }
        for record in &records {
            check_name("topic", &record.topic)?;
        }
        let appends =
            self.appends.as_ref().ok_or_else(|| LogError::Unavailable("the embedded log is closed".into()))?;
        let (acknowledge, acknowledged) = oneshot::channel();
        appends
            .send(AppendRequest { records, acknowledge })
            .await
            .map_err(|_| LogError::Unavailable("the embedded log writer stopped".into()))?;
        acknowledged
            .await
            .map_err(|_| LogError::Unavailable("the embedded log writer stopped before syncing".into()))?
    }

    async fn subscribe(&self, group: &str, topics: &[TopicName]) -> Result<Box<dyn Subscription>, LogError> {
        check_name("group", group)?;
        for topic in topics {
            check_name("topic", topic)?;
        }
        let mut topics = topics.to_vec();
        topics.sort();
        topics.dedup();
        let shared = Arc::clone(&self.shared);
        let group = group.to_owned();
        tokio::task::spawn_blocking(move || {
            EmbeddedSubscription::join(shared, group, &topics).map(|member| Box::new(member) as Box<dyn Subscription>)
        })
        .await
        .map_err(task_error)?
    }
}
