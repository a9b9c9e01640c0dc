//! The configuration: defaults < TOML file < `TIDINGS_*` environment (`__` nests) < flags.
//!
//! Each section is declared by the crate that uses it (`[ingest]` by tidings-ingest,
//! `[puller]` by tidings-puller, `[log]`'s Kafka keys by tidings-kafka, ...) with its
//! defaults and checks, and composed here, so a new setting is configurable the moment it
//! exists. `tidings.example.toml` at the repository root documents every key; a test keeps
//! it equal to the defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use tidings_console::ConsoleSettings;
use tidings_domain::FieldError;
use tidings_embedded::EmbeddedSettings;
use tidings_gateway::GatewaySettings;
use tidings_ingest::IngestSettings;
use tidings_projector::ProjectorSettings;
use tidings_puller::PullerSettings;

use crate::auth::AuthConfig;
use crate::engines::{LogConfig, StoreConfig};
use crate::listener::ListenerSettings;
use crate::telemetry::TelemetryConfig;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the embedded engines keep their files (and the generated auth secret).
    pub data_dir: PathBuf,
    pub embedded: EmbeddedSettings,
    /// The public API listener.
    pub listen: SocketAddr,
    /// The admin listener: /metrics, /health/live, /health/ready.
    pub admin_listen: SocketAddr,
    pub listeners: ListenerSettings,
    pub auth: AuthConfig,
    pub log: LogConfig,
    pub topics: TopicsConfig,
    pub store: StoreConfig,
    pub ingest: IngestSettings,
    pub projector: ProjectorSettings,
    pub puller: PullerSettings,
    pub gateway: GatewaySettings,
    pub console: ConsoleSettings,
    pub telemetry: TelemetryConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            embedded: EmbeddedSettings::default(),
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            admin_listen: "127.0.0.1:9090".parse().expect("valid address"),
            listeners: ListenerSettings::default(),
            auth: AuthConfig::default(),
            log: LogConfig::default(),
            topics: TopicsConfig::default(),
            store: StoreConfig::default(),
            ingest: IngestSettings::default(),
            projector: ProjectorSettings::default(),
            puller: PullerSettings::default(),
            gateway: GatewaySettings::default(),
            console: ConsoleSettings::default(),
            telemetry: TelemetryConfig::default(),
        }
    }
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
        let in_section =
            |section: &str, error: FieldError| anyhow::anyhow!("{section}.{} {}", error.field, error.reason);
        self.puller.validate().map_err(|e| in_section("puller", e))?;
        self.ingest.validate().map_err(|e| in_section("ingest", e))?;
        self.projector.validate().map_err(|e| in_section("projector", e))?;
        self.gateway.validate().map_err(|e| in_section("gateway", e))?;
        self.console.validate().map_err(|e| in_section("console", e))?;
        self.listeners.validate().map_err(|e| in_section("listeners", e))?;
        anyhow::ensure!(self.embedded.block_cache_mib >= 1, "embedded.block_cache_mib must be at least 1");
        anyhow::ensure!(self.log.partitions() >= 1, "log.partitions must be at least 1");
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
            assert_eq!(config.puller.refresh_interval, std::time::Duration::from_millis(7));
            assert_eq!(config.admin_listen, "127.0.0.1:4".parse().unwrap());
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail dictates the closure's error type
    fn every_service_setting_is_configurable() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TIDINGS_INGEST__MAX_MSGKEY_BYTES", "64");
            jail.set_env("TIDINGS_PROJECTOR__POLL_WAIT_MS", "50");
            jail.set_env("TIDINGS_CONSOLE__SESSION_TTL_MS", "60000");
            jail.set_env("TIDINGS_PULLER__REACH_FLUSH_INTERVAL_MS", "250");
            jail.set_env("TIDINGS_PULLER__REACH_COUNTING", "false");
            let config = Config::load(None, &Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.console.session_ttl, std::time::Duration::from_secs(60));
            assert_eq!(config.puller.reach_flush_interval, std::time::Duration::from_millis(250));
            assert!(!config.puller.reach_counting);
            assert_eq!(config.ingest.max_msgkey_bytes, 64);
            assert_eq!(config.projector.poll_wait, std::time::Duration::from_millis(50));
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail dictates the closure's error type
    fn invalid_values_are_refused_naming_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TIDINGS_PULLER__DEFAULT_LIMIT", "500");
            let error = Config::load(None, &Overrides::default()).unwrap_err().to_string();
            assert!(error.contains("puller.default_limit"), "{error}");
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
