//! [`LogHistory`] on Kafka: extents from metadata and watermarks, reads by an assigned
//! consumer (no group joined, nothing committed), groups' positions through a consumer of
//! the group that never subscribes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use backon::{ExponentialBuilder, Retryable};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tidings_ports::{GroupPosition, LogError, LogHistory, LogRecord, PartitionExtent, RecordPosition};
use tracing::debug;

use crate::KafkaLog;
use crate::errors::log_error;

/// How long one request (metadata, offsets, a commit) may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a read waits for its first record before it says the log is unavailable.
const FIRST_RECORD_TIMEOUT: Duration = Duration::from_secs(30);

/// A consumer assigned to one partition, and the offset its next record has.
struct PartitionReader {
    consumer: BaseConsumer,
    next: i64,
}

/// The readers of [`KafkaLog`]'s history, one per partition read lately, so a rebuild that
/// reads a partition batch after batch keeps librdkafka's prefetch.
#[derive(Default)]
pub(crate) struct Readers {
    idle: Mutex<HashMap<(String, i32), PartitionReader>>,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").finish_non_exhaustive()
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, LogError> + Send + 'static,
) -> Result<T, LogError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| LogError::Unavailable(format!("kafka history task failed: {error}")))?
}

impl KafkaLog {
    /// A consumer that never subscribes: for assigned reads, or to read and move `group`'s
    /// positions.
    fn standalone_consumer(&self, group: &str) -> Result<BaseConsumer, LogError> {
        let mut config = self.settings.client_config();
        config.set("group.id", group).set("enable.auto.commit", "false").set("enable.partition.eof", "true");
        config.create().map_err(|error| log_error("create kafka consumer", &error))
    }

    fn partition_list(&self, topic: &str, partitions: &[(i32, Offset)]) -> Result<TopicPartitionList, LogError> {
        let mut list = TopicPartitionList::new();
        for (partition, offset) in partitions {
            list.add_partition_offset(topic, *partition, *offset)
                .map_err(|error| log_error("build partition list", &error))?;
        }
        Ok(list)
    }

    async fn partition_numbers(&self, topic: &str) -> Result<Vec<i32>, LogError> {
        Ok(self.partitions(topic).await?.into_iter().map(|extent| extent.partition).collect())
    }
}

/// Reads what `reader` has of `from..until`, at most `max_records`. Blocks.
fn read_partition(
    reader: &mut PartitionReader,
    topic: &str,
    partition: i32,
    until: i64,
    max_records: usize,
) -> Result<Vec<LogRecord>, LogError> {
    let started = Instant::now();
    let mut records = Vec::new();
    while records.len() < max_records && reader.next < until {
        match reader.consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                let offset = message.offset();
                if offset >= until {
                    // Consumed past the range: the next read must seek again.
                    reader.next = i64::MAX;
                    break;
                }
                reader.next = offset + 1;
                records.push(LogRecord {
                    position: RecordPosition { topic: topic.to_owned(), partition, offset },
                    key: message.key().unwrap_or_default().to_vec(),
                    payload: message.payload().unwrap_or_default().to_vec(),
                });
            }
            Some(Err(KafkaError::PartitionEOF(_))) => break,
            Some(Err(error)) => return Err(log_error(&format!("read {topic}/{partition}"), &error)),
            None if !records.is_empty() => break,
            None if started.elapsed() > FIRST_RECORD_TIMEOUT => {
                return Err(LogError::Unavailable(format!(
                    "no record of {topic}/{partition} at offset {} within {FIRST_RECORD_TIMEOUT:?}",
                    reader.next
                )));
            }
            None => {}
        }
    }
    Ok(records)
}

/// How long a listing waits out the leader elections of a topic just created (its
/// partitions answer "not leader" for a moment): a few seconds, then the error stands.
fn settling_policy() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(1))
        .with_max_times(8)
}

impl KafkaLog {
    /// One try at the extents of `topic`'s partitions, in partition order.
    async fn extents_once(&self, topic: &str) -> Result<Vec<PartitionExtent>, LogError> {
        let admin = std::sync::Arc::clone(self.topics.admin());
        let topic = topic.to_owned();
        blocking(move || {
            let metadata = admin
                .inner()
                .fetch_metadata(Some(&topic), REQUEST_TIMEOUT)
                .map_err(|error| log_error(&format!("fetch metadata of {topic}"), &error))?;
            let Some(found) = metadata.topics().iter().find(|found| found.name() == topic) else {
                return Ok(Vec::new());
            };
            if found.error().is_some() {
                // Unknown topic (librdkafka asks without creating it).
                return Ok(Vec::new());
            }
            let mut partitions: Vec<i32> = found.partitions().iter().map(|partition| partition.id()).collect();
            partitions.sort_unstable();
            partitions
                .into_iter()
                .map(|partition| {
                    let (earliest, end) = admin
                        .inner()
                        .fetch_watermarks(&topic, partition, REQUEST_TIMEOUT)
                        .map_err(|error| log_error(&format!("fetch watermarks of {topic}/{partition}"), &error))?;
                    Ok(PartitionExtent { topic: topic.clone(), partition, earliest, end })
                })
                .collect()
        })
        .await
    }
}

