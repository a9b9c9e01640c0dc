//! How the projector consumes, as the configuration gives it.

use std::time::Duration;

/// How the projector consumes: the `[projector]` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProjectorSettings {
    /// The consumer group; every projector instance of a deployment shares it.
    pub group: String,
    /// The most records projected (and committed) at once.
    pub batch_size: usize,
    /// How long a poll waits for records before the loop looks at shutdown again.
    #[serde(rename = "poll_wait_ms", with = "serde_with::As::<serde_with::DurationMilliSeconds<u64>>")]
    pub poll_wait: Duration,
}

impl Default for ProjectorSettings {
    fn default() -> Self {
        Self { group: "tidings-projector".into(), batch_size: 512, poll_wait: Duration::from_millis(200) }
    }
}

impl ProjectorSettings {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), tidings_domain::FieldError> {
        if self.batch_size < 1 {
            return Err(tidings_domain::FieldError::new("batch_size", "must be at least 1"));
        }
        Ok(())
    }
}
