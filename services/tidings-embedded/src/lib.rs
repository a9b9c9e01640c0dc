//! The embedded engines of all-in-one Tidings: [`EmbeddedLog`] (the [`EventLog`] port, in
//! place of Kafka) and [`EmbeddedStore`] (the [`Store`] port, in place of ScyllaDB), durable
//! on one [fjall] database in one data directory. [`EmbeddedEngines::open`] gives both.
//!
//! # Layout
//!
//! fjall is an LSM-tree key-value store: keyspaces of byte keys kept in byte order, written
//! through one journal. A batch is atomic across keyspaces; every write here is a batch
//! whose journal is synced (`fsync`) before the call returns `Ok`. Integers in keys are
//! big-endian so byte order is numeric order; signed ones (`i64` ids) have their sign bit
//! flipped (written `i64↑` below). Strings inside keys carry a big-endian `u16` length
//! (`str`) so one can't be a prefix of another.
//!
//! | keyspace              | key                                      | value                            |
//! |-----------------------|------------------------------------------|----------------------------------|
//! | `log_topics`          | topic (raw bytes)                        | partition count, `u32`           |
//! | `log_records`         | `str` topic, `u32` partition, `u64` offset | `u32` key length, key, payload |
//! | `log_committed`       | `str` group, `str` topic, `u32` partition | next offset to read, `u64`      |
//! | `store_messages`      | `i64↑` app_id, `i64↑` uid, `i64↑` msg_id | [`StoredMessage`] record JSON    |
//! | `store_deliveries`    | `i64↑` app_id, `i64↑` uid, dedupe key    | msg_id, `i64` big-endian         |
//! | `store_mailboxes`     | `i64↑` app_id, `i64↑` uid                | head, read mark, hidden, attributes (JSON) |
//! | `store_sends`         | `i64↑` app_id, `str` send key, `i64↑` uid | the send's dedupe key (recall index) |
//! | `store_broadcasts`    | `i64↑` app_id, `i64↑` broadcast_id       | [`Broadcast`] record JSON        |
//! | `store_public_states` | `i64↑` app_id                            | [`PublicState`] record JSON      |
//! | `store_replay_checkpoints` | `str` topic, `u32` partition        | next offset to project, `u64`    |
//! | `store_operators`     | `i64↑` app_id, `str` name                | [`Operator`] record JSON          |
//! | `store_audit`         | `i64↑` app_id, `i64↑` at_us, subject, `i32↑` revision | [`AuditEntry`] record JSON |
//!
//! So a partition's records are one key range in offset order, a mailbox's messages one key
//! range in `msg_id` order (read forward or backward), an app's broadcasts one range by id.
//! A partition's end is recovered on open from its last key. The JSON values are records
//! this crate owns (module `records`), shaped like the domain types they hold and pinned
//! by golden tests, so a change to a domain type can't change the bytes on disk.
//!
//! The database occupies its directory: give it one of its own (e.g. `<data-dir>/engines`)
//! and open it once per process; fjall locks it against a second opener.
//!
//! [`EventLog`]: tidings_ports::EventLog
//! [`Store`]: tidings_ports::Store
//! [`StoredMessage`]: tidings_domain::message::StoredMessage
//! [`Broadcast`]: tidings_domain::broadcast::Broadcast
//! [`PublicState`]: tidings_domain::public::PublicState
//! [`Operator`]: tidings_ports::Operator
//! [`AuditEntry`]: tidings_domain::audit::AuditEntry

mod keys;
mod log;
mod records;
mod settings;
mod store;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::log::{EmbeddedLog, EmbeddedSubscription};
pub use crate::settings::EmbeddedSettings;
pub use crate::store::EmbeddedStore;

/// Both embedded engines, on one database.
#[derive(Debug, Clone)]
pub struct EmbeddedEngines {
    pub log: Arc<EmbeddedLog>,
    pub store: Arc<EmbeddedStore>,
}

/// Why the embedded engines did not open.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    #[error("the embedded log needs at least one partition per topic")]
    NoPartitions,
    #[error("cannot open the embedded database in {path}: {source}")]
    Database {
        path: PathBuf,
        #[source]
        source: fjall::Error,
    },
}

impl OpenError {
    /// Whether another opener holds the database: a running server, in another process or
    /// this one.
    pub fn is_locked(&self) -> bool {
        matches!(self, OpenError::Database { source: fjall::Error::Locked, .. })
    }
}

impl EmbeddedEngines {
    /// Opens (or creates) the database in `dir` and both engines on it, recovering what was
    /// written before. New topics get `partitions` partitions.
    pub fn open(dir: &Path, partitions: u32) -> Result<Self, OpenError> {
        Self::open_with_cache(dir, partitions, DEFAULT_CACHE_BYTES)
    }

    /// [`EmbeddedEngines::open`] with a block cache of `cache_bytes` instead of
    /// [`DEFAULT_CACHE_BYTES`].
    pub fn open_with_cache(dir: &Path, partitions: u32, cache_bytes: u64) -> Result<Self, OpenError> {
        if partitions == 0 {
            return Err(OpenError::NoPartitions);
        }
        let failed = |source| OpenError::Database { path: dir.to_path_buf(), source };
        let database = open_database(dir, cache_bytes).map_err(failed)?;
        let store = EmbeddedStore::with_database(database.clone(), dir).map_err(failed)?;
        let log = EmbeddedLog::with_database(database, dir, partitions).map_err(failed)?;
        Ok(Self { log, store: Arc::new(store) })
    }
}

/// The block cache of the database: the most bytes of decoded table blocks kept in memory,
/// shared by the log and the store, taken as data comes. fjall's own default (32 MiB) is
/// small for pulls: a read that misses it goes to the file system (a `pread`, a checksum and
/// an insert into the cache). With 100k mailboxes of one 1 KiB message (140 MiB of tables),
/// first syncs ran at 22k pulls/s on 2 cores with 32 MiB and at 34k/s with 512 MiB, back to
/// back (`tidings-bench broadcast`, BENCHMARKS.md).
pub const DEFAULT_CACHE_BYTES: u64 = 256 * 1024 * 1024;

fn open_database(dir: &Path, cache_bytes: u64) -> fjall::Result<fjall::Database> {
    fjall::Database::builder(dir).cache_size(cache_bytes).open()
}
