//! Reach sketches in the `store_reach` keyspace: one value per [`ReachKey`], the sketch's
//! bytes, under `app_id, broadcast_id, kind, platform, hour` (byte order = key order).

use std::collections::BTreeMap;
use std::sync::PoisonError;

use fjall::{PersistMode, Readable};
use tidings_domain::{AppId, BroadcastId};
use tidings_ports::StoreError;
use tidings_reach::{ReachKey, ReachKind, ReachPlatform, ReachSketch};

use super::{StoreInner, from_fjall};
use crate::keys::{broadcast_key, i64_from_sortable, sortable_i64};

fn reach_key(key: &ReachKey) -> Vec<u8> {
    let mut bytes = broadcast_key(key.app_id, key.broadcast_id);
    bytes.push(ReachKind::ALL.iter().position(|kind| *kind == key.kind).expect("in ALL") as u8);
    bytes.push(ReachPlatform::ALL.iter().position(|platform| *platform == key.platform).expect("in ALL") as u8);
    bytes.extend_from_slice(&sortable_i64(key.hour));
    bytes
}

fn key_of(bytes: &[u8]) -> Option<ReachKey> {
    let (app, rest) = bytes.split_first_chunk::<8>()?;
    let (broadcast, rest) = rest.split_first_chunk::<8>()?;
    let ([kind, platform], hour) = rest.split_first_chunk::<2>()?;
    Some(ReachKey {
        app_id: i64_from_sortable(*app),
        broadcast_id: i64_from_sortable(*broadcast),
        kind: *ReachKind::ALL.get(usize::from(*kind))?,
        platform: *ReachPlatform::ALL.get(usize::from(*platform))?,
        hour: i64_from_sortable(hour.try_into().ok()?),
    })
}

fn sketch_of(bytes: &[u8]) -> Result<ReachSketch, StoreError> {
    ReachSketch::from_bytes(bytes).map_err(|error| StoreError::Corrupt(format!("stored reach sketch: {error}")))
}

impl StoreInner {
    /// Read, merge and write back in one synced batch, under a lock so concurrent calls
    /// can't lose each other's merges.
    pub(super) fn merge_reach(&self, sketches: &[(ReachKey, ReachSketch)]) -> Result<(), StoreError> {
        let _writing = self.reach_writes.lock().unwrap_or_else(PoisonError::into_inner);
        let snapshot = self.database.snapshot();
        let mut merged: BTreeMap<Vec<u8>, ReachSketch> = BTreeMap::new();
        for (key, sketch) in sketches {
            let bytes = reach_key(key);
            if !merged.contains_key(&bytes) {
                let stored = snapshot.get(&self.reach, &bytes).map_err(from_fjall)?;
                let stored = stored.map(|value| sketch_of(&value)).transpose()?.unwrap_or_default();
                merged.insert(bytes.clone(), stored);
            }
            merged.get_mut(&bytes).expect("inserted above").merge(sketch);
        }
        let mut batch = self.database.batch().durability(Some(PersistMode::SyncAll));
        for (key, sketch) in merged {
            batch.insert(&self.reach, key, sketch.to_bytes());
        }
        batch.commit().map_err(from_fjall)
    }

    pub(super) fn reach(
        &self,
        app_id: AppId,
        broadcast_id: BroadcastId,
    ) -> Result<Vec<(ReachKey, ReachSketch)>, StoreError> {
        let snapshot = self.database.snapshot();
        snapshot
            .prefix(&self.reach, broadcast_key(app_id, broadcast_id))
            .map(|entry| {
                let (key, value) = entry.into_inner().map_err(from_fjall)?;
                let key = key_of(&key).ok_or_else(|| StoreError::Corrupt("undecodable reach key".into()))?;
                Ok((key, sketch_of(&value)?))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reach_keys_round_trip_and_sort_like_reach_keys() {
        let mut keys = Vec::new();
        for kind in ReachKind::ALL {
            for platform in ReachPlatform::ALL {
                for hour in [-3, 0, 470_000] {
                    keys.push(ReachKey { app_id: 3, broadcast_id: -1, kind, platform, hour });
                }
            }
        }
        for key in &keys {
            assert_eq!(key_of(&reach_key(key)), Some(*key));
        }
        let mut by_bytes = keys.clone();
        by_bytes.sort_by_key(reach_key);
        keys.sort();
        assert_eq!(by_bytes, keys);
        assert_eq!(key_of(&[0; 17]), None);
    }
}
