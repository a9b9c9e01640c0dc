//! The embedded event log: partitioned topics in fjall, appends group-committed by one
//! writer thread, single-process consumer groups.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use tidings_ports::log::TopicName;
use tidings_ports::{EventLog, LogError, LogRecord, OutgoingRecord, RecordPosition, Subscription};
use tokio::sync::{Notify, mpsc, oneshot};
use tracing::{debug, warn};

use crate::keys;

const RECORDS_KEYSPACE: &str = "log_records";
const TOPICS_KEYSPACE: &str = "log_topics";
const COMMITTED_KEYSPACE: &str = "log_committed";

/// Appends waiting for the writer; beyond this, `append` waits for room (back-pressure).
const APPEND_QUEUE_LENGTH: usize = 1024;
/// The most records the writer gathers into one batch and one fsync.
const MAX_RECORDS_PER_SYNC: usize = 16 * 1024;
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
}

struct AppendRequest {
    records: Vec<OutgoingRecord>,
    acknowledge: oneshot::Sender<Result<(), LogError>>,
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

// --- the writer --------------------------------------------------------------------------

/// Writes queued appends in groups, one fsync per group, until the queue closes.
fn run_writer(shared: &LogShared, mut queued: mpsc::Receiver<AppendRequest>) {
    while let Some(first) = queued.blocking_recv() {
        let mut record_count = first.records.len();
        let mut group = vec![first];
        while record_count < MAX_RECORDS_PER_SYNC {
            let Ok(next) = queued.try_recv() else { break };
            record_count += next.records.len();
            group.push(next);
        }
        let written = write_group(shared, &group);
        match &written {
            Ok(()) => debug!(appends = group.len(), records = record_count, "synced appends"),
            Err(error) => warn!(appends = group.len(), %error, "failed to append to the embedded log"),
        }
        for request in group {
            let outcome = written.as_ref().map_err(log_error).copied();
            // The caller may have given up waiting; the records are written all the same.
            let _ = request.acknowledge.send(outcome);
        }
    }
}

/// Writes every record of `group` in one batch, syncs, then publishes the new ends.
fn write_group(shared: &LogShared, group: &[AppendRequest]) -> fjall::Result<()> {
    let mut batch = shared.database.batch().durability(Some(PersistMode::SyncAll));
    let mut planned_ends: HashMap<&str, Vec<u64>> = HashMap::new();
    {
        let ends = lock_ends(shared);
        for record in group.iter().flat_map(|request| &request.records) {
            let topic_ends = match planned_ends.entry(record.topic.as_str()) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => entry.insert(match ends.get(&record.topic) {
                    Some(topic_ends) => topic_ends.clone(),
                    None => {
                        let partitions = shared.partitions_per_new_topic;
                        batch.insert(&shared.topics_keyspace, record.topic.as_bytes(), partitions.to_be_bytes());
                        vec![0; partitions as usize]
                    }
                }),
            };
            let partition = keys::partition_of(&record.key, topic_ends.len() as u32);
            let offset = topic_ends[partition as usize];
            topic_ends[partition as usize] += 1;
            batch.insert(
                &shared.records,
                keys::record_key(&record.topic, partition, offset),
                keys::record_value(&record.key, &record.payload),
            );
        }
    }
    batch.commit()?;
    let mut ends = lock_ends(shared);
    for (topic, topic_ends) in planned_ends {
        ends.insert(topic.to_owned(), topic_ends);
    }
    drop(ends);
    shared.appended.notify_waiters();
    Ok(())
}

