//! Planning a rebuild: from the beginning or the target's checkpoints, and refused when the
//! log lost its beginning or a checkpoint lies past the end.

use async_trait::async_trait;
use tidings_ports::{
    EventLog, GroupPosition, LogError, LogHistory, LogRecord, OutgoingRecord, PartitionExtent, RecordPosition,
    Subscription,
};
use tidings_replay::plan::{PlanError, plan};

/// A log whose one topic has fixed extents; it only answers `partitions`.
#[derive(Debug)]
struct Extents(Vec<(i64, i64)>);

const TOPIC: &str = "t.mailbox";

#[async_trait]
impl EventLog for Extents {
    async fn append(&self, _: Vec<OutgoingRecord>) -> Result<(), LogError> {
        Err(LogError::Rejected("read-only".into()))
    }
    async fn subscribe(&self, _: &str, _: &[String]) -> Result<Box<dyn Subscription>, LogError> {
        Err(LogError::Rejected("read-only".into()))
    }
}

#[async_trait]
impl LogHistory for Extents {
    async fn partitions(&self, topic: &str) -> Result<Vec<PartitionExtent>, LogError> {
        Ok(self
            .0
            .iter()
            .enumerate()
            .map(|(partition, (earliest, end))| PartitionExtent {
                topic: topic.to_owned(),
                partition: partition as i32,
                earliest: *earliest,
                end: *end,
            })
            .collect())
    }
    async fn read(&self, _: &str, _: i32, _: i64, _: i64, _: usize) -> Result<Vec<LogRecord>, LogError> {
        Err(LogError::Rejected("not read by plans".into()))
    }
    async fn committed(&self, _: &str, _: &str) -> Result<Vec<GroupPosition>, LogError> {
        Err(LogError::Rejected("not read by plans".into()))
    }
    async fn live_members(&self, _: &str) -> Result<usize, LogError> {
        Ok(0)
    }
    async fn set_committed(&self, _: &str, _: &[RecordPosition]) -> Result<(), LogError> {
        Err(LogError::Rejected("read-only".into()))
    }
    async fn offsets_at(&self, _: &str, _: i64) -> Result<Vec<RecordPosition>, LogError> {
        Err(LogError::Rejected("no times".into()))
    }
}

fn at(partition: i32, offset: i64) -> RecordPosition {
    RecordPosition { topic: TOPIC.into(), partition, offset }
}

#[tokio::test]
async fn a_plan_reads_from_the_beginning_or_from_checkpoints_to_the_end() {
    let log = Extents(vec![(0, 10), (0, 0), (0, 7)]);
    let fresh = plan(&log, &[TOPIC.into()], &[]).await.expect("plan");
    assert_eq!(fresh.records(), 17);
    assert!(fresh.partitions.iter().all(|p| p.from == 0 && !p.resumed));
    let resumed = plan(&log, &[TOPIC.into()], &[at(0, 4), at(2, 7)]).await.expect("plan");
    assert_eq!(resumed.records(), 6);
    assert_eq!(resumed.ends(), [at(0, 10), at(1, 0), at(2, 7)]);
    assert!(resumed.partitions[0].resumed && !resumed.partitions[1].resumed);
}

#[tokio::test]
async fn a_log_that_lost_its_beginning_is_refused_naming_the_partition() {
    let log = Extents(vec![(0, 10), (3, 9)]);
    let refused = plan(&log, &[TOPIC.into()], &[]).await.expect_err("refused");
    assert!(matches!(refused, PlanError::HistoryTruncated { partition: 1, earliest: 3, .. }), "{refused}");
    assert!(refused.to_string().contains("t.mailbox/1 no longer holds its beginning"), "{refused}");
    // A checkpoint past what retention deleted is fine: the rest is still there.
    assert_eq!(plan(&log, &[TOPIC.into()], &[at(1, 5)]).await.expect("plan").records(), 14);
}

#[tokio::test]
async fn a_checkpoint_past_the_end_is_refused() {
    let log = Extents(vec![(0, 10)]);
    let refused = plan(&log, &[TOPIC.into()], &[at(0, 11)]).await.expect_err("refused");
    assert!(matches!(refused, PlanError::CheckpointPastEnd { checkpoint: 11, end: 10, .. }), "{refused}");
}
