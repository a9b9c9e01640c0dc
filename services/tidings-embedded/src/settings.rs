//! The `[embedded]` section of the configuration.

use serde::{Deserialize, Serialize};

use crate::DEFAULT_CACHE_BYTES;

/// The embedded engines' database, when the log or the store is embedded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbeddedSettings {
    /// The block cache shared by the embedded log and store, in MiB.
    pub block_cache_mib: u64,
}

impl Default for EmbeddedSettings {
    fn default() -> Self {
        Self { block_cache_mib: DEFAULT_CACHE_BYTES >> 20 }
    }
}

impl EmbeddedSettings {
    pub fn block_cache_bytes(&self) -> u64 {
        self.block_cache_mib << 20
    }
}
