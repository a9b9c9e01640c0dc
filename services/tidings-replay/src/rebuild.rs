//! The rebuild: the projector's own code over the planned records, into the target store,
//! with the target's checkpoint saved after every batch.

use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use futures_util::{StreamExt, TryStreamExt, stream};
use tidings_events::EventCodec;
use tidings_ports::{EventLog, LogError, LogHistory, RecordPosition, ReplayStore, Store, StoreError, Topics};
use tidings_projector::{BatchOutcome, Projector, ProjectorSettings};
use tracing::{debug, warn};

use crate::plan::{PartitionPlan, Plan};

/// How a rebuild reads and projects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildSettings {
    /// Records read, projected and checkpointed at once, per partition.
    pub batch_size: usize,
    /// Partitions rebuilt at once.
    pub parallel: usize,
}

impl Default for RebuildSettings {
    fn default() -> Self {
        Self { batch_size: 2_048, parallel: 4 }
    }
}

/// What a rebuild did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuildReport {
    /// Records read and projected.
    pub records: u64,
    pub projected: u64,
    /// Deliveries whose dedupe key the target already held.
    pub duplicates: u64,
    /// Broadcast events the state refused, as the live projector did.
    pub rejected: u64,
    /// Records that don't decode or break a rule: the live projector dead-lettered them.
    pub invalid: u64,
}

impl RebuildReport {
    fn add(mut self, other: RebuildReport) -> Self {
        self.records += other.records;
        self.projected += other.projected;
        self.duplicates += other.duplicates;
        self.rejected += other.rejected;
        self.invalid += other.invalid;
        self
    }

    fn count(&mut self, records: usize, outcome: &BatchOutcome) {
        self.records += records as u64;
        self.projected += outcome.projected as u64;
        self.duplicates += outcome.duplicates as u64;
        self.rejected += outcome.rejected as u64;
        self.invalid += outcome.dead_letters.len() as u64;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("reading {topic}/{partition} at offset {offset}: {source}")]
    Read { topic: String, partition: i32, offset: i64, source: LogError },
    #[error("projecting {topic}/{partition} from offset {offset}: {source}")]
    Project { topic: String, partition: i32, offset: i64, source: StoreError },
}

/// Retries of one read, projection or checkpoint, from `RETRY_DELAY` on, doubling.
const RETRIES: usize = 5;
const RETRY_DELAY: Duration = Duration::from_millis(200);

/// Runs `plan` from `log` into `target`; `on_records` hears of every projected batch.
pub async fn rebuild(
    log: Arc<dyn LogHistory>,
    target: Arc<dyn ReplayStore>,
    topics: &Topics,
    plan: &Plan,
    settings: &RebuildSettings,
    on_records: &(dyn Fn(u64) + Sync),
) -> Result<RebuildReport, RebuildError> {
    let projector = Projector::new(
        Arc::clone(&log) as Arc<dyn EventLog>,
        Arc::clone(&target) as Arc<dyn Store>,
        EventCodec::new(),
        topics.clone(),
        ProjectorSettings::default(),
    );
    let rebuilding = Rebuilding { log, target, projector, batch_size: settings.batch_size.max(1), on_records };
    stream::iter(plan.partitions.iter().filter(|partition| partition.records() > 0))
        .map(|partition| rebuilding.partition(partition))
        .buffer_unordered(settings.parallel.max(1))
        .try_fold(RebuildReport::default(), |total, report| async move { Ok(total.add(report)) })
        .await
}

struct Rebuilding<'a> {
    log: Arc<dyn LogHistory>,
    target: Arc<dyn ReplayStore>,
    projector: Projector,
    batch_size: usize,
    on_records: &'a (dyn Fn(u64) + Sync),
}

impl Rebuilding<'_> {
    async fn partition(&self, plan: &PartitionPlan) -> Result<RebuildReport, RebuildError> {
        let (topic, partition) = (plan.topic.clone(), plan.partition);
        let started = Instant::now();
        let mut report = RebuildReport::default();
        let mut next = plan.from;
        while next < plan.until {
            let read = || self.log.read(&topic, partition, next, plan.until, self.batch_size);
            let records = with_retries(read, LogError::is_retriable).await.map_err(|source| RebuildError::Read {
                topic: topic.clone(),
                partition,
                offset: next,
                source,
            })?;
            let reached = match records.last() {
                Some(last) => last.position.offset + 1,
                // The rest of the range holds no record (Kafka: transaction markers).
                None => plan.until,
            };
            let outcome = with_retries(|| self.projector.project(&records), StoreError::is_retriable)
                .await
                .map_err(|source| RebuildError::Project { topic: topic.clone(), partition, offset: next, source })?;
            let checkpoint = [RecordPosition { topic: topic.clone(), partition, offset: reached }];
            with_retries(|| self.target.save_replay_checkpoints(&checkpoint), StoreError::is_retriable)
                .await
                .map_err(|source| RebuildError::Project { topic: topic.clone(), partition, offset: next, source })?;
            report.count(records.len(), &outcome);
            (self.on_records)(u64::try_from(reached - next).unwrap_or(0));
            next = reached;
        }
        debug!(topic, partition, records = report.records, elapsed = ?started.elapsed(), "partition rebuilt");
        Ok(report)
    }
}

/// Runs `attempt` again while it fails with a `retriable` error, a few times with backoff:
/// an engine unavailable for a moment should not end a long rebuild (which would resume,
/// but by hand).
async fn with_retries<T, E: std::fmt::Display, F, Fut>(attempt: F, retriable: fn(&E) -> bool) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let policy = ExponentialBuilder::default().with_min_delay(RETRY_DELAY).with_max_times(RETRIES);
    attempt.retry(policy).when(retriable).notify(|error, delay| warn!(%error, ?delay, "retrying")).await
}
