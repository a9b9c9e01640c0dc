//! Creating topics on first use, and remembering which exist.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tidings_ports::LogError;
use tidings_ports::log::TopicName;
use tracing::{debug, info};

use crate::errors::log_error;
use crate::settings::KafkaSettings;

/// How long the cluster may take to create a topic and to tell its brokers.
const TOPIC_CREATION_TIMEOUT: Duration = Duration::from_secs(30);

/// An existing topic whose retention deletes records a rebuild would need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionFinding {
    pub topic: TopicName,
    pub retention_ms: Option<String>,
    pub retention_bytes: Option<String>,
}

impl std::fmt::Display for RetentionFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unset = || "?".to_owned();
        write!(
            f,
            "topic {} deletes history (retention.ms={}, retention.bytes={}): a rebuild replays it from the \
             beginning; keep it with kafka-configs.sh --alter --entity-type topics --entity-name {} \
             --add-config retention.ms=-1,retention.bytes=-1",
            self.topic,
            self.retention_ms.clone().unwrap_or_else(unset),
            self.retention_bytes.clone().unwrap_or_else(unset),
            self.topic
        )
    }
}

/// Creates missing topics with the configured partitions and replicas, and waits until
/// the cluster's metadata shows them with a leader for every partition, so producers and
/// consumers find them at once.
pub(crate) struct TopicCreator {
    admin: Arc<AdminClient<DefaultClientContext>>,
    partitions: i32,
    replication_factor: i32,
    event_retention_ms: String,
    hint_retention_ms: String,
    /// Topics known to exist; only grows (the adapter never deletes topics).
    known: Mutex<HashSet<TopicName>>,
    /// Topics of hints, created with the short retention; every other topic keeps its
    /// records.
    hints: Mutex<HashSet<TopicName>>,
}

impl std::fmt::Debug for TopicCreator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicCreator")
            .field("partitions", &self.partitions)
            .field("replication_factor", &self.replication_factor)
            .field("known", &self.known.lock().map(|known| known.len()).unwrap_or_default())
            .finish()
    }
}

impl TopicCreator {
    pub(crate) fn new(settings: &KafkaSettings) -> Result<Self, LogError> {
        if settings.partitions < 1 {
            return Err(LogError::Rejected(format!(
                "kafka partitions must be at least 1, not {}",
                settings.partitions
            )));
        }
        if settings.replication_factor < 1 && settings.replication_factor != -1 {
            return Err(LogError::Rejected(format!(
                "kafka replication_factor must be at least 1, or -1 for the broker's default, not {}",
                settings.replication_factor
            )));
        }
        let admin =
            settings.client_config().create().map_err(|error| log_error("create kafka admin client", &error))?;
        Ok(Self {
            admin: Arc::new(admin),
            partitions: settings.partitions,
            replication_factor: settings.replication_factor,
            event_retention_ms: settings.event_retention_ms.to_string(),
            hint_retention_ms: settings.hint_retention_ms.to_string(),
            known: Mutex::new(HashSet::new()),
            hints: Mutex::new(HashSet::new()),
        })
    }

    /// The admin client, also used for watermark queries: its connections are idle, while
    /// a consumer's connection to a partition leader is mostly busy with a fetch long-poll
    /// (`fetch.wait.max.ms`) that requests behind it wait for.
    pub(crate) fn admin(&self) -> &Arc<AdminClient<DefaultClientContext>> {
        &self.admin
    }

    /// Asks the cluster for its metadata: proves it is reachable.
    pub(crate) async fn check_reachable(&self, timeout: Duration) -> Result<(), LogError> {
        let admin = Arc::clone(&self.admin);
        tokio::task::spawn_blocking(move || admin.inner().fetch_metadata(None, timeout).map(drop))
            .await
            .map_err(|error| LogError::Unavailable(format!("metadata request panicked: {error}")))?
            .map_err(|error| log_error("fetch cluster metadata", &error))
    }

    /// Makes sure every topic of `topics` exists, creating the missing ones.
    pub(crate) async fn ensure(&self, topics: impl IntoIterator<Item = &TopicName>) -> Result<(), LogError> {
        let missing: Vec<&TopicName> = {
            let known = self.known.lock().expect("known topics lock");
            let mut missing: Vec<&TopicName> = topics.into_iter().filter(|topic| !known.contains(*topic)).collect();
            missing.sort();
            missing.dedup();
            missing
        };
        if missing.is_empty() {
            return Ok(());
        }
        self.create(&missing).await?;
        for topic in &missing {
            self.wait_until_led(topic).await?;
        }
        self.known.lock().expect("known topics lock").extend(missing.into_iter().cloned());
        Ok(())
    }

