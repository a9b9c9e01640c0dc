//! The `[gateway]` section of the configuration.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tidings_domain::FieldError;

/// How the gateway holds its connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySettings {
    /// The consumer group of this process's notify feed. Every gateway process reads every
    /// notify, so each has a group of its own: empty (the default) means one named after
    /// the host and the listen address ([`GatewaySettings::for_process`]).
    pub group: String,
    /// How long a new connection has to send its `login` frame (then 4001).
    #[serde(rename = "login_timeout_ms", with = "serde_with::As::<serde_with::DurationMilliSeconds<u64>>")]
    pub login_timeout: Duration,
    /// How often the gateway pings; a connection silent for two of these is closed (4408).
    #[serde(rename = "heartbeat_ms", with = "serde_with::As::<serde_with::DurationMilliSeconds<u64>>")]
    pub heartbeat: Duration,
    /// The reconnect backoff the `welcome` frame tells clients to use, from the least to the
    /// most delay.
    #[serde(rename = "reconnect_min_ms", with = "serde_with::As::<serde_with::DurationMilliSeconds<u64>>")]
    pub reconnect_min: Duration,
    #[serde(rename = "reconnect_max_ms", with = "serde_with::As::<serde_with::DurationMilliSeconds<u64>>")]
    pub reconnect_max: Duration,
    /// The largest frame a client may send (then 4413).
    pub max_frame_bytes: usize,
    /// The most frames a client may send in one second (then 4429).
    pub max_frames_per_second: u32,
    /// The `Origin`s a browser may connect from; empty admits every origin. Tokens travel
    /// in the first frame, never in cookies, so another site's page can't speak for a user
    /// here; list the app's origins anyway to keep other sites' pages off the gateway.
    pub allowed_origins: Vec<String>,
    /// Whether clients may send private chat messages over the socket.
    pub client_sends: bool,
    /// The pull budget of a broadcast wave from this gateway: the most pulls a second its
    /// notifies may bring the pull workers (each notified session pulls once, at a random
    /// moment of `broadcast_pull_within_ms`). The gateway notifies a little slower than
    /// this, so that the randomness of the pull moments keeps every second under it. Keep
    /// the sum over gateways within what the pull workers serve beside everyday traffic.
    pub broadcast_notifies_per_second: u32,
    /// How long after a broadcast notify its client may wait, at random, before pulling.
    #[serde(rename = "broadcast_pull_within_ms", with = "serde_with::As::<serde_with::DurationMilliSeconds<u64>>")]
    pub broadcast_pull_within: Duration,
    /// On shutdown, sessions are closed with 4503 at random moments within this window, so
    /// that their clients reconnect elsewhere spread out rather than all at once.
    #[serde(rename = "drain_window_ms", with = "serde_with::As::<serde_with::DurationMilliSeconds<u64>>")]
    pub drain_window: Duration,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        Self {
            group: String::new(),
            login_timeout: Duration::from_secs(10),
            heartbeat: Duration::from_secs(25),
            reconnect_min: Duration::from_secs(1),
            reconnect_max: Duration::from_secs(60),
            max_frame_bytes: 64 * 1024,
            max_frames_per_second: 50,
            allowed_origins: Vec::new(),
            client_sends: true,
            broadcast_notifies_per_second: 2000,
            broadcast_pull_within: Duration::from_secs(2),
            drain_window: Duration::from_secs(10),
        }
    }
}

impl GatewaySettings {
    /// These settings for the gateway process listening on `listen`: an empty `group`
    /// becomes `tidings-gateway-<host>-<ip>-<port>`, the same across restarts of that
    /// process, different for every process beside it.
    pub fn for_process(mut self, listen: std::net::SocketAddr) -> Self {
        if self.group.is_empty() {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .or_else(|| std::env::var("HOSTNAME").ok())
                .map(|name| name.trim().to_owned())
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| "localhost".into());
            self.group = format!("tidings-gateway-{host}-{}-{}", listen.ip(), listen.port());
        }
        self
    }

    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), FieldError> {
        let positive = [("login_timeout_ms", self.login_timeout), ("heartbeat_ms", self.heartbeat)];
        if let Some((key, _)) = positive.into_iter().find(|(_, value)| value.is_zero()) {
            return Err(FieldError::new(key, "must be positive"));
        }
        if self.reconnect_min > self.reconnect_max {
            return Err(FieldError::new("reconnect_min_ms", "must not exceed reconnect_max_ms"));
        }
        if self.max_frame_bytes < 1024 {
            return Err(FieldError::new("max_frame_bytes", "must be at least 1024"));
        }
        if self.max_frames_per_second < 1 {
            return Err(FieldError::new("max_frames_per_second", "must be at least 1"));
        }
        if self.broadcast_notifies_per_second < 1 {
            return Err(FieldError::new("broadcast_notifies_per_second", "must be at least 1"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gateway_process_gets_a_feed_group_of_its_own_unless_one_is_configured() {
        let [a, b] = ["127.0.0.1:8080", "127.0.0.1:8081"]
            .map(|listen| GatewaySettings::default().for_process(listen.parse().expect("an address")).group);
        assert!(a.starts_with("tidings-gateway-") && a.ends_with("-127.0.0.1-8080"), "{a}");
        assert_ne!(a, b, "two processes side by side");
        let again = GatewaySettings::default().for_process("127.0.0.1:8080".parse().expect("an address")).group;
        assert_eq!(a, again, "the same process after a restart");
        let configured = GatewaySettings { group: "mine".into(), ..Default::default() };
        assert_eq!(configured.for_process("127.0.0.1:8080".parse().expect("an address")).group, "mine");
    }
}
