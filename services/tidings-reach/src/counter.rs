//! [`ReachCounter`]: where the pull path records reach, cheaply and concurrently, until a
//! flush drains it into [`ReachEvent`]s.
//!
//! The counter is sharded by uid: a record locks one of [`SHARDS`] mutexes, chosen by the
//! uid's hash, so concurrent pulls of different users rarely meet even when they all count
//! the same broadcast (a broadcast storm). Each shard holds its own cell per key; a drain
//! takes every shard's map and merges the cells of equal keys (a union: the result is the
//! same as one sketch would have been).
//!
//! A cell starts as an exact set of uid hashes ([`EXACT_LIMIT`] at most), where a user who
//! pulls again costs one hash-set lookup; past that it becomes a sketch, by then dense,
//! where an insert is one register update. (A sparse sketch would re-sort its list of hash
//! codes every hundred-odd inserts, repeats included: too slow for the pull path.)

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use rustc_hash::FxHashMap;

use tidings_domain::Uid;

use crate::key::{ReachCell, ReachEvent, ReachKey};
use crate::sketch::{PassThrough, ReachSketch, uid_hash};

/// How many independently locked parts the counter has.
pub const SHARDS: usize = 64;

/// The most uid hashes a cell keeps exactly before it becomes a sketch.
pub const EXACT_LIMIT: usize = 8_192;

/// What one shard counted of one key.
#[derive(Debug)]
enum Cell {
    /// The uid hashes, exactly (already well mixed: no hashing again).
    Exact(HashSet<u64, PassThrough>),
    Sketch(ReachSketch),
}

impl Default for Cell {
    fn default() -> Self {
        Cell::Exact(HashSet::with_hasher(PassThrough))
    }
}

impl Cell {
    fn insert(&mut self, hash: u64) {
        match self {
            Cell::Exact(hashes) => {
                if hashes.insert(hash) && hashes.len() > EXACT_LIMIT {
                    let mut sketch = ReachSketch::new();
                    hashes.iter().for_each(|hash| sketch.insert_hash(*hash));
                    *self = Cell::Sketch(sketch);
                }
            }
            Cell::Sketch(sketch) => sketch.insert_hash(hash),
        }
    }

    fn merge_into(self, sketch: &mut ReachSketch) {
        match self {
            Cell::Exact(hashes) => hashes.into_iter().for_each(|hash| sketch.insert_hash(hash)),
            Cell::Sketch(other) => sketch.merge(&other),
        }
    }
}

/// Cells per key, accumulated between flushes. See the module docs.
///
/// The shard maps hash keys with Fx, not SipHash: the lookup is on every pull, and the keys
/// (broadcasts an operator created, a platform, an hour) are few and not a caller's to
/// choose, so there is no flood of colliding keys to resist.
#[derive(Debug)]
pub struct ReachCounter {
    shards: Vec<Mutex<FxHashMap<ReachKey, Cell>>>,
}

impl Default for ReachCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl ReachCounter {
    pub fn new() -> Self {
        Self { shards: (0..SHARDS).map(|_| Mutex::new(FxHashMap::default())).collect() }
    }

    /// Counts `uid` under every key of `keys` (one pull: several broadcasts, one viewer).
    pub fn record(&self, uid: Uid, keys: impl IntoIterator<Item = ReachKey>) {
        let hash = uid_hash(uid);
        let mut keys = keys.into_iter().peekable();
        if keys.peek().is_none() {
            return;
        }
        // The hash's high bits pick the shard; the sketch uses all of them, so a shard holds
        // an unbiased part of the uids.
        let shard = &self.shards[(hash >> 58) as usize % SHARDS];
        let mut sketches = shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for key in keys {
            sketches.entry(key).or_default().insert(hash);
        }
    }

    /// Takes everything counted so far, one event per broadcast, its cells in key order;
    /// the counter is empty afterwards (what is recorded meanwhile goes to the next drain).
    pub fn drain(&self) -> Vec<ReachEvent> {
        let mut merged: BTreeMap<ReachKey, ReachSketch> = BTreeMap::new();
        for shard in &self.shards {
            let taken = std::mem::take(&mut *shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
            for (key, cell) in taken {
                cell.merge_into(merged.entry(key).or_default());
            }
        }
        let mut events: Vec<ReachEvent> = Vec::new();
        for (key, sketch) in merged {
            let cell = ReachCell { kind: key.kind, platform: key.platform, hour: key.hour, sketch: sketch.to_bytes() };
            match events.last_mut() {
                Some(event) if event.app_id == key.app_id && event.broadcast_id == key.broadcast_id => {
                    event.cells.push(cell)
                }
                _ => events.push(ReachEvent { app_id: key.app_id, broadcast_id: key.broadcast_id, cells: vec![cell] }),
            }
        }
        events
    }

    /// Whether nothing was recorded since the last drain.
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|shard| shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).is_empty())
    }
}
