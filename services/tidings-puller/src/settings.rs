//! The `[puller]` section of the configuration.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tidings_domain::FieldError;

use crate::CacheMode;

/// How pull workers serve pulls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PullerSettings {
    /// How often the public mailbox cache is reloaded from the store: the bound of public
    /// mailbox freshness (docs/design.md#public-mailbox-freshness).
    #[serde(rename = "refresh_interval_ms", with = "serde_with::As::<serde_with::DurationMilliSeconds<u64>>")]
    pub refresh_interval: Duration,
    /// `false` reads the public mailbox from the store on every pull: for debugging and
    /// benchmarks only.
    pub public_cache: bool,
    /// Messages per pull when the client asks for no number.
    pub default_limit: usize,
    /// The most messages a client may ask for in one pull.
    pub max_limit: usize,
    /// Count reach per broadcast (docs/design.md#reach): users it was delivered to and read
    /// by, in sketches flushed to the reach topic.
    pub reach_counting: bool,
    /// How often a pull worker appends what it counted of reach (and once more at shutdown):
    /// the delay before a broadcast's reach shows what happened.
    #[serde(rename = "reach_flush_interval_ms", with = "serde_with::As::<serde_with::DurationMilliSeconds<u64>>")]
    pub reach_flush_interval: Duration,
}

impl Default for PullerSettings {
    fn default() -> Self {
        let limits = PageLimits::default();
        Self {
            refresh_interval: Duration::from_secs(1),
            public_cache: true,
            default_limit: limits.default_limit,
            max_limit: limits.max_limit,
            reach_counting: true,
            reach_flush_interval: Duration::from_secs(10),
        }
    }
}

impl PullerSettings {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.refresh_interval.is_zero() {
            return Err(FieldError::new("refresh_interval_ms", "must be positive"));
        }
        if self.reach_flush_interval.is_zero() {
            return Err(FieldError::new("reach_flush_interval_ms", "must be positive"));
        }
        if self.default_limit < 1 {
            return Err(FieldError::new("default_limit", "must be at least 1"));
        }
        if self.default_limit > self.max_limit {
            return Err(FieldError::new("default_limit", "must not exceed max_limit"));
        }
        Ok(())
    }

    pub fn cache_mode(&self) -> CacheMode {
        if self.public_cache { CacheMode::Cached } else { CacheMode::Bypass }
    }

    pub fn page_limits(&self) -> PageLimits {
        PageLimits { default_limit: self.default_limit, max_limit: self.max_limit }
    }
}

/// How many messages one pull may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimits {
    /// When the client asks for no number.
    pub default_limit: usize,
    /// The most a client may ask for.
    pub max_limit: usize,
}

impl Default for PageLimits {
    fn default() -> Self {
        Self { default_limit: 50, max_limit: 200 }
    }
}
