//! Whether two projections reflect the same log positions: the live one (its consumer
//! group's committed offsets) and a rebuilt one (its checkpoints). Comparing them at
//! different positions would report differences that are only events in flight.

use std::collections::BTreeMap;

use tidings_ports::log::TopicName;
use tidings_ports::{LogError, LogHistory, RecordPosition};

/// A partition where the two projections stand at different offsets (`None`: nothing
/// projected there yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionMismatch {
    pub topic: TopicName,
    pub partition: i32,
    pub live: i64,
    pub rebuilt: i64,
}

impl std::fmt::Display for PositionMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}: live at {}, rebuilt at {}", self.topic, self.partition, self.live, self.rebuilt)
    }
}

/// The partitions of `topics` where `group`'s committed offsets differ from `rebuilt`'s
/// checkpoints. Never having committed (or checkpointed) counts as standing at 0.
pub async fn mismatches(
    log: &dyn LogHistory,
    group: &str,
    topics: &[TopicName],
    rebuilt: &[RecordPosition],
) -> Result<Vec<PositionMismatch>, LogError> {
    let rebuilt: BTreeMap<(&str, i32), i64> =
        rebuilt.iter().map(|c| ((c.topic.as_str(), c.partition), c.offset)).collect();
    let mut mismatches = Vec::new();
    for topic in topics {
        for position in log.committed(group, topic).await? {
            let live = position.next.unwrap_or(0);
            let rebuilt = rebuilt.get(&(topic.as_str(), position.partition)).copied().unwrap_or(0);
            if live != rebuilt {
                mismatches.push(PositionMismatch {
                    topic: topic.clone(),
                    partition: position.partition,
                    live,
                    rebuilt,
                });
            }
        }
    }
    Ok(mismatches)
}
