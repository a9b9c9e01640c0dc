//! Configuration: defaults < TOML file < `TIDINGS_*` environment (`__` nests) < CLI flags.
//! `tidings.example.toml` at the repository root documents every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the embedded engines keep their files (and the generated auth secret).
    pub data_dir: PathBuf,
    pub embedded: EmbeddedConfig,
    /// The public API listener.
    pub listen: SocketAddr,
    /// The admin listener: /metrics, /health/live, /health/ready.
    pub admin_listen: SocketAddr,
    pub auth: AuthConfig,
    pub log: LogConfig,
    pub topics: TopicsConfig,
    pub store: StoreConfig,
    pub ingest: IngestConfig,
    pub projector: ProjectorConfig,
    pub puller: PullerConfig,
    pub telemetry: TelemetryConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            embedded: EmbeddedConfig::default(),
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            admin_listen: "127.0.0.1:9090".parse().expect("valid address"),
            auth: AuthConfig::default(),
            log: LogConfig::default(),
            topics: TopicsConfig::default(),
            store: StoreConfig::default(),
            ingest: IngestConfig::default(),
            projector: ProjectorConfig::default(),
            puller: PullerConfig::default(),
            telemetry: TelemetryConfig::default(),
        }
    }
}

/// The embedded engines' database, when the log or the store is embedded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbeddedConfig {
    /// The block cache shared by the embedded log and store, in MiB.
    pub block_cache_mib: u64,
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        Self { block_cache_mib: tidings_embedded::DEFAULT_CACHE_BYTES >> 20 }
    }
}

impl EmbeddedConfig {
    pub fn block_cache_bytes(&self) -> u64 {
        self.block_cache_mib << 20
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// The HS256 secret; empty means: read it from (or generate it into) `<data_dir>/auth.secret`.
    pub secret: String,
    /// Lifetime of tokens minted by `tidings token`.
    pub token_ttl_s: i64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self { secret: String::new(), token_ttl_s: 24 * 3600 }
    }
}

/// The event log engine.
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

/// The topic names: `<prefix>.mailbox`, `<prefix>.broadcast`, `<prefix>.notify`,
/// `<prefix>.dead-letter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicsConfig {
    pub prefix: String,
}

impl Default for TopicsConfig {
    fn default() -> Self {
        Self { prefix: "tidings".into() }
    }
}

/// The store engine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase")]
pub enum StoreConfig {
    /// The embedded durable store in `data_dir`.
    #[default]
    Embedded,
    /// ScyllaDB or Apache Cassandra, over CQL.
    Scylla(tidings_scylla::ScyllaSettings),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    pub max_batch_recipients: usize,
    pub max_content_bytes: usize,
    pub max_whitelist_uids: usize,
    pub projection_wait_ms: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        let defaults = tidings_ingest::IngestSettings::default();
        Self {
            max_batch_recipients: defaults.max_batch_recipients,
            max_content_bytes: defaults.max_content_bytes,
            max_whitelist_uids: defaults.max_whitelist_uids,
            projection_wait_ms: defaults.projection_wait.as_millis() as u64,
        }
    }
}

