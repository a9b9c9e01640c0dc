//! Moving a consumer group by hand: where it would go (a dry run) and the move, refused
//! while the group has live members (they would overwrite it with their next commit).

use tidings_ports::log::TopicName;
use tidings_ports::{LogError, LogHistory, RecordPosition};

/// Where to move a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetTo {
    /// The first record each partition holds: everything is consumed again.
    Earliest,
    /// The end: everything appended so far is skipped.
    Latest,
    /// The first record appended at or after this time (Unix milliseconds).
    Time(i64),
}

/// One partition's move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetMove {
    pub topic: TopicName,
    pub partition: i32,
    /// The committed next offset now; `None` when the group never committed there.
    pub current: Option<i64>,
    pub target: i64,
}

impl std::fmt::Display for OffsetMove {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let current = self.current.map_or_else(|| "none".to_owned(), |offset| offset.to_string());
        write!(f, "{}/{}: {current} -> {}", self.topic, self.partition, self.target)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("consumer group {group} has {members} live member(s): stop them before moving its offsets")]
    LiveMembers { group: String, members: usize },
    #[error(transparent)]
    Log(#[from] LogError),
}

/// Where `group` would move on every partition of `topics`.
pub async fn plan_reset(
    log: &dyn LogHistory,
    group: &str,
    topics: &[TopicName],
    to: ResetTo,
) -> Result<Vec<OffsetMove>, LogError> {
    let mut moves = Vec::new();
    for topic in topics {
        let committed = log.committed(group, topic).await?;
        let targets: Vec<(i32, i64)> = match to {
            ResetTo::Earliest => log.partitions(topic).await?.iter().map(|e| (e.partition, e.earliest)).collect(),
            ResetTo::Latest => log.partitions(topic).await?.iter().map(|e| (e.partition, e.end)).collect(),
            ResetTo::Time(ms) => log.offsets_at(topic, ms).await?.iter().map(|p| (p.partition, p.offset)).collect(),
        };
        for (partition, target) in targets {
            let current = committed.iter().find(|c| c.partition == partition).and_then(|c| c.next);
            moves.push(OffsetMove { topic: topic.clone(), partition, current, target });
        }
    }
    Ok(moves)
}

/// Moves `group` as `moves` say, unless it has live members.
pub async fn execute_reset(log: &dyn LogHistory, group: &str, moves: &[OffsetMove]) -> Result<(), ResetError> {
    let members = log.live_members(group).await?;
    if members > 0 {
        return Err(ResetError::LiveMembers { group: group.to_owned(), members });
    }
    let next: Vec<RecordPosition> = moves
        .iter()
        .map(|m| RecordPosition { topic: m.topic.clone(), partition: m.partition, offset: m.target })
        .collect();
    Ok(log.set_committed(group, &next).await?)
}
