//! A benchmark run's own names on shared engines.

use std::path::{Path, PathBuf};

use anyhow::Context;
use tidings_server::Config;
use tidings_server::engines::{LogConfig, StoreConfig, migrate_schema};

/// The configured engines under names of the run's own, so a benchmark never mixes with a
/// deployment's data, its consumers or an earlier run: embedded engines in a directory of
/// the run's; on Kafka, topics under a fresh prefix and a fresh consumer group (the topics
/// stay: Tidings never deletes topics); on a CQL store, a fresh keyspace, migrated here and
/// dropped by [`BenchNamespace::drop_keyspace`].
#[derive(Debug)]
pub struct BenchNamespace {
    pub config: Config,
}

impl BenchNamespace {
    /// `run` names the run within this process (e.g. its user count).
    pub async fn create(config: &Config, data_dir: &Path, run: &str) -> anyhow::Result<Self> {
        let mut config = config.clone();
        config.data_dir = data_dir.to_path_buf();
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
        let name = format!("bench_{}_{run}", tidings_domain::time::now_s());
        if matches!(config.log, LogConfig::Kafka(_)) {
            config.topics.prefix = format!("{}-{name}", config.topics.prefix);
            config.projector.group = format!("{}-{name}", config.projector.group);
        }
        if let StoreConfig::Scylla(settings) = &mut config.store {
            settings.keyspace = format!("{}_{name}", settings.keyspace);
            migrate_schema(&config).await?;
        }
        Ok(Self { config })
    }

    /// The run's own names as `TIDINGS_*` settings, for the processes it starts.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("TIDINGS_TOPICS__PREFIX".to_owned(), self.config.topics.prefix.clone()),
            ("TIDINGS_PROJECTOR__GROUP".to_owned(), self.config.projector.group.clone()),
        ];
        if let StoreConfig::Scylla(settings) = &self.config.store {
            env.push(("TIDINGS_STORE__KEYSPACE".to_owned(), settings.keyspace.clone()));
        }
        env
    }

    /// The run's topic prefix, group and keyspace, in words.
    pub fn describe(&self) -> String {
        let keyspace = match &self.config.store {
            StoreConfig::Scylla(settings) => format!(", keyspace {}", settings.keyspace),
            StoreConfig::Embedded => String::new(),
        };
        format!("topics {}.*, group {}{keyspace}", self.config.topics.prefix, self.config.projector.group)
    }

    /// Drops the run's keyspace, if it made one.
    pub async fn drop_keyspace(self) -> anyhow::Result<()> {
        if let StoreConfig::Scylla(settings) = &self.config.store {
            let session = tidings_scylla::open_session(settings).await?;
            tidings_scylla::drop_keyspace(&session, &settings.keyspace)
                .await
                .with_context(|| format!("dropping the benchmark's keyspace {}", settings.keyspace))?;
        }
        Ok(())
    }
}

/// A fresh directory under the system's temporary one, removed when dropped unless it was
/// given.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
    keep: bool,
}

impl ScratchDir {
    /// `given` is used (and kept) when set; else a fresh temporary directory.
    pub fn new(given: Option<&Path>) -> anyhow::Result<Self> {
        let (path, keep) = match given {
            Some(path) => (path.to_path_buf(), true),
            None => (
                std::env::temp_dir().join(format!("tidings-bench-{}-{:x}", std::process::id(), rand::random::<u32>())),
                false,
            ),
        };
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self { path, keep })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the directory stays after the run (it was given).
    pub fn keeps(&self) -> bool {
        self.keep
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
