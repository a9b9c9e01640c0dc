//! The two ports' engines, as the configuration names them: the event log (embedded or
//! Kafka) and the store (embedded or a CQL server), and the CQL schema migration.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tidings_embedded::{EmbeddedEngines, EmbeddedSettings};
use tidings_kafka::KafkaLog;
use tidings_ports::log::Topics;
use tidings_ports::{EventLog, Store};
use tidings_scylla::ScyllaStore;
use tracing::{info, warn};

use crate::config::Config;

/// The `[log]` section: which event log, a serde-tagged choice (`provider = ...`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase", deny_unknown_fields)]
pub enum LogConfig {
    /// The embedded durable log in `data_dir`.
    Embedded {
        /// Partitions per topic.
        #[serde(default = "default_partitions")]
        partitions: u32,
    },
    /// Apache Kafka.
    Kafka(tidings_kafka::KafkaSettings),
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig::Embedded { partitions: default_partitions() }
    }
}

fn default_partitions() -> u32 {
    8
}

impl LogConfig {
    /// Partitions of the topics Tidings creates.
    pub fn partitions(&self) -> i64 {
        match self {
            LogConfig::Embedded { partitions } => i64::from(*partitions),
            LogConfig::Kafka(kafka) => i64::from(kafka.partitions),
        }
    }
}

/// The `[store]` section: which store (`provider = ...`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase")]
pub enum StoreConfig {
    /// The embedded durable store in `data_dir`.
    #[default]
    Embedded,
    /// ScyllaDB or Apache Cassandra, over CQL.
    Scylla(tidings_scylla::ScyllaSettings),
}

/// The engines a process works on.
#[derive(Debug, Clone)]
pub struct Engines {
    pub log: Arc<dyn EventLog>,
    pub store: Arc<dyn Store>,
}

impl Engines {
    /// Whether the configuration names an embedded engine: those live inside one process,
    /// so only a process that runs every role may use them.
    pub fn any_embedded(config: &Config) -> bool {
        matches!(config.log, LogConfig::Embedded { .. }) || config.store == StoreConfig::Embedded
    }

    /// Opens (or connects to) the engines the configuration names.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let mut embedded = EmbeddedOpener::new(config);
        let log: Arc<dyn EventLog> = match &config.log {
            LogConfig::Kafka(settings) => {
                let kafka = KafkaLog::connect(settings.clone())
                    .await
                    .with_context(|| format!("connecting to Kafka at {}", settings.bootstrap_servers))?;
                keep_history(&kafka, &Topics::with_prefix(&config.topics.prefix)).await;
                kafka
            }
            LogConfig::Embedded { .. } => embedded.open()?.log.clone(),
        };
        let store: Arc<dyn Store> = match &config.store {
            StoreConfig::Scylla(settings) => ScyllaStore::connect(settings)
                .await
                .with_context(|| format!("connecting to the CQL store at {:?}", settings.nodes))?,
            StoreConfig::Embedded => embedded.open()?.store.clone(),
        };
        Ok(Self { log, store })
    }

    /// Says in words what the store is, e.g. `embedded store (fjall)`.
    pub fn describe_store(config: &Config) -> String {
        match &config.store {
            StoreConfig::Embedded => "embedded store (fjall)".to_owned(),
            StoreConfig::Scylla(scylla) => {
                format!("CQL store at {}", scylla.nodes.join(","))
            }
        }
    }

    /// Says in words what they are, e.g. for a benchmark's report.
    pub fn describe(config: &Config) -> String {
        let log = match &config.log {
            LogConfig::Embedded { partitions } => format!("embedded log ({partitions} partitions)"),
            LogConfig::Kafka(kafka) => {
                format!("Kafka at {} ({} partitions)", kafka.bootstrap_servers, kafka.partitions)
            }
        };
        format!("{log}, {}", Self::describe_store(config))
    }
}

/// Opens (or connects to) the configured store alone, for the commands that work on it
/// without serving (`tidings operator`). An embedded store is refused while a server holds
/// its data directory.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    match &config.store {
        StoreConfig::Scylla(settings) => Ok(ScyllaStore::connect(settings)
            .await
            .with_context(|| format!("connecting to the CQL store at {:?}", settings.nodes))?),
        StoreConfig::Embedded => Ok(EmbeddedOpener::new(config).open()?.store.clone()),
    }
}

/// Declares the notify topic a hint topic (short retention), and warns about every existing
/// event topic whose retention would delete the history a rebuild replays
/// (docs/design.md#recovery-is-replay). A failed check is a warning too: it must not keep a
/// process from starting.
async fn keep_history(kafka: &KafkaLog, topics: &Topics) {
    kafka.declare_hint_topics([topics.notify.clone()]);
    let kept = [topics.mailbox.clone(), topics.broadcast.clone(), topics.reach.clone(), topics.dead_letter.clone()];
    match kafka.retention_findings(&kept).await {
        Ok(findings) => {
            for finding in findings {
                warn!(topic = %finding.topic, "{finding}");
            }
        }
        Err(error) => warn!(%error, "could not check the event topics' retention"),
    }
}

/// Where a data directory keeps its embedded engines' database.
pub(crate) fn embedded_engines_dir(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("engines")
}

/// Opens the embedded database on first use, once, for whichever ports are embedded.
pub(crate) struct EmbeddedOpener {
    dir: PathBuf,
    partitions: u32,
    settings: EmbeddedSettings,
    opened: Option<EmbeddedEngines>,
}

impl EmbeddedOpener {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            dir: embedded_engines_dir(&config.data_dir),
            // A store-only embedded database has no topics: any count does.
            partitions: match config.log {
                LogConfig::Embedded { partitions } => partitions,
                LogConfig::Kafka(_) => 1,
            },
            settings: config.embedded.clone(),
            opened: None,
        }
    }

    pub(crate) fn open(&mut self) -> anyhow::Result<&EmbeddedEngines> {
        let engines = match self.opened.take() {
            Some(engines) => engines,
            None => {
                match EmbeddedEngines::open_with_cache(&self.dir, self.partitions, self.settings.block_cache_bytes()) {
                    Ok(engines) => engines,
                    Err(error) if error.is_locked() => anyhow::bail!(
                        "the embedded engines in {} are in use by another process, a running Tidings server most \
                     likely: stop the server first (only one process may open a data directory)",
                        self.dir.display()
                    ),
                    Err(error) => {
                        return Err(error)
                            .with_context(|| format!("opening the embedded engines in {}", self.dir.display()));
                    }
                }
            }
        };
        Ok(self.opened.insert(engines))
    }
}

/// Applies the CQL schema to the configured store (`tidings schema migrate`).
pub async fn migrate_schema(config: &Config) -> anyhow::Result<()> {
    let StoreConfig::Scylla(settings) = &config.store else {
        anyhow::bail!("the configured store is embedded: it needs no migration (set store.provider = \"scylla\")");
    };
    let session = tidings_scylla::open_session(settings)
        .await
        .with_context(|| format!("connecting to the CQL store at {:?}", settings.nodes))?;
    let report = tidings_scylla::migrate(&session, &settings.keyspace, settings.replication_factor)
        .await
        .with_context(|| format!("migrating keyspace {}", settings.keyspace))?;
    info!(keyspace = %settings.keyspace, ?report, "schema migrated");
    Ok(())
}