impl LogShared {
    /// Creates the topics that don't exist yet, with empty partitions.
    fn ensure_topics(&self, topics: &[TopicName]) -> fjall::Result<()> {
        let mut ends = lock_ends(self);
        let missing: Vec<&TopicName> = topics.iter().filter(|t| !ends.contains_key(*t)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let partitions = self.partitions_per_new_topic;
        let mut batch = self.database.batch().durability(Some(PersistMode::SyncAll));
        for topic in &missing {
            batch.insert(&self.topics_keyspace, topic.as_bytes(), partitions.to_be_bytes());
        }
        batch.commit()?;
        for topic in missing {
            ends.insert(topic.clone(), vec![0; partitions as usize]);
        }
        Ok(())
    }

    fn committed_offset(&self, group: &str, topic: &str, partition: u32) -> fjall::Result<u64> {
        let Some(value) = self.committed.get(keys::committed_key(group, topic, partition))? else {
            return Ok(0);
        };
        let offset = value.first_chunk::<8>().ok_or_else(|| corrupt("committed offset"))?;
        Ok(u64::from_be_bytes(*offset))
    }

    /// Reads the records of `reads`, each `(topic, partition, from, to)` with `to` exclusive
    /// and within the partition's synced end.
    fn read(&self, reads: &[(TopicName, u32, u64, u64)]) -> fjall::Result<Vec<LogRecord>> {
        let mut records = Vec::new();
        for (topic, partition, from, to) in reads {
            let mut expected = *from;
            let range = keys::record_key(topic, *partition, *from)..keys::record_key(topic, *partition, *to);
            for entry in self.records.range(range) {
                let (key, value) = entry.into_inner()?;
                let offset = keys::offset_of_record_key(&key).ok_or_else(|| corrupt("record key"))?;
                let (record_key, payload) = keys::split_record_value(&value).ok_or_else(|| corrupt("record"))?;
                if offset != expected {
                    return Err(corrupt("partition: an offset is missing"));
                }
                expected += 1;
                records.push(LogRecord {
                    position: RecordPosition {
                        topic: topic.clone(),
                        partition: *partition as i32,
                        offset: offset as i64,
                    },
                    key: record_key.to_vec(),
                    payload: payload.to_vec(),
                });
            }
            if expected != *to {
                return Err(corrupt("partition: records are missing"));
            }
        }
        Ok(records)
    }
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
            shared.ensure_topics(&topics).map_err(|error| log_error(&error))?;
            let partition_counts: Vec<u32> = {
                let ends = lock_ends(&shared);
                topics.iter().map(|t| ends[t].len() as u32).collect()
            };
            let mut next = HashMap::new();
            for (topic, partitions) in topics.iter().zip(partition_counts) {
                for partition in 0..partitions {
                    let committed =
                        shared.committed_offset(&group, topic, partition).map_err(|error| log_error(&error))?;
                    next.insert((topic.clone(), partition), committed);
                }
            }
            let mut partitions: Vec<(TopicName, u32)> = next.keys().cloned().collect();
            partitions.sort();
            debug!(group, partitions = partitions.len(), "joined a consumer group");
            Ok(Box::new(EmbeddedSubscription { shared, group, partitions, next, first_partition: 0 })
                as Box<dyn Subscription>)
        })
        .await
        .map_err(task_error)?
    }
}

/// A member of a consumer group of the [`EmbeddedLog`]: it holds every partition of its
/// topics.
pub struct EmbeddedSubscription {
    shared: Arc<LogShared>,
    group: String,
    /// Every partition of the subscribed topics, in a fixed order.
    partitions: Vec<(TopicName, u32)>,
    /// The next offset to hand out, per partition.
    next: HashMap<(TopicName, u32), u64>,
    /// Where the next poll starts, rotating, so a busy partition can't starve the others.
    first_partition: usize,
}

