//! The Apache Kafka adapter of the event log port ([`tidings_ports::EventLog`]), on
//! rdkafka (librdkafka), for the distributed deployment.
//!
//! - [`KafkaSettings`]: the cluster and topic settings, a section of the binary's config.
//! - [`KafkaLog`]: appends with an idempotent producer and creates topics on first use.
//! - [`KafkaSubscription`]: one member of a consumer group, committing by hand.
//!
//! # Appending: durable before `Ok`
//! The producer runs with `enable.idempotence=true` and `acks=all`. [`KafkaLog::append`]
//! hands every record to librdkafka, then awaits every delivery report; it returns `Ok`
//! only when the partition leader reported each record written to all in-sync replicas.
//! Records are keyed, and the producer uses Java's partitioner (`murmur2_random`), so a key
//! lands in one partition, the one a Java client would pick too. Idempotence keeps the
//! order of one partition through librdkafka's own retries. Records that librdkafka could
//! not deliver within `message.timeout.ms` (60 s unless `extra` says otherwise) make
//! `append` fail with [`LogError::Unavailable`], which callers retry; some records of the
//! batch may have been written, as the contract allows.
//!
//! "Durable" is Kafka's kind: written to every in-sync replica, which survives a crash of
//! any broker process, but not fsynced by default. With `replication_factor` 1 (the test
//! broker) a power loss of that machine can lose acknowledged records; production topics
//! want 3 replicas and `min.insync.replicas=2`.
//!
//! # Topics
//! `append` and `subscribe` create the topics they name when missing (`partitions` and
//! `replication_factor` from the settings; an existing topic is kept as it is), wait until
//! every partition has a leader, and remember them. Dead-letter topics are ordinary topics.
//! A created topic keeps its records forever (`retention.ms=-1`, `retention.bytes=-1`: the
//! events are the source of truth a rebuild replays, docs/design.md#recovery-is-replay),
//! unless it was declared a hint topic ([`KafkaLog::declare_hint_topics`]: the notify
//! topic), which gets `hint_retention_ms`. [`KafkaLog::retention_findings`] names existing
//! topics whose retention would delete history.
//!
//! # Consuming: at-least-once, commits by hand
//! A subscription is a consumer in the group with `enable.auto.commit=false`,
//! `enable.auto.offset.store=false` and `auto.offset.reset=earliest`: a new group starts
//! at the beginning, and the group's position moves only by
//! [`Subscription::commit`], which commits, synchronously,
//! the offset after the highest given position of each partition.
//!
//! Joining a group takes a moment (find the coordinator, join, sync: about a second on a
//! single broker, `session.timeout.ms` when a crashed member still holds partitions), so the
//! first polls of a new member may come back empty even when records are waiting.
//!
//! Rebalances move partitions between members. A member records, per partition, the
//! rebalance that gave it the partition and the offsets it handed out since, and one poll
//! never returns records from both sides of a rebalance. A commit for a partition is
//! ignored when the member no longer holds it, or when the position lies below what it
//! handed out since it got the partition (back): there the group's position was set by
//! another member, which a late commit must not rewind. It is also ignored when the
//! coordinator refuses it because the group is rebalancing. In both cases the records are
//! handed out again, so effects must be idempotent. Positions carry no assignment, so a
//! late commit of a partition the member got back is taken when its offset lies within
//! what was handed out again: those records were processed, committing past them
//! rewinds nothing. Committing a position never handed out is rejected.
//!
//! # History
//! [`tidings_ports::LogHistory`] reads partitions with consumers that are assigned them and
//! join no group, one per partition read lately, kept for the next batch. Groups'
//! positions are read and moved by a consumer of the group that never subscribes; Kafka
//! takes such a commit only while the group has no live member.
//!
//! [`Subscription::lag`] is, over the partitions this
//! member holds, the high watermark minus the committed offset (or minus the low watermark
//! when the group never committed).
//!
//! librdkafka's calls that wait on the network (metadata, commits, offsets, watermarks,
//! leaving the group) run on tokio's blocking pool.

mod errors;
mod history;
mod settings;
mod subscription;
mod topics;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use tidings_ports::log::TopicName;
use tidings_ports::{EventLog, LogError, OutgoingRecord, Subscription};
use tracing::warn;

use crate::errors::log_error;
pub use crate::settings::KafkaSettings;
pub use crate::subscription::KafkaSubscription;
use crate::subscription::{AssignmentTracker, TrackingContext};
pub use crate::topics::RetentionFinding;
use crate::topics::TopicCreator;

/// How long [`KafkaLog::connect`] waits for the cluster's first answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The event log on a Kafka cluster; see the [crate docs](crate).
pub struct KafkaLog {
    settings: KafkaSettings,
    /// Replaced when librdkafka reports it failed for good (an idempotence violation).
    producer: Mutex<FutureProducer>,
    topics: TopicCreator,
    readers: history::Readers,
}

impl std::fmt::Debug for KafkaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaLog")
            .field("settings", &self.settings.redacted())
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}

