//! The ports' conformance suite against the embedded engines, each test on a fresh data
//! directory.

use std::sync::Arc;

use tempfile::TempDir;
use tidings_embedded::{EmbeddedEngines, EmbeddedLog, EmbeddedStore};

/// Partitions per topic: several, so keys spread over partitions.
const PARTITIONS: u32 = 4;

fn engines() -> (EmbeddedEngines, TempDir) {
    let dir = TempDir::new().expect("temporary directory");
    let engines = EmbeddedEngines::open(dir.path(), PARTITIONS).expect("open embedded engines");
    (engines, dir)
}

/// The log with its directory, removed once the check is done.
async fn fresh_log() -> (Arc<EmbeddedLog>, TempDir) {
    let (engines, dir) = engines();
    (engines.log, dir)
}

/// The store with its directory, removed once the check is done.
async fn fresh_store() -> (Arc<EmbeddedStore>, TempDir) {
    let (engines, dir) = engines();
    (engines.store, dir)
}

tidings_ports::event_log_conformance_tests!(fresh_log());
tidings_ports::store_conformance_tests!(fresh_store());
tidings_ports::log_history_conformance_tests!(fresh_log());
tidings_ports::replay_store_conformance_tests!(fresh_store());
tidings_ports::operator_store_conformance_tests!(fresh_store());
tidings_ports::audit_store_conformance_tests!(fresh_store());
