//! What a rebuild would read: per partition, from the target's checkpoint (or the
//! beginning) to the log's end now.

use std::collections::HashMap;

use tidings_ports::log::TopicName;
use tidings_ports::{LogError, LogHistory, RecordPosition};

/// Records read per partition to estimate the bytes of a plan.
const SIZE_SAMPLE: usize = 200;

/// One partition's share of a rebuild: offsets `from..until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionPlan {
    pub topic: TopicName,
    pub partition: i32,
    /// The target's checkpoint, or the beginning of the log.
    pub from: i64,
    /// The log's end when planned: the rebuild stops there.
    pub until: i64,
    /// Whether `from` is a checkpoint the target saved (a resumed rebuild).
    pub resumed: bool,
}

impl PartitionPlan {
    pub fn records(&self) -> u64 {
        u64::try_from(self.until - self.from).unwrap_or(0)
    }
}

/// A rebuild's reading plan, partition by partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub partitions: Vec<PartitionPlan>,
}

impl Plan {
    pub fn records(&self) -> u64 {
        self.partitions.iter().map(PartitionPlan::records).sum()
    }

    /// Where the plan ends, as checkpoints: what a finished rebuild has saved.
    pub fn ends(&self) -> Vec<RecordPosition> {
        self.partitions
            .iter()
            .map(|p| RecordPosition { topic: p.topic.clone(), partition: p.partition, offset: p.until })
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(
        "{topic}/{partition} no longer holds its beginning: its first record is at offset {earliest}, so a rebuild \
         would miss offsets 0..{earliest}. Retention deleted them; a rebuild needs topics created with \
         retention.ms=-1 (log.event_retention_ms) from the start"
    )]
    HistoryTruncated { topic: TopicName, partition: i32, earliest: i64 },
    #[error(
        "the target's checkpoint of {topic}/{partition} is at offset {checkpoint}, past the log's end {end}: \
         it was rebuilt from another log"
    )]
    CheckpointPastEnd { topic: TopicName, partition: i32, checkpoint: i64, end: i64 },
    #[error(transparent)]
    Log(#[from] LogError),
}

/// Plans a rebuild of `topics` from `log`, resuming from `checkpoints` (the target's).
pub async fn plan(
    log: &dyn LogHistory,
    topics: &[TopicName],
    checkpoints: &[RecordPosition],
) -> Result<Plan, PlanError> {
    let saved: HashMap<(&str, i32), i64> =
        checkpoints.iter().map(|c| ((c.topic.as_str(), c.partition), c.offset)).collect();
    let mut partitions = Vec::new();
    for topic in topics {
        for extent in log.partitions(topic).await? {
            let checkpoint = saved.get(&(topic.as_str(), extent.partition)).copied();
            let from = checkpoint.unwrap_or(0);
            if from < extent.earliest {
                return Err(PlanError::HistoryTruncated {
                    topic: topic.clone(),
                    partition: extent.partition,
                    earliest: extent.earliest,
                });
            }
            if from > extent.end {
                return Err(PlanError::CheckpointPastEnd {
                    topic: topic.clone(),
                    partition: extent.partition,
                    checkpoint: from,
                    end: extent.end,
                });
            }
            partitions.push(PartitionPlan {
                topic: topic.clone(),
                partition: extent.partition,
                from,
                until: extent.end,
                resumed: checkpoint.is_some(),
            });
        }
    }
    Ok(Plan { partitions })
}

/// The bytes of a partition's planned records, estimated from the first few (exact when
/// it has no more than those).
pub async fn estimated_bytes(log: &dyn LogHistory, partition: &PartitionPlan) -> Result<u64, LogError> {
    if partition.records() == 0 {
        return Ok(0);
    }
    let sample = log.read(&partition.topic, partition.partition, partition.from, partition.until, SIZE_SAMPLE).await?;
    if sample.is_empty() {
        return Ok(0);
    }
    let sampled: u64 = sample.iter().map(|record| (record.key.len() + record.payload.len()) as u64).sum();
    Ok(sampled * partition.records() / sample.len() as u64)
}
