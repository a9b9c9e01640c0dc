//! The engines `tidings replay` works on: the configured (live) ones, and a rebuild's
//! target, a directory of its own on the embedded store or a keyspace of its own on CQL
//! (docs/design.md#recovery-is-replay).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tidings_embedded::{EmbeddedEngines, EmbeddedLog};
use tidings_kafka::KafkaLog;
use tidings_ports::{LogHistory, ReplayStore};
use tidings_scylla::ScyllaStore;

use crate::config::Config;
use crate::engines::{EmbeddedOpener, LogConfig, StoreConfig, embedded_engines_dir};

/// Where a rebuilt projection goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayTarget {
    /// A data directory of its own (embedded store): `--data-dir` of the switched server.
    Directory(PathBuf),
    /// A keyspace of its own (CQL store): `store.keyspace` of the switched servers. The
    /// configured store's settings, with the target's keyspace.
    Keyspace(tidings_scylla::ScyllaSettings),
}

impl ReplayTarget {
    /// The target named `name`, of the kind the configured store takes.
    pub fn named(config: &Config, name: &str) -> anyhow::Result<Self> {
        match &config.store {
            StoreConfig::Embedded => {
                let dir = PathBuf::from(name);
                anyhow::ensure!(
                    dir != config.data_dir,
                    "the target {name} is the live data directory: rebuild into a directory of its own"
                );
                Ok(ReplayTarget::Directory(dir))
            }
            StoreConfig::Scylla(settings) => {
                anyhow::ensure!(
                    tidings_scylla::is_valid_keyspace_name(name),
                    "the target {name:?} is not a keyspace name: use 1 to 48 letters, digits or underscores, starting with a letter"
                );
                anyhow::ensure!(
                    !name.eq_ignore_ascii_case(&settings.keyspace),
                    "the target {name} is the live keyspace: rebuild into a keyspace of its own"
                );
                Ok(ReplayTarget::Keyspace(tidings_scylla::ScyllaSettings {
                    keyspace: name.to_owned(),
                    ..settings.clone()
                }))
            }
        }
    }
}

impl std::fmt::Display for ReplayTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayTarget::Directory(dir) => write!(f, "data directory {}", dir.display()),
            ReplayTarget::Keyspace(settings) => write!(f, "keyspace {}", settings.keyspace),
        }
    }
}

/// The live engines as a replay command needs them.
#[derive(Debug, Clone)]
pub struct LiveEngines {
    pub log: Arc<dyn LogHistory>,
    /// Opened by [`open_live`] only when asked for: a rebuild reads the log alone.
    pub store: Option<Arc<dyn ReplayStore>>,
    /// The embedded log, when the log is embedded: a rebuild copies it into its target.
    embedded_log: Option<Arc<EmbeddedLog>>,
}

/// A rebuild's log (the live one, or on embedded engines the target's copy) and target store.
#[derive(Debug, Clone)]
pub struct TargetEngines {
    pub log: Arc<dyn LogHistory>,
    pub store: Arc<dyn ReplayStore>,
}

/// Opens the configured log, and the configured store when `with_store`. Embedded engines
/// need the server stopped: fjall locks the data directory.
pub async fn open_live(config: &Config, with_store: bool) -> anyhow::Result<LiveEngines> {
    let mut embedded = EmbeddedOpener::new(config);
    let (log, embedded_log): (Arc<dyn LogHistory>, _) = match &config.log {
        LogConfig::Kafka(settings) => (connect_kafka(settings).await?, None),
        LogConfig::Embedded { .. } => {
            let log = embedded.open()?.log.clone();
            (log.clone(), Some(log))
        }
    };
    let store: Option<Arc<dyn ReplayStore>> = match (&config.store, with_store) {
        (_, false) => None,
        (StoreConfig::Scylla(settings), true) => Some(connect_scylla(settings).await?),
        (StoreConfig::Embedded, true) => Some(embedded.open()?.store.clone()),
    };
    Ok(LiveEngines { log, store, embedded_log })
}

