//! One member of a consumer group: [`KafkaSubscription`], and the context that follows its
//! partition assignment through rebalances.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tidings_ports::log::TopicName;
use tidings_ports::{LogError, LogRecord, RecordPosition, Subscription};
use tracing::{debug, info, warn};

use crate::errors::{is_stale_membership, log_error};

/// How long a commit, an offset fetch or a watermark fetch may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

type TopicPartition = (TopicName, i32);

/// The partitions this member holds, each with the rebalance that gave it (its epoch).
///
/// librdkafka serves rebalances inside `recv`, that is inside [`KafkaSubscription::poll`];
/// the subscription reads this between two receipts, so what it sees is what the next
/// record belongs to.
#[derive(Debug, Default)]
pub(crate) struct AssignmentTracker {
    state: Mutex<AssignmentState>,
}

#[derive(Debug, Default)]
struct AssignmentState {
    /// Counts rebalance callbacks; a partition's epoch is the count when it was assigned.
    generation: u64,
    assigned: HashMap<TopicPartition, u64>,
}

impl AssignmentTracker {
    fn generation(&self) -> u64 {
        self.state.lock().expect("assignment lock").generation
    }

    fn epoch_of(&self, topic: &str, partition: i32) -> Option<u64> {
        self.state.lock().expect("assignment lock").assigned.get(&(topic.to_owned(), partition)).copied()
    }

    fn apply(&self, rebalance: &Rebalance<'_>) {
        let mut state = self.state.lock().expect("assignment lock");
        state.generation += 1;
        let generation = state.generation;
        match rebalance {
            Rebalance::Assign(partitions) => {
                for element in partitions.elements() {
                    state.assigned.insert((element.topic().to_owned(), element.partition()), generation);
                }
                info!(partitions = %describe(partitions), "kafka partitions assigned");
            }
            Rebalance::Revoke(partitions) => {
                for element in partitions.elements() {
                    state.assigned.remove(&(element.topic().to_owned(), element.partition()));
                }
                info!(partitions = %describe(partitions), "kafka partitions revoked");
            }
            Rebalance::Error(error) => {
                // librdkafka unassigns everything after a rebalance error.
                state.assigned.clear();
                warn!(%error, "kafka rebalance failed");
            }
        }
    }
}

fn describe(partitions: &TopicPartitionList) -> String {
    partitions
        .elements()
        .iter()
        .map(|element| format!("{}/{}", element.topic(), element.partition()))
        .collect::<Vec<_>>()
        .join(",")
}

/// The consumer's librdkafka context: keeps the [`AssignmentTracker`] up to date.
pub(crate) struct TrackingContext {
    pub(crate) tracker: Arc<AssignmentTracker>,
}

impl ClientContext for TrackingContext {}

impl ConsumerContext for TrackingContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        // Revocations count before librdkafka gives the partitions up.
        if !matches!(rebalance, Rebalance::Assign(_)) {
            self.tracker.apply(rebalance);
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        // Assignments count once librdkafka took them: records of them may follow.
        if matches!(rebalance, Rebalance::Assign(_)) {
            self.tracker.apply(rebalance);
        }
    }
}

/// The offsets of one partition handed out since it was last assigned to this member.
#[derive(Debug, Clone, Copy)]
struct HandedOut {
    epoch: u64,
    first: i64,
    last: i64,
}

/// A member of a Kafka consumer group; see the [crate docs](crate) for its semantics.
pub struct KafkaSubscription {
    /// `None` only while being dropped.
    consumer: Option<Arc<StreamConsumer<TrackingContext>>>,
    tracker: Arc<AssignmentTracker>,
    /// Asks partition leaders for watermarks (see [`crate::topics::TopicCreator::admin`]).
    watermarks: Arc<AdminClient<DefaultClientContext>>,
    group: String,
    topics: Vec<TopicName>,
    handed_out: HashMap<TopicPartition, HandedOut>,
    /// Received in one poll after a rebalance began a new batch: handed out by the next.
    carried_over: VecDeque<LogRecord>,
}

