//! How to reach the CQL cluster: the part of the binary's config that names it.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use scylla::statement::Consistency;
use serde::{Deserialize, Serialize};

/// Where the store lives and how it talks to it. Every field has a default, so a config
/// may name only what differs (`nodes` and `keyspace`, typically).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScyllaSettings {
    /// Contact points, `host:port`; the driver discovers the rest of the cluster.
    pub nodes: Vec<String>,
    /// The keyspace holding Tidings' tables; `migrate` creates it.
    pub keyspace: String,
    /// Replication factor of the keyspace when `migrate` creates it (SimpleStrategy). An
    /// existing keyspace is left as it is.
    pub replication_factor: u32,
    /// Consistency level of every read and write.
    pub consistency: ConsistencyLevel,
    /// How long connecting to one node may take.
    pub connect_timeout_ms: u64,
    /// How long one request may take, retries included, before it fails as unavailable.
    pub request_timeout_ms: u64,
}

impl Default for ScyllaSettings {
    fn default() -> Self {
        Self {
            nodes: vec!["127.0.0.1:9042".to_owned()],
            keyspace: "tidings".to_owned(),
            replication_factor: 1,
            consistency: ConsistencyLevel::LocalQuorum,
            connect_timeout_ms: 5_000,
            request_timeout_ms: 12_000,
        }
    }
}

impl ScyllaSettings {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

/// A CQL consistency level, written in config as its CQL name in any case
/// (`local_quorum`, `LOCAL_QUORUM`, `one`, ...).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ConsistencyLevel {
    Any,
    One,
    Two,
    Three,
    Quorum,
    All,
    #[default]
    LocalQuorum,
    EachQuorum,
    LocalOne,
}

impl ConsistencyLevel {
    const ALL: [ConsistencyLevel; 9] = [
        ConsistencyLevel::Any,
        ConsistencyLevel::One,
        ConsistencyLevel::Two,
        ConsistencyLevel::Three,
        ConsistencyLevel::Quorum,
        ConsistencyLevel::All,
        ConsistencyLevel::LocalQuorum,
        ConsistencyLevel::EachQuorum,
        ConsistencyLevel::LocalOne,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            ConsistencyLevel::Any => "any",
            ConsistencyLevel::One => "one",
            ConsistencyLevel::Two => "two",
            ConsistencyLevel::Three => "three",
            ConsistencyLevel::Quorum => "quorum",
            ConsistencyLevel::All => "all",
            ConsistencyLevel::LocalQuorum => "local_quorum",
            ConsistencyLevel::EachQuorum => "each_quorum",
            ConsistencyLevel::LocalOne => "local_one",
        }
    }

    /// The driver's value.
    pub fn to_driver(self) -> Consistency {
        match self {
            ConsistencyLevel::Any => Consistency::Any,
            ConsistencyLevel::One => Consistency::One,
            ConsistencyLevel::Two => Consistency::Two,
            ConsistencyLevel::Three => Consistency::Three,
            ConsistencyLevel::Quorum => Consistency::Quorum,
            ConsistencyLevel::All => Consistency::All,
            ConsistencyLevel::LocalQuorum => Consistency::LocalQuorum,
            ConsistencyLevel::EachQuorum => Consistency::EachQuorum,
            ConsistencyLevel::LocalOne => Consistency::LocalOne,
        }
    }
}

impl fmt::Display for ConsistencyLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A consistency level name that isn't one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown consistency level {0:?}: expected one of any, one, two, three, quorum, all, local_quorum, each_quorum, local_one"
)]
pub struct UnknownConsistencyLevel(String);

impl FromStr for ConsistencyLevel {
    type Err = UnknownConsistencyLevel;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let wanted = name.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|level| level.as_str() == wanted)
            .ok_or_else(|| UnknownConsistencyLevel(name.to_owned()))
    }
}

impl TryFrom<String> for ConsistencyLevel {
    type Error = UnknownConsistencyLevel;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        name.parse()
    }
}

impl From<ConsistencyLevel> for String {
    fn from(level: ConsistencyLevel) -> Self {
        level.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consistency_levels_parse_in_any_case_and_round_trip() {
        assert_eq!("LOCAL_QUORUM".parse::<ConsistencyLevel>(), Ok(ConsistencyLevel::LocalQuorum));
        assert_eq!(" one ".parse::<ConsistencyLevel>(), Ok(ConsistencyLevel::One));
        for level in ConsistencyLevel::ALL {
            assert_eq!(level.as_str().parse::<ConsistencyLevel>(), Ok(level));
        }
        assert!("local-quorum".parse::<ConsistencyLevel>().is_err());
    }

    #[test]
    fn settings_take_defaults_for_what_a_config_leaves_out() {
        let settings: ScyllaSettings =
            serde_json::from_str(r#"{"keyspace": "prod", "consistency": "QUORUM"}"#).expect("settings");
        assert_eq!(
            settings,
            ScyllaSettings {
                keyspace: "prod".into(),
                consistency: ConsistencyLevel::Quorum,
                ..ScyllaSettings::default()
            }
        );
        let error = serde_json::from_str::<ScyllaSettings>(r#"{"consistency": "most"}"#).unwrap_err();
        assert!(error.to_string().contains("unknown consistency level"), "{error}");
        let round_trip: ScyllaSettings =
            serde_json::from_str(&serde_json::to_string(&settings).expect("serialize")).expect("deserialize");
        assert_eq!(round_trip, settings);
    }
}
