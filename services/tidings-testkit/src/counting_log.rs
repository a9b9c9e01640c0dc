//! [`CountingLog`]: an [`EventLog`] that counts the records appended through it.

use std::ops::Sub;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use tidings_ports::log::TopicName;
use tidings_ports::{EventLog, LogError, OutgoingRecord, Subscription};

/// What was appended through a [`CountingLog`]; subtract two readings to learn what a
/// phase appended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendCounts {
    /// Records (events) durably appended.
    pub events: u64,
    /// Their keys and payloads, in bytes.
    pub bytes: u64,
}

impl Sub for AppendCounts {
    type Output = AppendCounts;

    fn sub(self, earlier: AppendCounts) -> AppendCounts {
        AppendCounts { events: self.events - earlier.events, bytes: self.bytes - earlier.bytes }
    }
}

/// An [`EventLog`] that counts the records appended through it (by ingest and by the
/// projector's notify signals and dead letters alike), and otherwise passes every call on.
/// Only appends that returned `Ok` count: those are durable.
#[derive(Debug)]
pub struct CountingLog {
    inner: Arc<dyn EventLog>,
    events: AtomicU64,
    bytes: AtomicU64,
}

impl CountingLog {
    pub fn new(inner: Arc<dyn EventLog>) -> Arc<Self> {
        Arc::new(Self { inner, events: AtomicU64::new(0), bytes: AtomicU64::new(0) })
    }

    pub fn appended(&self) -> AppendCounts {
        AppendCounts { events: self.events.load(Ordering::Relaxed), bytes: self.bytes.load(Ordering::Relaxed) }
    }
}

#[async_trait]
impl EventLog for CountingLog {
    async fn append(&self, records: Vec<OutgoingRecord>) -> Result<(), LogError> {
        let events = records.len() as u64;
        let bytes = records.iter().map(|r| (r.key.len() + r.payload.len()) as u64).sum();
        self.inner.append(records).await?;
        self.events.fetch_add(events, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        Ok(())
    }

    async fn subscribe(&self, group: &str, topics: &[TopicName]) -> Result<Box<dyn Subscription>, LogError> {
        self.inner.subscribe(group, topics).await
    }
}