impl IngestConfig {
    pub fn settings(&self) -> tidings_ingest::IngestSettings {
        tidings_ingest::IngestSettings {
            max_batch_recipients: self.max_batch_recipients,
            max_content_bytes: self.max_content_bytes,
            max_whitelist_uids: self.max_whitelist_uids,
            projection_wait: Duration::from_millis(self.projection_wait_ms),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProjectorConfig {
    pub group: String,
    pub batch_size: usize,
    pub poll_wait_ms: u64,
}

impl Default for ProjectorConfig {
    fn default() -> Self {
        let defaults = tidings_projector::ProjectorSettings::default();
        Self {
            group: defaults.group,
            batch_size: defaults.batch_size,
            poll_wait_ms: defaults.poll_wait.as_millis() as u64,
        }
    }
}

impl ProjectorConfig {
    pub fn settings(&self) -> tidings_projector::ProjectorSettings {
        tidings_projector::ProjectorSettings {
            group: self.group.clone(),
            batch_size: self.batch_size,
            poll_wait: Duration::from_millis(self.poll_wait_ms),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PullerConfig {
    /// How often the public mailbox cache is reloaded from the store.
    pub refresh_interval_ms: u64,
    /// `false` reads the public mailbox from the store on every pull: for debugging and
    /// benchmarks only.
    pub public_cache: bool,
    pub default_limit: usize,
    pub max_limit: usize,
}

impl Default for PullerConfig {
    fn default() -> Self {
        let limits = tidings_http::PullLimits::default();
        Self {
            refresh_interval_ms: 1000,
            public_cache: true,
            default_limit: limits.default_limit,
            max_limit: limits.max_limit,
        }
    }
}

impl PullerConfig {
    pub fn refresh_interval(&self) -> Duration {
        Duration::from_millis(self.refresh_interval_ms)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// `text` for people, `json` for log pipelines.
    pub log_format: LogFormat,
    /// A tracing filter, e.g. `info` or `info,tidings_projector=debug`; `RUST_LOG` wins.
    pub log_filter: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self { log_format: LogFormat::Text, log_filter: "info,fjall=warn,lsm_tree=warn".into() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Values given on the command line, which win over everything else.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_listen: Option<SocketAddr>,
}

impl Config {
    /// Loads the effective configuration.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            anyhow::ensure!(file.exists(), "config file {} does not exist", file.display());
            figment = figment.merge(Toml::file(file));
        }
        let config: Config = figment
            .merge(Env::prefixed("TIDINGS_").split("__").ignore(&["config"]))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|error| anyhow::anyhow!("invalid configuration: {error}"))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.puller.refresh_interval_ms > 0, "puller.refresh_interval_ms must be positive");
        anyhow::ensure!(self.puller.default_limit >= 1, "puller.default_limit must be at least 1");
        anyhow::ensure!(
            self.puller.default_limit <= self.puller.max_limit,
            "puller.default_limit must not exceed puller.max_limit"
        );
        anyhow::ensure!(self.embedded.block_cache_mib >= 1, "embedded.block_cache_mib must be at least 1");
        anyhow::ensure!(self.projector.batch_size >= 1, "projector.batch_size must be at least 1");
        anyhow::ensure!(self.ingest.max_batch_recipients >= 1, "ingest.max_batch_recipients must be at least 1");
        match &self.log {
            LogConfig::Embedded { partitions } => {
                anyhow::ensure!(*partitions >= 1, "log.partitions must be at least 1")
            }
            LogConfig::Kafka(kafka) => anyhow::ensure!(kafka.partitions >= 1, "log.partitions must be at least 1"),
        }
        Ok(())
    }

    /// The configuration as TOML, with the secret hidden.
    pub fn to_redacted_toml(&self) -> anyhow::Result<String> {
        let mut shown = self.clone();
        if !shown.auth.secret.is_empty() {
            shown.auth.secret = "<hidden>".into();
        }
        Ok(toml::to_string_pretty(&shown)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_is_the_defaults() {
        let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tidings.example.toml");
        let from_file: Config = Figment::from(Toml::file(&example)).extract().unwrap();
        assert_eq!(from_file, Config::default());
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail dictates the closure's error type
    fn file_env_and_flags_layer_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("t.toml", "listen = \"127.0.0.1:1\"\n[puller]\nrefresh_interval_ms = 5\n")?;
            jail.set_env("TIDINGS_PULLER__REFRESH_INTERVAL_MS", "7");
            jail.set_env("TIDINGS_ADMIN_LISTEN", "127.0.0.1:3");
            let overrides = Overrides { admin_listen: Some("127.0.0.1:4".parse().unwrap()), ..Default::default() };
            let config = Config::load(Some(Path::new("t.toml")), &overrides).map_err(|e| e.to_string())?;
            assert_eq!(config.listen, "127.0.0.1:1".parse().unwrap());
            assert_eq!(config.puller.refresh_interval_ms, 7);
            assert_eq!(config.admin_listen, "127.0.0.1:4".parse().unwrap());
            Ok(())
        });
    }

    #[test]
    fn secrets_are_hidden_when_printed() {
        let mut config = Config::default();
        config.auth.secret = "s3cret".into();
        let shown = config.to_redacted_toml().unwrap();
        assert!(!shown.contains("s3cret") && shown.contains("<hidden>"));
    }
}