impl fmt::Debug for EmbeddedSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedSubscription")
            .field("group", &self.group)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl EmbeddedSubscription {
    /// What the next poll reads: up to `max_records` synced records past `next`.
    fn plan_reads(&mut self, max_records: usize) -> Vec<(TopicName, u32, u64, u64)> {
        let ends = lock_ends(&self.shared);
        let mut budget = max_records as u64;
        let mut reads = Vec::new();
        let count = self.partitions.len();
        for step in 0..count {
            if budget == 0 {
                break;
            }
            let (topic, partition) = &self.partitions[(self.first_partition + step) % count];
            let from = self.next[&(topic.clone(), *partition)];
            let end = ends.get(topic).and_then(|topic_ends| topic_ends.get(*partition as usize)).copied().unwrap_or(0);
            let to = end.min(from.saturating_add(budget));
            if to > from {
                budget -= to - from;
                reads.push((topic.clone(), *partition, from, to));
            }
        }
        if count > 0 {
            self.first_partition = (self.first_partition + 1) % count;
        }
        reads
    }
}

#[async_trait]
impl Subscription for EmbeddedSubscription {
    async fn poll(&mut self, max_records: usize, max_wait: Duration) -> Result<Vec<LogRecord>, LogError> {
        // A wait too long to represent is as good as forever: a day.
        let now = tokio::time::Instant::now();
        let deadline = now.checked_add(max_wait).unwrap_or_else(|| now + Duration::from_secs(86_400));
        if max_records == 0 {
            return Ok(Vec::new());
        }
        let shared = Arc::clone(&self.shared);
        loop {
            // Registered before looking, so an append that syncs in between still wakes us.
            let appended = shared.appended.notified();
            tokio::pin!(appended);
            appended.as_mut().enable();

            let reads = self.plan_reads(max_records);
            if !reads.is_empty() {
                let shared = Arc::clone(&shared);
                let (records, reads) =
                    tokio::task::spawn_blocking(move || shared.read(&reads).map(|records| (records, reads)))
                        .await
                        .map_err(task_error)?
                        .map_err(|error| log_error(&error))?;
                for (topic, partition, _, to) in reads {
                    self.next.insert((topic, partition), to);
                }
                return Ok(records);
            }
            tokio::select! {
                () = &mut appended => {}
                () = tokio::time::sleep_until(deadline) => return Ok(Vec::new()),
            }
        }
    }

    async fn commit(&mut self, positions: &[RecordPosition]) -> Result<(), LogError> {
        let mut highest: BTreeMap<(TopicName, u32), u64> = BTreeMap::new();
        for position in positions {
            let (Ok(partition), Ok(offset)) = (u32::try_from(position.partition), u64::try_from(position.offset))
            else {
                return Err(LogError::Rejected(format!("no such position: {position:?}")));
            };
            let next = highest.entry((position.topic.clone(), partition)).or_default();
            *next = (*next).max(offset + 1);
        }
        if highest.is_empty() {
            return Ok(());
        }
        let shared = Arc::clone(&self.shared);
        let group = self.group.clone();
        tokio::task::spawn_blocking(move || {
            let mut batch = shared.database.batch().durability(Some(PersistMode::SyncAll));
            for ((topic, partition), next) in highest {
                batch.insert(&shared.committed, keys::committed_key(&group, &topic, partition), next.to_be_bytes());
            }
            batch.commit()
        })
        .await
        .map_err(task_error)?
        .map_err(|error| log_error(&error))
    }

    async fn lag(&mut self) -> Result<u64, LogError> {
        let shared = Arc::clone(&self.shared);
        let group = self.group.clone();
        let partitions = self.partitions.clone();
        tokio::task::spawn_blocking(move || {
            let ends: Vec<u64> = {
                let ends = lock_ends(&shared);
                partitions
                    .iter()
                    .map(|(topic, partition)| {
                        ends.get(topic).and_then(|topic_ends| topic_ends.get(*partition as usize)).copied().unwrap_or(0)
                    })
                    .collect()
            };
            let mut lag = 0;
            for ((topic, partition), end) in partitions.iter().zip(ends) {
                let committed = shared.committed_offset(&group, topic, *partition)?;
                lag += end.saturating_sub(committed);
            }
            Ok(lag)
        })
        .await
        .map_err(task_error)?
        .map_err(|error| log_error(&error))
    }
}
