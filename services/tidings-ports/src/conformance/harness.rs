//! What the checks stand on, and adapters' own tests may reuse: the [`Fixture`] a macro's
//! factory yields, fresh names and ids for engines shared between runs, and bounded polls.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::accounts::{AuditStore, OperatorStore};
use crate::history::LogHistory;
use crate::inventory::ReplayStore;
use crate::log::{EventLog, LogRecord, OutgoingRecord, RecordPosition, Subscription};
use crate::store::Store;

/// What a conformance macro's factory yields: the adapter under test, maybe with what must
/// live as long as the check does (`(adapter, guard)`: the guard is dropped after it).
pub trait Fixture<Port: ?Sized> {
    fn adapter(&self) -> Arc<Port>;
}

macro_rules! fixtures_of {
    ($port:ident) => {
        impl<A: $port + 'static> Fixture<dyn $port> for Arc<A> {
            fn adapter(&self) -> Arc<dyn $port> {
                self.clone()
            }
        }

        impl Fixture<dyn $port> for Arc<dyn $port> {
            fn adapter(&self) -> Arc<dyn $port> {
                Arc::clone(self)
            }
        }

        impl<F: Fixture<dyn $port>, Guard> Fixture<dyn $port> for (F, Guard) {
            fn adapter(&self) -> Arc<dyn $port> {
                self.0.adapter()
            }
        }
    };
}

fixtures_of!(EventLog);
fixtures_of!(Store);
fixtures_of!(LogHistory);
fixtures_of!(ReplayStore);
fixtures_of!(OperatorStore);
fixtures_of!(AuditStore);

/// How long a check waits for something the contract says will happen.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A name no other check, test run or process uses, e.g. for a topic or a consumer group:
/// `prefix` followed by time, process and counter; only `[a-z0-9-]` are added.
pub fn unique_name(prefix: &str) -> String {
    let (nanos, process, count) = uniqueness_sources();
    format!("{prefix}-{nanos:x}-{process:x}-{count}")
}

/// A positive id no other check, test run or process uses, e.g. for an `app_id` or a `uid`.
pub fn unique_id() -> i64 {
    let (nanos, process, count) = uniqueness_sources();
    let mixed = splitmix64(nanos ^ splitmix64(process ^ splitmix64(count)));
    // Positive and below 2^62, so ids derived by adding small numbers stay positive.
    (mixed >> 2) as i64
}

fn uniqueness_sources() -> (u64, u64, u64) {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos =
        SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_nanos() as u64).unwrap_or_default();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    (nanos, u64::from(std::process::id()), count)
}

fn splitmix64(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Polls until `wanted` records came or [`PATIENCE`] ran out (then panics, naming `what`).
pub async fn poll_until(subscription: &mut dyn Subscription, wanted: usize, what: &str) -> Vec<LogRecord> {
    let deadline = Instant::now() + PATIENCE;
    let mut received = Vec::new();
    while received.len() < wanted {
        assert!(
            Instant::now() < deadline,
            "{what}: got {} of {wanted} records within {PATIENCE:?}: {received:?}",
            received.len(),
        );
        let batch = subscription.poll(wanted - received.len(), Duration::from_millis(500)).await.expect("poll");
        received.extend(batch);
    }
    received
}

/// Asserts that nothing more comes within a short wait.
pub(super) async fn assert_nothing_more(subscription: &mut dyn Subscription, what: &str) {
    let extra = subscription.poll(100, Duration::from_millis(500)).await.expect("poll");
    assert!(extra.is_empty(), "{what}: unexpected records {extra:?}");
}

/// A record of `topic` under `key`.
pub fn record(topic: &str, key: &str, payload: String) -> OutgoingRecord {
    OutgoingRecord { topic: topic.to_owned(), key: key.as_bytes().to_vec(), payload: payload.into_bytes() }
}

/// The records' payloads, as text.
pub(crate) fn payloads(records: &[LogRecord]) -> Vec<String> {
    records.iter().map(|record| String::from_utf8_lossy(&record.payload).into_owned()).collect()
}

/// The records' positions, e.g. to commit them.
pub fn positions(records: &[LogRecord]) -> Vec<RecordPosition> {
    records.iter().map(|record| record.position.clone()).collect()
}
