//! [`LogHistory`] of the embedded log: partitions from the recovered ends, reads straight
//! from the records keyspace, groups' positions from the committed keyspace.

use std::sync::{Arc, PoisonError};

use async_trait::async_trait;
use fjall::PersistMode;
use tidings_ports::log::TopicName;
use tidings_ports::{GroupPosition, LogError, LogHistory, LogRecord, PartitionExtent, RecordPosition};

use super::{EmbeddedLog, LogShared, check_name, lock_ends, log_error, task_error};
use crate::keys;

impl EmbeddedLog {
    /// Runs `work` on the blocking pool against the shared state.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&LogShared) -> fjall::Result<T> + Send + 'static,
    ) -> Result<T, LogError> {
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || work(&shared)).await.map_err(task_error)?.map_err(|error| log_error(&error))
    }

    fn partition_count(&self, topic: &str) -> u32 {
        lock_ends(&self.shared).get(topic).map_or(0, |ends| ends.len() as u32)
    }
}

/// A partition number the embedded log can have.
fn partition_number(partition: i32) -> Result<u32, LogError> {
    u32::try_from(partition).map_err(|_| LogError::Rejected(format!("no partition {partition}")))
}

#[async_trait]
impl LogHistory for EmbeddedLog {
    async fn partitions(&self, topic: &str) -> Result<Vec<PartitionExtent>, LogError> {
        let ends = lock_ends(&self.shared);
        let Some(topic_ends) = ends.get(topic) else { return Ok(Vec::new()) };
        // Nothing here deletes a record: every partition holds its beginning.
        Ok(topic_ends
            .iter()
            .enumerate()
            .map(|(partition, end)| PartitionExtent {
                topic: topic.to_owned(),
                partition: partition as i32,
                earliest: 0,
                end: *end as i64,
            })
            .collect())
    }

    async fn read(
        &self,
        topic: &str,
        partition: i32,
        from: i64,
        until: i64,
        max_records: usize,
    ) -> Result<Vec<LogRecord>, LogError> {
        let partition = partition_number(partition)?;
        let end = lock_ends(&self.shared).get(topic).and_then(|ends| ends.get(partition as usize)).copied();
        let Some(end) = end else { return Err(LogError::Rejected(format!("no partition {topic}/{partition}"))) };
        let from = u64::try_from(from).unwrap_or(0);
        let to = u64::try_from(until).unwrap_or(0).min(end).min(from.saturating_add(max_records as u64));
        if to <= from {
            return Ok(Vec::new());
        }
        let reads: Vec<(TopicName, u32, u64, u64)> = vec![(topic.to_owned(), partition, from, to)];
        self.blocking(move |shared| shared.read(&reads)).await
    }

    async fn committed(&self, group: &str, topic: &str) -> Result<Vec<GroupPosition>, LogError> {
        let partitions = self.partition_count(topic);
        let (group, topic) = (group.to_owned(), topic.to_owned());
        self.blocking(move |shared| {
            (0..partitions)
                .map(|partition| {
                    let next = shared.committed_next(&group, &topic, partition)?.map(|next| next as i64);
                    Ok(GroupPosition { partition: partition as i32, next })
                })
                .collect()
        })
        .await
    }

    async fn live_members(&self, group: &str) -> Result<usize, LogError> {
        Ok(self.shared.members.lock().unwrap_or_else(PoisonError::into_inner).get(group).copied().unwrap_or(0))
    }

    async fn set_committed(&self, group: &str, next: &[RecordPosition]) -> Result<(), LogError> {
        check_name("group", group)?;
        let mut entries = Vec::with_capacity(next.len());
        for position in next {
            let partition = partition_number(position.partition)?;
            if partition >= self.partition_count(&position.topic) {
                return Err(LogError::Rejected(format!("no partition {}/{partition}", position.topic)));
            }
            let offset = u64::try_from(position.offset)
                .map_err(|_| LogError::Rejected(format!("no offset {} in {}", position.offset, position.topic)))?;
            entries.push((keys::committed_key(group, &position.topic, partition), offset));
        }
        self.blocking(move |shared| {
            let mut batch = shared.database.batch().durability(Some(PersistMode::SyncAll));
            for (key, offset) in entries {
                batch.insert(&shared.committed, key, offset.to_be_bytes());
            }
            batch.commit()
        })
        .await
    }

    async fn offsets_at(&self, topic: &str, _time_ms: i64) -> Result<Vec<RecordPosition>, LogError> {
        Err(LogError::Rejected(format!(
            "the embedded log keeps no append times, so {topic} can't be searched by time: use earliest or latest"
        )))
    }
}
