//! Copying the log, byte for byte, into another data directory: how a rebuild on the
//! embedded engines starts (docs/design.md#recovery-is-replay). Offsets, partition counts
//! and groups' positions are kept, so the copy is the same log.

use std::path::Path;

use fjall::{KeyspaceCreateOptions, PersistMode};

use super::{COMMITTED_KEYSPACE, EmbeddedLog, RECORDS_KEYSPACE, TOPICS_KEYSPACE, lock_ends, log_error, recover_ends};
use crate::keys;
use tidings_ports::LogError;

/// Records per synced batch of the copy.
const COPY_BATCH: usize = 4_096;

impl EmbeddedLog {
    /// Copies every topic's records this log has and `target_dir` lacks, then every
    /// group's position, into the database in `target_dir` (created when missing; it must
    /// not be open). A copy that was stopped resumes where its target ends. Calls
    /// `on_copied` with the records of each synced batch, and returns how many it copied.
    /// Blocks on the databases.
    pub fn copy_into(&self, target_dir: &Path, on_copied: &mut dyn FnMut(u64)) -> Result<u64, LogError> {
        let failed = |error: fjall::Error| log_error(&error);
        let source = &self.shared;
        let target = crate::open_database(target_dir, crate::DEFAULT_CACHE_BYTES).map_err(failed)?;
        let records = target.keyspace(RECORDS_KEYSPACE, KeyspaceCreateOptions::default).map_err(failed)?;
        let topics = target.keyspace(TOPICS_KEYSPACE, KeyspaceCreateOptions::default).map_err(failed)?;
        let committed = target.keyspace(COMMITTED_KEYSPACE, KeyspaceCreateOptions::default).map_err(failed)?;
        let source_ends = lock_ends(source).clone();

        let mut declared = target.batch().durability(Some(PersistMode::SyncAll));
        for (topic, ends) in &source_ends {
            declared.insert(&topics, topic.as_bytes(), (ends.len() as u32).to_be_bytes());
        }
        declared.commit().map_err(failed)?;
        let target_ends = recover_ends(&records, &topics).map_err(failed)?;

        let mut copied = 0;
        for (topic, ends) in &source_ends {
            for (partition, source_end) in ends.iter().enumerate() {
                let partition = partition as u32;
                let from = target_ends.get(topic).and_then(|ends| ends.get(partition as usize)).copied().unwrap_or(0);
                let range = keys::record_key(topic, partition, from)..keys::record_key(topic, partition, *source_end);
                let mut batch = target.batch().durability(Some(PersistMode::SyncAll));
                let mut in_batch = 0;
                for entry in source.records.range(range) {
                    let (key, value) = entry.into_inner().map_err(failed)?;
                    batch.insert(&records, key, value);
                    in_batch += 1;
                    if in_batch == COPY_BATCH {
                        batch.commit().map_err(failed)?;
                        (copied, in_batch) = (copied + COPY_BATCH as u64, 0);
                        on_copied(COPY_BATCH as u64);
                        batch = target.batch().durability(Some(PersistMode::SyncAll));
                    }
                }
                batch.commit().map_err(failed)?;
                copied += in_batch as u64;
                on_copied(in_batch as u64);
            }
        }

        let mut positions = target.batch().durability(Some(PersistMode::SyncAll));
        for entry in source.committed.iter() {
            let (key, value) = entry.into_inner().map_err(failed)?;
            positions.insert(&committed, key, value);
        }
        positions.commit().map_err(failed)?;
        Ok(copied)
    }
}
