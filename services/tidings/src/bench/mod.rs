//! `tidings bench`: measurements printed as tables a person can read, and as JSON.
//!
//! - [`pipeline`] (`tidings bench pipeline`): the hot paths on embedded engines: durable
//!   ingest, projection, merged pulls.
//! - [`broadcast`] (`tidings bench broadcast`): what reaching every user costs by fan-out
//!   on write against the public mailbox, then a pull storm with the public-mailbox cache on
//!   and off, on the engines the configuration names.
//!
//! What they share lives here and in [`report`] (tables, percentiles, JSON, the machine)
//! and [`tidings_ports::metered`] (port decorators that count what goes through them).

pub mod broadcast;
pub mod pipeline;
pub mod report;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::config::{Config, LogConfig, StoreConfig};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Ingest, projection and merged pulls on the configured engines (with --ceilings, beside
    /// the engines' raw rates).
    Pipeline(pipeline::PipelineArgs),
    /// One broadcast to N users by fan-out on write and by the public mailbox, then a pull
    /// storm with the public-mailbox cache on and off; engines from the configuration.
    Broadcast(broadcast::BroadcastArgs),
}

pub async fn run(args: BenchArgs, config_file: Option<&Path>) -> anyhow::Result<()> {
    match args.command {
        BenchCommand::Pipeline(args) => pipeline::run(args, config_file).await,
        BenchCommand::Broadcast(args) => broadcast::run(args, config_file).await,
    }
}

/// A fresh directory under the system's temporary one, removed when dropped unless kept.
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

/// The app every benchmark run writes to (each run has engines or a namespace of its own).
pub const APP: i64 = 1;

/// The configured engines under names of the run's own, so a benchmark never mixes with a
/// deployment's data, its consumers or an earlier run: embedded engines in `data_dir`; on
/// Kafka, topics under a fresh prefix and a fresh consumer group (the topics stay: Tidings
/// never deletes topics); on a CQL store, a fresh keyspace, migrated here and dropped by
/// [`Isolated::finish`].
#[derive(Debug)]
pub struct Isolated {
    pub config: Config,
}

impl Isolated {
    /// `run` names the run within this process (e.g. its user count).
    pub async fn new(config: &Config, data_dir: &Path, run: &str) -> anyhow::Result<Self> {
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
            crate::server::migrate_schema(&config).await?;
        }
        Ok(Self { config })
    }

    /// Drops the run's keyspace, if it made one.
    pub async fn finish(self) -> anyhow::Result<()> {
        if let StoreConfig::Scylla(settings) = &self.config.store {
            let session = tidings_scylla::open_session(settings).await?;
            tidings_scylla::drop_keyspace(&session, &settings.keyspace)
                .await
                .with_context(|| format!("dropping the benchmark's keyspace {}", settings.keyspace))?;
        }
        Ok(())
    }
}

/// What the configuration's engines are, in words.
pub fn describe_engines(config: &Config) -> String {
    let log = match &config.log {
        LogConfig::Embedded { partitions } => format!("embedded log ({partitions} partitions)"),
        LogConfig::Kafka(kafka) => format!("Kafka at {} ({} partitions)", kafka.bootstrap_servers, kafka.partitions),
    };
    let store = match &config.store {
        StoreConfig::Embedded => "embedded store (fjall)".to_owned(),
        StoreConfig::Scylla(scylla) => format!("CQL store at {}", scylla.nodes.join(",")),
    };
    format!("{log}, {store}")
}

/// Fails a wait for the projector once its count of stored rows stops moving for
/// [`StallWatch::TIMEOUT`].
#[derive(Debug)]
pub struct StallWatch {
    last_progress: (u64, Instant),
}

impl StallWatch {
    pub const TIMEOUT: Duration = Duration::from_secs(60);

    /// Starts watching, as of now.
    pub fn start() -> Self {
        Self { last_progress: (0, Instant::now()) }
    }

    /// Notes `done` of `expected` rows; an error when nothing moved for too long.
    pub fn check(&mut self, done: u64, expected: u64) -> anyhow::Result<()> {
        if done > self.last_progress.0 {
            self.last_progress = (done, Instant::now());
        }
        anyhow::ensure!(
            self.last_progress.1.elapsed() < Self::TIMEOUT,
            "the projector made no progress for {:?} at {done} of {expected} rows",
            Self::TIMEOUT
        );
        Ok(())
    }
}

/// Joins workers that each return a count and their latencies; adds them up.
pub async fn join_all(
    mut workers: tokio::task::JoinSet<anyhow::Result<(u64, Vec<Duration>)>>,
) -> anyhow::Result<(u64, Vec<Duration>)> {
    let mut total = 0;
    let mut latencies = Vec::new();
    while let Some(done) = workers.join_next().await {
        let (count, mut more) = done??;
        total += count;
        latencies.append(&mut more);
    }
    Ok((total, latencies))
}

/// Progress bars on stderr (drawn only on a terminal).
pub mod progress {
    use std::time::Duration;

    use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

    /// A bar counting `total` items of `unit`, shown among `bars`.
    pub fn counter(total: u64, label: &str, unit: &str, bars: &MultiProgress) -> ProgressBar {
        let template = format!(
            "{{prefix:>10}} [{{bar:40}}] {{human_pos}}/{{human_len}} {unit} ({{per_sec}}, {{elapsed}}, eta {{eta}})"
        );
        start(bars, ProgressBar::new(total), &template, label)
    }

    /// A bar over a fixed time, with a message (e.g. the running rate), shown among `bars`.
    pub fn timer(duration: Duration, label: &str, bars: &MultiProgress) -> ProgressBar {
        let bar = ProgressBar::new(duration.as_millis() as u64);
        start(bars, bar, "{prefix:>10} [{bar:40}] {elapsed}/{duration} {msg}", label)
    }

    fn start(bars: &MultiProgress, bar: ProgressBar, template: &str, label: &str) -> ProgressBar {
        let bar = bars.add(bar);
        bar.set_style(ProgressStyle::with_template(template).expect("valid template").progress_chars("=> "));
        bar.set_prefix(label.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }
}