impl std::fmt::Debug for KafkaSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSubscription")
            .field("group", &self.group)
            .field("topics", &self.topics)
            .field("handed_out", &self.handed_out)
            .finish_non_exhaustive()
    }
}

impl KafkaSubscription {
    pub(crate) fn new(
        consumer: StreamConsumer<TrackingContext>,
        tracker: Arc<AssignmentTracker>,
        watermarks: Arc<AdminClient<DefaultClientContext>>,
        group: &str,
        topics: &[TopicName],
    ) -> Self {
        Self {
            consumer: Some(Arc::new(consumer)),
            tracker,
            watermarks,
            group: group.to_owned(),
            topics: topics.to_vec(),
            handed_out: HashMap::new(),
            carried_over: VecDeque::new(),
        }
    }

    fn consumer(&self) -> &Arc<StreamConsumer<TrackingContext>> {
        self.consumer.as_ref().expect("consumer present until drop")
    }

    /// Runs a blocking librdkafka call on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&StreamConsumer<TrackingContext>) -> T + Send + 'static,
    ) -> Result<T, LogError> {
        let consumer = Arc::clone(self.consumer());
        tokio::task::spawn_blocking(move || call(&consumer))
            .await
            .map_err(|error| LogError::Unavailable(format!("kafka consumer call panicked: {error}")))
    }

    fn to_record(message: &BorrowedMessage<'_>) -> LogRecord {
        LogRecord {
            position: RecordPosition {
                topic: message.topic().to_owned(),
                partition: message.partition(),
                offset: message.offset(),
            },
            key: message.key().unwrap_or_default().to_vec(),
            payload: message.payload().unwrap_or_default().to_vec(),
        }
    }

    fn note_handed_out(&mut self, position: &RecordPosition) {
        let Some(epoch) = self.tracker.epoch_of(&position.topic, position.partition) else {
            return;
        };
        let offset = position.offset;
        self.handed_out
            .entry((position.topic.clone(), position.partition))
            .and_modify(|range| {
                if range.epoch == epoch {
                    range.last = range.last.max(offset);
                } else {
                    *range = HandedOut { epoch, first: offset, last: offset };
                }
            })
            .or_insert(HandedOut { epoch, first: offset, last: offset });
    }

    /// The partitions and offsets to commit: for each partition, the offset after its
    /// highest position, unless this member no longer holds the partition or the position
    /// was handed out under an earlier assignment (then the new owner decides).
    fn offsets_to_commit(&self, positions: &[RecordPosition]) -> Result<BTreeMap<TopicPartition, i64>, LogError> {
        let mut highest: BTreeMap<TopicPartition, i64> = BTreeMap::new();
        for position in positions {
            let entry = highest.entry((position.topic.clone(), position.partition)).or_insert(position.offset);
            *entry = (*entry).max(position.offset);
        }
        let mut offsets = BTreeMap::new();
        for ((topic, partition), offset) in highest {
            let current_epoch = self.tracker.epoch_of(&topic, partition);
            let handed_out = self.handed_out.get(&(topic.clone(), partition));
            match (current_epoch, handed_out) {
                (Some(epoch), Some(range)) if range.epoch == epoch && offset >= range.first => {
                    if offset > range.last {
                        return Err(LogError::Rejected(format!(
                            "commit of {topic}/{partition} at offset {offset}, which was never handed out \
                             (last handed out: {})",
                            range.last
                        )));
                    }
                    offsets.insert((topic, partition), offset + 1);
                }
                _ => {
                    debug!(%topic, partition, offset, group = %self.group, "ignoring commit of a partition handed out under an earlier assignment");
                }
            }
        }
        Ok(offsets)
    }
}

