//! The public projection: broadcast events folded, in log order, into each app's public
//! mailbox (its broadcasts, whitelist and public sequence), and each accepted event's entry
//! in the audit trail.

use std::collections::{BTreeMap, HashMap};

use tidings_domain::audit::AuditEntry;
use tidings_domain::broadcast::Broadcast;
use tidings_domain::event::{BroadcastChange, BroadcastEvent, NotifySignal};
use tidings_domain::public::{PublicState, apply_broadcast_event};
use tidings_domain::{AppId, BroadcastId, PublicSeq};
use tidings_ports::StoreError;
use tracing::info;

use crate::telemetry::EVENTS_TOTAL;
use crate::{BatchOutcome, Projector};

impl Projector {
    /// Folds the batch's broadcast events one by one, each written to the store as it is
    /// applied; an event the state rejects (already applied, or lost a race) changes
    /// nothing. Signals each app whose public sequence moved.
    pub(crate) async fn project_broadcast_events(
        &self,
        events: &[BroadcastEvent],
        outcome: &mut BatchOutcome,
    ) -> Result<(), StoreError> {
        let mut states: HashMap<AppId, PublicState> = HashMap::new();
        let mut broadcasts: HashMap<(AppId, BroadcastId), Option<Broadcast>> = HashMap::new();
        let mut public_seqs: BTreeMap<AppId, (PublicSeq, PublicSeq)> = BTreeMap::new();
        let topic = self.topics.broadcast.clone();
        for event in events {
            let app_id = event.app_id;
            let state = match states.get(&app_id) {
                Some(state) => state.clone(),
                None => self.store.public_state(app_id).await?,
            };
            let broadcast_id = changed_broadcast(&event.change);
            let current = match broadcast_id {
                Some(id) => match broadcasts.get(&(app_id, id)) {
                    Some(known) => known.clone(),
                    None => self.store.broadcast(app_id, id).await?,
                },
                None => None,
            };
            match apply_broadcast_event(current.as_ref(), &state, event) {
                Ok(effect) => {
                    // The entry first: should the change's write fail or the process die,
                    // the redelivered event is accepted again and writes the same entry.
                    self.store.record_audit(&AuditEntry::of(event)).await?;
                    self.store.apply_public_change(app_id, effect.broadcast.as_ref(), &effect.state).await?;
                    public_seqs.entry(app_id).or_insert((state.last_seq, state.last_seq)).1 = effect.state.last_seq;
                    if let Some(broadcast) = effect.broadcast {
                        broadcasts.insert((app_id, broadcast.broadcast_id), Some(broadcast));
                    }
                    states.insert(app_id, effect.state);
                    outcome.projected += 1;
                    metrics::counter!(EVENTS_TOTAL, "topic" => topic.clone(), "outcome" => "projected").increment(1);
                }
                Err(rejection) => {
                    // A redelivered event, or two operators racing: ingest checked the
                    // transition against the state it saw, the log decides who was first.
                    info!(app_id, ?broadcast_id, %rejection, "broadcast event changes nothing");
                    states.insert(app_id, state);
                    if let Some(id) = broadcast_id {
                        broadcasts.insert((app_id, id), current);
                    }
                    outcome.rejected += 1;
                    metrics::counter!(EVENTS_TOTAL, "topic" => topic.clone(), "outcome" => "rejected").increment(1);
                }
            }
        }
        outcome.notify.extend(
            public_seqs
                .into_iter()
                .filter(|(_, (before, after))| after > before)
                .map(|(app_id, (_, seq))| NotifySignal::Public { app_id, seq }),
        );
        Ok(())
    }
}

fn changed_broadcast(change: &BroadcastChange) -> Option<BroadcastId> {
    match change {
        BroadcastChange::Created { broadcast_id, .. }
        | BroadcastChange::Modified { broadcast_id, .. }
        | BroadcastChange::Lifecycle { broadcast_id, .. } => Some(*broadcast_id),
        BroadcastChange::WhitelistReplaced { .. } => None,
    }
}