impl KafkaLog {
    /// Creates the clients and checks that the cluster answers; fails with
    /// [`LogError::Unavailable`] when it does not within 10 s, with
    /// [`LogError::Rejected`] when the settings are invalid.
    pub async fn connect(settings: KafkaSettings) -> Result<Arc<KafkaLog>, LogError> {
        let topics = TopicCreator::new(&settings)?;
        topics.check_reachable(CONNECT_TIMEOUT).await.map_err(|error| match error {
            LogError::Unavailable(reason) => {
                LogError::Unavailable(format!("kafka is not reachable at {}: {reason}", settings.bootstrap_servers))
            }
            other => other,
        })?;
        let producer = create_producer(&settings)?;
        Ok(Arc::new(KafkaLog { settings, producer: Mutex::new(producer), topics, readers: Default::default() }))
    }

    /// Declares `topics` as carrying hints nobody replays (the notify topic): when the
    /// adapter creates them, they get `hint_retention_ms`. Every other topic it creates
    /// keeps its records (`event_retention_ms`, `retention.bytes=-1`).
    pub fn declare_hint_topics(&self, topics: impl IntoIterator<Item = TopicName>) {
        self.topics.declare_hints(topics);
    }

    /// The existing topics of `topics` whose retention would delete history a rebuild
    /// needs (anything but `retention.ms=-1` and `retention.bytes=-1`).
    pub async fn retention_findings(&self, topics: &[TopicName]) -> Result<Vec<RetentionFinding>, LogError> {
        self.topics.retention_findings(topics).await
    }

    /// The settings this log was connected with.
    pub fn settings(&self) -> &KafkaSettings {
        &self.settings
    }

    fn producer(&self) -> FutureProducer {
        self.producer.lock().expect("producer lock").clone()
    }

    /// Replaces a producer that failed for good; the next append uses a new one.
    fn replace_producer_if_failed(&self, failed: &FutureProducer) {
        let Some((code, reason)) = failed.client().fatal_error() else { return };
        warn!(%code, %reason, "kafka producer failed for good, creating a new one");
        match create_producer(&self.settings) {
            Ok(producer) => *self.producer.lock().expect("producer lock") = producer,
            Err(error) => warn!(%error, "could not create a new kafka producer"),
        }
    }

    /// Hands one record to librdkafka, waiting while its queue is full.
    async fn enqueue(producer: &FutureProducer, record: &OutgoingRecord) -> Result<DeliveryFuture, KafkaError> {
        loop {
            let future_record = FutureRecord::to(&record.topic).key(&record.key).payload(&record.payload);
            match producer.send_result(future_record) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((error, _)) => return Err(error),
            }
        }
    }
}

fn create_producer(settings: &KafkaSettings) -> Result<FutureProducer, LogError> {
    settings.producer_config().create().map_err(|error| log_error("create kafka producer", &error))
}

#[async_trait]
impl EventLog for KafkaLog {
    async fn append(&self, records: Vec<OutgoingRecord>) -> Result<(), LogError> {
        if records.is_empty() {
            return Ok(());
        }
        self.topics.ensure(records.iter().map(|record| &record.topic)).await?;
        let producer = self.producer();
        let mut deliveries = Vec::with_capacity(records.len());
        let mut first_error: Option<LogError> = None;
        for record in &records {
            match Self::enqueue(&producer, record).await {
                Ok(delivery) => deliveries.push((record, delivery)),
                Err(error) => {
                    first_error = Some(log_error(&format!("append to topic {}", record.topic), &error));
                    break;
                }
            }
        }
        // Every record handed over gets its report, even after a failure, so none is left
        // behind in flight when the caller retries.
        for (record, delivery) in deliveries {
            let outcome = match delivery.await {
                Ok(Ok(_delivered)) => continue,
                Ok(Err((error, _message))) => log_error(&format!("append to topic {}", record.topic), &error),
                Err(_canceled) => LogError::Unavailable(format!("append to topic {}: producer closed", record.topic)),
            };
            first_error.get_or_insert(outcome);
        }
        match first_error {
            None => Ok(()),
            Some(error) => {
                self.replace_producer_if_failed(&producer);
                Err(error)
            }
        }
    }

    async fn subscribe(&self, group: &str, topics: &[TopicName]) -> Result<Box<dyn Subscription>, LogError> {
        self.topics.ensure(topics).await?;
        let tracker = Arc::new(AssignmentTracker::default());
        let context = TrackingContext { tracker: Arc::clone(&tracker) };
        let consumer: StreamConsumer<TrackingContext> = self
            .settings
            .consumer_config(group)
            .create_with_context(context)
            .map_err(|error| log_error("create kafka consumer", &error))?;
        let topic_names: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer
            .subscribe(&topic_names)
            .map_err(|error| log_error(&format!("subscribe group {group} to {topics:?}"), &error))?;
        Ok(Box::new(KafkaSubscription::new(consumer, tracker, Arc::clone(self.topics.admin()), group, topics)))
    }
}