#[async_trait]
impl Subscription for KafkaSubscription {
    async fn poll(&mut self, max_records: usize, max_wait: Duration) -> Result<Vec<LogRecord>, LogError> {
        let deadline = tokio::time::Instant::now() + max_wait;
        let mut batch: Vec<LogRecord> = Vec::new();
        while batch.len() < max_records {
            let Some(record) = self.carried_over.pop_front() else { break };
            batch.push(record);
        }
        // The rebalance generation of the batch: a batch never spans a rebalance, so a
        // commit of it refers to one assignment.
        let mut batch_generation = self.tracker.generation();
        let mut last_error: Option<KafkaError> = None;
        while batch.len() < max_records {
            // Waits for the first record; then takes only what is already there.
            let wait_until = if batch.is_empty() { deadline } else { tokio::time::Instant::now() };
            let consumer = Arc::clone(self.consumer());
            let received = match tokio::time::timeout_at(wait_until, consumer.recv()).await {
                Err(_elapsed) => break,
                Ok(Ok(message)) => Self::to_record(&message),
                Ok(Err(error)) => {
                    if let Some((code, reason)) = consumer.client().fatal_error() {
                        return Err(LogError::Corrupt(format!("kafka consumer failed for good: {code}: {reason}")));
                    }
                    match error.rdkafka_error_code() {
                        Some(
                            RDKafkaErrorCode::UnknownTopicOrPartition
                            | RDKafkaErrorCode::UnknownTopic
                            | RDKafkaErrorCode::UnknownPartition,
                        ) => debug!(%error, "kafka consumer does not see a topic yet"),
                        _ => warn!(%error, group = %self.group, "kafka consumer error"),
                    }
                    last_error = Some(error);
                    continue;
                }
            };
            let generation = self.tracker.generation();
            if generation != batch_generation {
                if !batch.is_empty() {
                    self.note_handed_out(&received.position);
                    self.carried_over.push_back(received);
                    break;
                }
                batch_generation = generation;
            }
            self.note_handed_out(&received.position);
            batch.push(received);
        }
        if batch.is_empty()
            && let Some(error) = last_error
        {
            return Err(log_error(&format!("poll consumer group {}", self.group), &error));
        }
        Ok(batch)
    }

    async fn commit(&mut self, positions: &[RecordPosition]) -> Result<(), LogError> {
        let offsets = self.offsets_to_commit(positions)?;
        if offsets.is_empty() {
            return Ok(());
        }
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in &offsets {
            list.add_partition_offset(topic, *partition, Offset::Offset(*offset))
                .map_err(|error| log_error("build commit list", &error))?;
        }
        let committed = self.blocking(move |consumer| consumer.commit(&list, CommitMode::Sync)).await?;
        match committed {
            Ok(()) => Ok(()),
            Err(error) if is_stale_membership(&error) => {
                info!(%error, group = %self.group, "commit ignored: the group is rebalancing these partitions");
                Ok(())
            }
            Err(error) => Err(log_error(&format!("commit consumer group {}", self.group), &error)),
        }
    }

    async fn lag(&mut self) -> Result<u64, LogError> {
        let group = self.group.clone();
        let watermarks = Arc::clone(&self.watermarks);
        self.blocking(move |consumer| -> Result<u64, LogError> {
            let assignment = consumer.assignment().map_err(|error| log_error("read assignment", &error))?;
            if assignment.count() == 0 {
                return Ok(0);
            }
            let committed = consumer
                .committed_offsets(assignment, REQUEST_TIMEOUT)
                .map_err(|error| log_error(&format!("fetch committed offsets of group {group}"), &error))?;
            let mut lag = 0u64;
            for element in committed.elements() {
                let (low, high) = watermarks
                    .inner()
                    .fetch_watermarks(element.topic(), element.partition(), REQUEST_TIMEOUT)
                    .map_err(|error| log_error("fetch watermarks", &error))?;
                let position = match element.offset() {
                    Offset::Offset(offset) => offset,
                    // Never committed: the group starts at the beginning.
                    _ => low,
                };
                lag += u64::try_from(high - position.max(low)).unwrap_or(0);
            }
            Ok(lag)
        })
        .await?
    }
}

impl Drop for KafkaSubscription {
    /// Leaving the group blocks (a round trip to the coordinator); off the async threads
    /// when there are some.
    fn drop(&mut self) {
        let Some(consumer) = self.consumer.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(move || drop(consumer))),
            Err(_) => drop(consumer),
        }
    }
}
