//! A member of a consumer group: joining at the group's committed offsets, polls that wait
//! for the writer's syncs, commits and lag.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use fjall::PersistMode;
use tidings_ports::log::TopicName;
use tidings_ports::{LogError, LogRecord, RecordPosition, Subscription};
use tracing::debug;

use super::{LogShared, corrupt, lock_ends, log_error, task_error};
use crate::keys;

/// A member of a consumer group of the [`EmbeddedLog`](super::EmbeddedLog): it holds every
/// partition of its topics.
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
    /// Joins `group` on `topics` (sorted, no duplicates), creating the missing ones; the
    /// member starts at the group's committed offsets. Blocks on the database.
    pub(super) fn join(shared: Arc<LogShared>, group: String, topics: &[TopicName]) -> Result<Self, LogError> {
        shared.ensure_topics(topics).map_err(|error| log_error(&error))?;
        let partition_counts: Vec<u32> = {
            let ends = lock_ends(&shared);
            topics.iter().map(|t| ends[t].len() as u32).collect()
        };
        let mut next = HashMap::new();
        for (topic, partitions) in topics.iter().zip(partition_counts) {
            for partition in 0..partitions {
                let committed = shared.committed_offset(&group, topic, partition).map_err(|error| log_error(&error))?;
                next.insert((topic.clone(), partition), committed);
            }
        }
        let mut partitions: Vec<(TopicName, u32)> = next.keys().cloned().collect();
        partitions.sort();
        debug!(group, partitions = partitions.len(), "joined a consumer group");
        shared
            .members
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(group.clone())
            .and_modify(|n| *n += 1)
            .or_insert(1);
        Ok(Self { shared, group, partitions, next, first_partition: 0 })
    }

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

impl Drop for EmbeddedSubscription {
    fn drop(&mut self) {
        let mut members = self.shared.members.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = members.get_mut(&self.group) {
            *count = count.saturating_sub(1);
        }
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

    /// Where the group resumes in the partition: the beginning when it never committed.
    fn committed_offset(&self, group: &str, topic: &str, partition: u32) -> fjall::Result<u64> {
        Ok(self.committed_next(group, topic, partition)?.unwrap_or(0))
    }

    /// The group's committed next offset in the partition, if it ever committed there.
    pub(super) fn committed_next(&self, group: &str, topic: &str, partition: u32) -> fjall::Result<Option<u64>> {
        let Some(value) = self.committed.get(keys::committed_key(group, topic, partition))? else {
            return Ok(None);
        };
        let offset = value.first_chunk::<8>().ok_or_else(|| corrupt("committed offset"))?;
        Ok(Some(u64::from_be_bytes(*offset)))
    }

    /// Reads the records of `reads`, each `(topic, partition, from, to)` with `to` exclusive
    /// and within the partition's synced end.
    pub(super) fn read(&self, reads: &[(TopicName, u32, u64, u64)]) -> fjall::Result<Vec<LogRecord>> {
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
