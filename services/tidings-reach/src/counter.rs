//! [`ReachCounter`]: where the pull path records reach, cheaply and concurrently, until a
//! flush drains it into [`ReachEvent`]s.
//!
//! The counter is sharded by uid: a record locks one of [`SHARDS`] mutexes, chosen by the
//! uid's hash, so concurrent pulls of different users rarely meet even when they all count
//! the same broadcast (a broadcast storm). Each shard holds its own sketch per key; a drain
//! takes every shard's map and merges the sketches of equal keys (a union: the result is
//! the same as one sketch would have been).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use tidings_domain::Uid;

use crate::key::{ReachCell, ReachEvent, ReachKey};
use crate::sketch::{ReachSketch, uid_hash};

/// How many independently locked parts the counter has.
pub const SHARDS: usize = 64;

/// Sketches per key, accumulated between flushes. See the module docs.
#[derive(Debug)]
pub struct ReachCounter {
    shards: Vec<Mutex<HashMap<ReachKey, ReachSketch>>>,
}

impl Default for ReachCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl ReachCounter {
    pub fn new() -> Self {
        Self { shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect() }
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
            sketches.entry(key).or_default().insert_hash(hash);
        }
    }

    /// Takes everything counted so far, one event per broadcast, its cells in key order;
    /// the counter is empty afterwards (what is recorded meanwhile goes to the next drain).
    pub fn drain(&self) -> Vec<ReachEvent> {
        let mut merged: BTreeMap<ReachKey, ReachSketch> = BTreeMap::new();
        for shard in &self.shards {
            let taken = std::mem::take(&mut *shard.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
            for (key, sketch) in taken {
                match merged.entry(key) {
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        slot.insert(sketch);
                    }
                    std::collections::btree_map::Entry::Occupied(mut slot) => slot.get_mut().merge(&sketch),
                }
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
