//! The reach projection: each reach event's sketches merged into the stored ones
//! (docs/design.md#reach). A merge is a union, so a redelivered batch or a replay of the
//! whole log leaves every count as it was.

use tidings_ports::StoreError;
use tidings_reach::{ReachKey, ReachSketch};

use crate::telemetry::EVENTS_TOTAL;
use crate::{BatchOutcome, Projector};

impl Projector {
    /// Merges the batch's reach sketches in one store call.
    pub(crate) async fn project_reach(
        &self,
        sketches: Vec<(ReachKey, ReachSketch)>,
        events: usize,
        outcome: &mut BatchOutcome,
    ) -> Result<(), StoreError> {
        if events == 0 {
            return Ok(());
        }
        self.store.merge_reach(&sketches).await?;
        outcome.projected += events;
        metrics::counter!(EVENTS_TOTAL, "topic" => self.topics.reach.clone(), "outcome" => "projected")
            .increment(events as u64);
        Ok(())
    }
}
