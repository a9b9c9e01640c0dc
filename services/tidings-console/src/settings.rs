//! The `[console]` section of the configuration.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tidings_domain::FieldError;

/// How the operator console serves operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSettings {
    /// Serve `/console/` on the business listener (processes of the ingest role).
    pub enabled: bool,
    /// How long a login lasts; then the operator logs in again.
    #[serde(rename = "session_ttl_ms", with = "serde_with::As::<serde_with::DurationMilliSeconds<u64>>")]
    pub session_ttl: Duration,
    /// Mark the session cookie `Secure` (sent over HTTPS only): set it when the console is
    /// reached through TLS, which is how it should be reached beyond a private network.
    pub secure_cookie: bool,
    /// Login attempts allowed per operator name and minute, in this process; more are
    /// refused until the minute has passed.
    pub login_attempts_per_minute: u32,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            session_ttl: Duration::from_secs(8 * 3600),
            secure_cookie: false,
            login_attempts_per_minute: 10,
        }
    }
}

impl ConsoleSettings {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.session_ttl < Duration::from_secs(1) {
            return Err(FieldError::new("session_ttl_ms", "must be at least 1000"));
        }
        if self.login_attempts_per_minute == 0 {
            return Err(FieldError::new("login_attempts_per_minute", "must be at least 1"));
        }
        Ok(())
    }
}