#[async_trait]
impl LogHistory for KafkaLog {
    async fn partitions(&self, topic: &str) -> Result<Vec<PartitionExtent>, LogError> {
        (|| self.extents_once(topic))
            .retry(settling_policy())
            .when(LogError::is_retriable)
            .notify(|error, delay| debug!(%error, ?delay, "partition extents not known yet, retrying"))
            .await
    }

    async fn read(
        &self,
        topic: &str,
        partition: i32,
        from: i64,
        until: i64,
        max_records: usize,
    ) -> Result<Vec<LogRecord>, LogError> {
        if from >= until || max_records == 0 {
            return Ok(Vec::new());
        }
        let key = (topic.to_owned(), partition);
        let idle = self.readers.idle.lock().expect("readers lock").remove(&key);
        let mut reader = match idle {
            Some(reader) if reader.next == from => reader,
            _ => {
                let consumer = self.standalone_consumer("tidings-history-reader")?;
                let list = self.partition_list(topic, &[(partition, Offset::Offset(from))])?;
                consumer.assign(&list).map_err(|error| log_error(&format!("assign {topic}/{partition}"), &error))?;
                PartitionReader { consumer, next: from }
            }
        };
        let topic = topic.to_owned();
        let (records, reader) = blocking(move || {
            let records = read_partition(&mut reader, &topic, partition, until, max_records)?;
            Ok((records, reader))
        })
        .await?;
        self.readers.idle.lock().expect("readers lock").insert(key, reader);
        Ok(records)
    }

    async fn committed(&self, group: &str, topic: &str) -> Result<Vec<GroupPosition>, LogError> {
        let partitions = self.partition_numbers(topic).await?;
        if partitions.is_empty() {
            return Ok(Vec::new());
        }
        let consumer = self.standalone_consumer(group)?;
        let list = self.partition_list(topic, &partitions.iter().map(|p| (*p, Offset::Invalid)).collect::<Vec<_>>())?;
        let group = group.to_owned();
        blocking(move || {
            let committed = consumer
                .committed_offsets(list, REQUEST_TIMEOUT)
                .map_err(|error| log_error(&format!("fetch committed offsets of group {group}"), &error))?;
            let mut positions: Vec<GroupPosition> = committed
                .elements()
                .iter()
                .map(|element| GroupPosition {
                    partition: element.partition(),
                    next: match element.offset() {
                        Offset::Offset(offset) => Some(offset),
                        _ => None,
                    },
                })
                .collect();
            positions.sort_by_key(|position| position.partition);
            Ok(positions)
        })
        .await
    }

    async fn live_members(&self, group: &str) -> Result<usize, LogError> {
        let consumer = self.standalone_consumer(group)?;
        let group = group.to_owned();
        blocking(move || {
            let groups = consumer
                .fetch_group_list(Some(&group), REQUEST_TIMEOUT)
                .map_err(|error| log_error(&format!("describe consumer group {group}"), &error))?;
            Ok(groups.groups().iter().filter(|found| found.name() == group).map(|found| found.members().len()).sum())
        })
        .await
    }

    async fn set_committed(&self, group: &str, next: &[RecordPosition]) -> Result<(), LogError> {
        let consumer = self.standalone_consumer(group)?;
        let mut list = TopicPartitionList::new();
        for position in next {
            list.add_partition_offset(&position.topic, position.partition, Offset::Offset(position.offset))
                .map_err(|error| log_error("build commit list", &error))?;
        }
        let group = group.to_owned();
        blocking(move || match consumer.commit(&list, CommitMode::Sync) {
            Ok(()) => Ok(()),
            Err(error) if error.rdkafka_error_code() == Some(RDKafkaErrorCode::UnknownMemberId) => {
                Err(LogError::Rejected(format!("consumer group {group} has live members: stop them first")))
            }
            Err(error) => Err(log_error(&format!("commit offsets of group {group}"), &error)),
        })
        .await
    }

    async fn offsets_at(&self, topic: &str, time_ms: i64) -> Result<Vec<RecordPosition>, LogError> {
        let extents = self.partitions(topic).await?;
        let consumer = self.standalone_consumer("tidings-history-reader")?;
        let list = self.partition_list(
            topic,
            &extents.iter().map(|extent| (extent.partition, Offset::Offset(time_ms))).collect::<Vec<_>>(),
        )?;
        let topic = topic.to_owned();
        blocking(move || {
            let found = consumer
                .offsets_for_times(list, REQUEST_TIMEOUT)
                .map_err(|error| log_error(&format!("look up offsets of {topic} by time"), &error))?;
            let ends: HashMap<i32, i64> = extents.iter().map(|extent| (extent.partition, extent.end)).collect();
            let mut positions: Vec<RecordPosition> = found
                .elements()
                .iter()
                .map(|element| RecordPosition {
                    topic: topic.clone(),
                    partition: element.partition(),
                    offset: match element.offset() {
                        Offset::Offset(offset) => offset,
                        // Nothing appended at or after the time.
                        _ => ends.get(&element.partition()).copied().unwrap_or_default(),
                    },
                })
                .collect();
            positions.sort();
            Ok(positions)
        })
        .await
    }
}