    /// Marks `topics` as carrying hints: created with `hint_retention_ms`.
    pub(crate) fn declare_hints(&self, topics: impl IntoIterator<Item = TopicName>) {
        self.hints.lock().expect("hint topics lock").extend(topics);
    }

    async fn create(&self, topics: &[&TopicName]) -> Result<(), LogError> {
        let hints = self.hints.lock().expect("hint topics lock").clone();
        let new_topics: Vec<NewTopic<'_>> = topics
            .iter()
            .map(|topic| {
                let created = NewTopic::new(topic, self.partitions, TopicReplication::Fixed(self.replication_factor));
                match hints.contains(*topic) {
                    true => created.set("retention.ms", &self.hint_retention_ms),
                    false => created.set("retention.ms", &self.event_retention_ms).set("retention.bytes", "-1"),
                }
            })
            .collect();
        let options = AdminOptions::new()
            .operation_timeout(Some(TOPIC_CREATION_TIMEOUT))
            .request_timeout(Some(TOPIC_CREATION_TIMEOUT));
        let results = self
            .admin
            .create_topics(&new_topics, &options)
            .await
            .map_err(|error| log_error("create topics", &error))?;
        for result in results {
            match result {
                Ok(topic) => info!(%topic, partitions = self.partitions, "created kafka topic"),
                Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => debug!(%topic, "kafka topic exists"),
                Err((topic, code)) => {
                    return Err(log_error(&format!("create topic {topic}"), &KafkaError::AdminOp(code)));
                }
            }
        }
        Ok(())
    }

    /// For each existing topic of `topics` whose `retention.ms` or `retention.bytes` is not
    /// `-1`: what it would delete. Topics that do not exist yet are not named.
    pub(crate) async fn retention_findings(&self, topics: &[TopicName]) -> Result<Vec<RetentionFinding>, LogError> {
        let resources: Vec<ResourceSpecifier<'_>> =
            topics.iter().map(|topic| ResourceSpecifier::Topic(topic.as_str())).collect();
        let options = AdminOptions::new().request_timeout(Some(TOPIC_CREATION_TIMEOUT));
        let described = self
            .admin
            .describe_configs(&resources, &options)
            .await
            .map_err(|error| log_error("describe topic configs", &error))?;
        let mut findings = Vec::new();
        for (topic, resource) in topics.iter().zip(described) {
            // A missing topic is created with the adapter's settings when first used.
            let Ok(resource) = resource else { continue };
            let value = |key: &str| resource.get(key).and_then(|entry| entry.value.clone());
            let (ms, bytes) = (value("retention.ms"), value("retention.bytes"));
            if ms.as_deref().is_some_and(|ms| ms != "-1") || bytes.as_deref().is_some_and(|bytes| bytes != "-1") {
                findings.push(RetentionFinding { topic: topic.clone(), retention_ms: ms, retention_bytes: bytes });
            }
        }
        Ok(findings)
    }

    /// Waits until the metadata shows `topic` with a leader for each partition.
    async fn wait_until_led(&self, topic: &str) -> Result<(), LogError> {
        let deadline = Instant::now() + TOPIC_CREATION_TIMEOUT;
        loop {
            let admin = Arc::clone(&self.admin);
            let topic_name = topic.to_owned();
            let led = tokio::task::spawn_blocking(move || -> Result<bool, KafkaError> {
                let metadata = admin.inner().fetch_metadata(Some(&topic_name), Duration::from_secs(5))?;
                Ok(metadata.topics().iter().any(|described| {
                    described.name() == topic_name
                        && described.error().is_none()
                        && !described.partitions().is_empty()
                        && described.partitions().iter().all(|partition| partition.leader() >= 0)
                }))
            })
            .await
            .map_err(|error| LogError::Unavailable(format!("metadata request panicked: {error}")))?
            .map_err(|error| log_error(&format!("fetch metadata of topic {topic}"), &error))?;
            if led {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(LogError::Unavailable(format!(
                    "topic {topic} has no leader for every partition after {TOPIC_CREATION_TIMEOUT:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
