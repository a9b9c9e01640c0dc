//! Reach sketches on CQL: the `reach` table (migration V003), one partition per broadcast,
//! one row per kind, platform and hour holding the sketch's bytes. Merges read, union and
//! write back; the store's contract has callers serialize merges of one broadcast (the
//! projector's partition ownership), and a repeated merge writes the same bytes. The
//! statements are prepared on first use, so the other roles don't depend on V003.

use std::collections::BTreeMap;

use scylla::statement::prepared::PreparedStatement;
use tidings_domain::{AppId, BroadcastId};
use tidings_ports::StoreError;
use tidings_reach::{ReachKey, ReachSketch};

use crate::error;
use crate::paging::all_rows;
use crate::statements::prepare;
use crate::store::ScyllaStore;

/// The reach statements, prepared on first use.
#[derive(Debug)]
pub(crate) struct ReachStatements {
    read_cell: PreparedStatement,
    write_cell: PreparedStatement,
    read_broadcast: PreparedStatement,
}

impl ReachStatements {
    async fn prepare(store: &ScyllaStore) -> Result<Self, StoreError> {
        let (session, keyspace) = (store.session(), store.keyspace());
        let plain = |text: &str| prepare(session, keyspace, text.to_owned(), None);
        Ok(Self {
            read_cell: plain(
                "SELECT sketch FROM reach WHERE app_id = ? AND broadcast_id = ? AND kind = ? AND platform = ? AND hour = ?",
            )
            .await?,
            write_cell: plain(
                "INSERT INTO reach (app_id, broadcast_id, kind, platform, hour, sketch) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .await?,
            read_broadcast: plain(
                "SELECT kind, platform, hour, sketch FROM reach WHERE app_id = ? AND broadcast_id = ?",
            )
            .await?,
        })
    }
}

type CellRow = (String, String, i64, Vec<u8>);

fn sketch_of(bytes: &[u8]) -> Result<ReachSketch, StoreError> {
    ReachSketch::from_bytes(bytes).map_err(|error| StoreError::Corrupt(format!("stored reach sketch: {error}")))
}

impl ScyllaStore {
    async fn reach_statements(&self) -> Result<&ReachStatements, StoreError> {
        self.reach.get_or_try_init(|| ReachStatements::prepare(self)).await.map_err(|error| match error {
            StoreError::Corrupt(message) => StoreError::Corrupt(format!(
                "{message} (is the keyspace migrated to V003? run `tidings schema migrate`)"
            )),
            other => other,
        })
    }

    pub(crate) async fn merge_reach_cells(&self, sketches: &[(ReachKey, ReachSketch)]) -> Result<(), StoreError> {
        if sketches.is_empty() {
            return Ok(());
        }
        let statements = self.reach_statements().await?;
        let mut merged: BTreeMap<ReachKey, ReachSketch> = BTreeMap::new();
        for (key, sketch) in sketches {
            merged.entry(*key).or_default().merge(sketch);
        }
        for (key, mut sketch) in merged {
            let cell = (key.app_id, key.broadcast_id, key.kind.as_str(), key.platform.as_str(), key.hour);
            let stored: Vec<(Vec<u8>,)> =
                all_rows(self.session(), "read a reach sketch", &statements.read_cell, &cell).await?;
            if let Some((bytes,)) = stored.first() {
                sketch.merge(&sketch_of(bytes)?);
            }
            let (app_id, broadcast_id, kind, platform, hour) = cell;
            self.session()
                .execute_unpaged(
                    &statements.write_cell,
                    (app_id, broadcast_id, kind, platform, hour, sketch.to_bytes()),
                )
                .await
                .map_err(|e| error::execution("write a reach sketch", e))?;
        }
        Ok(())
    }

    pub(crate) async fn reach_cells(
        &self,
        app_id: AppId,
        broadcast_id: BroadcastId,
    ) -> Result<Vec<(ReachKey, ReachSketch)>, StoreError> {
        let statements = self.reach_statements().await?;
        let rows: Vec<CellRow> =
            all_rows(self.session(), "read reach sketches", &statements.read_broadcast, &(app_id, broadcast_id))
                .await?;
        let mut cells = rows
            .into_iter()
            .map(|(kind, platform, hour, bytes)| {
                let corrupt =
                    |what: String| StoreError::Corrupt(format!("reach row of broadcast {broadcast_id}: {what}"));
                let key = ReachKey {
                    app_id,
                    broadcast_id,
                    kind: kind.parse().map_err(corrupt)?,
                    platform: platform
                        .parse()
                        .map_err(|e: tidings_domain::client::UnknownPlatform| corrupt(e.to_string()))?,
                    hour,
                };
                Ok((key, sketch_of(&bytes)?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // The table clusters by text; the port answers in key order.
        cells.sort_by_key(|(key, _)| *key);
        Ok(cells)
    }
}
