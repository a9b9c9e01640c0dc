//! Ingest: validates what callers ask for and appends it to the event log.
//!
//! Nothing is written before validation passes (docs/design.md#bad-input-changes-nothing), and a call returns only once
//! the log has durably accepted its events (docs/design.md#nothing-acknowledged-is-lost). A send to n mailboxes becomes n
//! delivery events, each keyed by its mailbox, appended in one batch. Broadcast commands are
//! checked against the projected state, then appended; the call waits (bounded) for the
//! projection so that an operator's next command sees the result of the last one.

mod attributes;
mod broadcasts;
mod recall;
mod send;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tidings_domain::FieldError;
use tidings_domain::broadcast::IllegalTransition;
use tidings_events::EventCodec;
use tidings_ports::{EventLog, LogError, OutgoingRecord, Store, StoreError, Topics};

pub use broadcasts::{BroadcastApplied, BroadcastDraft, BroadcastPatch, ContentFormatKind, MAX_AUDIT_LIMIT};
pub use recall::{RecallReceipt, SendReference};
pub use send::{SendCommand, SendReceipt};

/// How often a call that waits for the projection reads the store again.
const PROJECTION_POLL: Duration = Duration::from_millis(10);

/// Limits and timings of ingest: the `[ingest]` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSettings {
    /// The most recipients of one batch unicast.
    pub max_batch_recipients: usize,
    /// The most bytes of one message's content.
    pub max_content_bytes: usize,
    /// The most bytes of a msgkey.
    pub max_msgkey_bytes: usize,
    /// The most uids in a whitelist.
    pub max_whitelist_uids: usize,
    /// How long a broadcast command waits for its projection before answering "accepted".
    #[serde(rename = "projection_wait_ms", with = "serde_with::As::<serde_with::DurationMilliSeconds<u64>>")]
    pub projection_wait: Duration,
    /// Business sends a second one app may make over HTTP (429 beyond); 0: no limit.
    pub sends_per_second_per_app: u32,
    /// How many of them may come at once; 0: as many as `sends_per_second_per_app`.
    pub send_burst_per_app: u32,
}

impl Default for IngestSettings {
    fn default() -> Self {
        Self {
            max_batch_recipients: 100,
            max_content_bytes: 64 * 1024,
            max_msgkey_bytes: 128,
            max_whitelist_uids: 10_000,
            projection_wait: Duration::from_secs(5),
            sends_per_second_per_app: 0,
            send_burst_per_app: 0,
        }
    }
}

impl IngestSettings {
    /// Checks values that would make ingest refuse everything; the error names the key.
    pub fn validate(&self) -> Result<(), FieldError> {
        let at_least_one = [
            ("max_batch_recipients", self.max_batch_recipients),
            ("max_content_bytes", self.max_content_bytes),
            ("max_msgkey_bytes", self.max_msgkey_bytes),
        ];
        match at_least_one.into_iter().find(|(_, value)| *value == 0) {
            Some((key, _)) => Err(FieldError::new(key, "must be at least 1")),
            None => Ok(()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The request breaks a rule; nothing was written.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("{0} not found")]
    NotFound(String),
    /// The broadcast's state does not allow the command; nothing was written.
    #[error(transparent)]
    Conflict(#[from] IllegalTransition),
    /// Another change to the same thing was accepted first; this one changed nothing.
    #[error("{0} was changed concurrently by another request; this one changed nothing: read it again and retry")]
    Superseded(String),
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

const REQUESTS_TOTAL: &str = "tidings_ingest_requests_total";
const EVENTS_APPENDED_TOTAL: &str = "tidings_ingest_events_appended_total";

pub fn describe_metrics() {
    metrics::describe_counter!(REQUESTS_TOTAL, "ingest requests, by operation and outcome");
    metrics::describe_counter!(EVENTS_APPENDED_TOTAL, "events durably appended to the log, by topic");
}

/// The ingest service.
#[derive(Debug, Clone)]
pub struct Ingest {
    log: Arc<dyn EventLog>,
    store: Arc<dyn Store>,
    codec: EventCodec,
    topics: Topics,
    settings: IngestSettings,
    broadcast_ids: Arc<MonotonicIds>,
}

impl Ingest {
    pub fn new(
        log: Arc<dyn EventLog>,
        store: Arc<dyn Store>,
        codec: EventCodec,
        topics: Topics,
        settings: IngestSettings,
    ) -> Self {
        Self { log, store, codec, topics, settings, broadcast_ids: Arc::default() }
    }

    pub fn settings(&self) -> &IngestSettings {
        &self.settings
    }

    async fn append(&self, operation: &'static str, records: Vec<OutgoingRecord>) -> Result<(), IngestError> {
        let topic = records.first().map(|r| r.topic.clone()).unwrap_or_default();
        let count = records.len() as u64;
        let result = self.log.append(records).await;
        let outcome = if result.is_ok() { "accepted" } else { "log_error" };
        metrics::counter!(REQUESTS_TOTAL, "operation" => operation, "outcome" => outcome).increment(1);
        if result.is_ok() {
            metrics::counter!(EVENTS_APPENDED_TOTAL, "topic" => topic).increment(count);
        }
        Ok(result?)
    }
}

/// Unix-microsecond ids, strictly increasing within this process.
#[derive(Debug, Default)]
struct MonotonicIds {
    last: AtomicI64,
}

impl MonotonicIds {
    fn next(&self) -> i64 {
        let now = tidings_domain::time::now_us();
        let previous = self
            .last
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| Some(now.max(last + 1)))
            .expect("the update closure always returns Some");
        now.max(previous + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_strictly_increase() {
        let ids = MonotonicIds::default();
        let drawn: Vec<i64> = (0..1000).map(|_| ids.next()).collect();
        assert!(drawn.windows(2).all(|w| w[0] < w[1]));
    }
}