/// Opens an existing target, or `None` when there is none yet.
pub async fn open_existing_target(target: &ReplayTarget) -> anyhow::Result<Option<Arc<dyn ReplayStore>>> {
    match target {
        ReplayTarget::Directory(dir) => {
            let dir = embedded_engines_dir(dir);
            if !dir.exists() {
                return Ok(None);
            }
            Ok(Some(open_embedded(&dir, 1)?.store as Arc<dyn ReplayStore>))
        }
        ReplayTarget::Keyspace(settings) => {
            let keyspace = &settings.keyspace;
            let session = tidings_scylla::open_session(settings).await?;
            let exists = session
                .query_unpaged(
                    "SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = ?",
                    (keyspace.to_lowercase(),),
                )
                .await
                .context("looking for the target keyspace")?
                .into_rows_result()
                .context("looking for the target keyspace")?
                .rows_num()
                > 0;
            if !exists {
                return Ok(None);
            }
            Ok(Some(connect_scylla(settings).await?))
        }
    }
}

/// Prepares `target` for a rebuild from `live` and opens it: a target directory gets the
/// live one's generated auth secret; on the embedded log, first copies the log into it (`on_copied` hears of every batch), so the
/// rebuild reads, and the switched server later runs on, a log of its own; on CQL, creates
/// and migrates the keyspace. The returned log is the one the rebuild reads.
pub async fn prepare_target(
    config: &Config,
    live: LiveEngines,
    target: &ReplayTarget,
    on_copied: impl FnMut(u64) + Send + 'static,
) -> anyhow::Result<TargetEngines> {
    match target {
        ReplayTarget::Directory(data_dir) => {
            let dir = embedded_engines_dir(data_dir);
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            crate::auth::carry_generated_secret(&config.data_dir, data_dir)?;
            let Some(source) = live.embedded_log.clone() else {
                // Kafka with an embedded store: only the store lives in the target.
                let store = open_embedded(&dir, 1)?.store;
                return Ok(TargetEngines { log: live.log, store });
            };
            let copy_dir = dir.clone();
            let mut on_copied = on_copied;
            tokio::task::spawn_blocking(move || source.copy_into(&copy_dir, &mut on_copied))
                .await?
                .with_context(|| format!("copying the log into {}", dir.display()))?;
            let partitions = match config.log {
                LogConfig::Embedded { partitions } => partitions,
                LogConfig::Kafka(_) => 1,
            };
            let engines = open_embedded(&dir, partitions)?;
            Ok(TargetEngines { log: engines.log, store: engines.store })
        }
        ReplayTarget::Keyspace(settings) => {
            let session = tidings_scylla::open_session(settings).await?;
            tidings_scylla::migrate(&session, &settings.keyspace, settings.replication_factor)
                .await
                .with_context(|| format!("creating and migrating keyspace {}", settings.keyspace))?;
            Ok(TargetEngines { log: live.log, store: connect_scylla(settings).await? })
        }
    }
}

fn open_embedded(dir: &std::path::Path, partitions: u32) -> anyhow::Result<EmbeddedEngines> {
    EmbeddedEngines::open(dir, partitions).with_context(|| {
        format!("opening the embedded engines in {} (stop the server using them first)", dir.display())
    })
}

async fn connect_kafka(settings: &tidings_kafka::KafkaSettings) -> anyhow::Result<Arc<KafkaLog>> {
    KafkaLog::connect(settings.clone())
        .await
        .with_context(|| format!("connecting to Kafka at {}", settings.bootstrap_servers))
}

async fn connect_scylla(settings: &tidings_scylla::ScyllaSettings) -> anyhow::Result<Arc<ScyllaStore>> {
    ScyllaStore::connect(settings)
        .await
        .with_context(|| format!("connecting to keyspace {} at {:?}", settings.keyspace, settings.nodes))
}
