//! The writer thread: it takes every append queued meanwhile, writes them as one batch,
//! syncs once, and only then acknowledges them and moves the partitions' ends.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use fjall::PersistMode;
use tidings_ports::{LogError, OutgoingRecord};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use super::{LogShared, lock_ends, log_error};
use crate::keys;

/// The most records the writer gathers into one batch and one fsync.
const MAX_RECORDS_PER_SYNC: usize = 16 * 1024;

/// One `append` call, waiting for the writer.
pub(super) struct AppendRequest {
    pub records: Vec<OutgoingRecord>,
    pub acknowledge: oneshot::Sender<Result<(), LogError>>,
}

/// Writes queued appends in groups, one fsync per group, until the queue closes.
pub(super) fn run_writer(shared: &LogShared, mut queued: mpsc::Receiver<AppendRequest>) {
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
