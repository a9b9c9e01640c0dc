//! An app's public mailbox: its visible broadcasts and whitelist, and what a viewer sees.

use std::collections::{BTreeMap, BTreeSet};

use crate::broadcast::{Broadcast, BroadcastState, IllegalTransition};
use crate::client::Viewer;
use crate::event::{BroadcastChange, BroadcastEvent};
use crate::sync::{MailboxEntry, Source};
use crate::{AppId, BroadcastId, PublicSeq, Uid};

/// The app's pre-publication testers, each with the position at which they joined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Whitelist {
    pub members: BTreeMap<Uid, PublicSeq>,
}

impl Whitelist {
    pub fn uids(&self) -> Vec<Uid> {
        self.members.keys().copied().collect()
    }
}

/// The per-app state that the broadcast projection folds besides the broadcasts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicState {
    pub last_seq: PublicSeq,
    pub whitelist: Whitelist,
    /// Starts at 0; every applied whitelist replacement adds one.
    pub whitelist_revision: i32,
}

/// What applying one broadcast event changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastEffect {
    /// The broadcast as it is after the event, when the event touched one.
    pub broadcast: Option<Broadcast>,
    pub state: PublicState,
}

/// Why a broadcast event changes nothing. The projector logs these and goes on: they come
/// from a redelivered event or from two operators racing on one broadcast.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("broadcast {0} does not exist")]
    Missing(BroadcastId),
    #[error("broadcast {0} exists already")]
    Exists(BroadcastId),
    #[error("a change to revision {got} does not follow revision {current}")]
    StaleRevision { current: i32, got: i32 },
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
}

/// Folds one broadcast event into the public mailbox. Every change names the revision it
/// creates, so applying an event again (after a crash before the offset commit, or a
/// replay) is rejected and changes nothing, and so is the loser of two racing commands.
pub fn apply_broadcast_event(
    current: Option<&Broadcast>,
    state: &PublicState,
    event: &BroadcastEvent,
) -> Result<BroadcastEffect, Rejection> {
    let next_seq = state.last_seq + 1;
    match &event.change {
        BroadcastChange::Created { broadcast_id, content } => match current {
            Some(_) => Err(Rejection::Exists(*broadcast_id)),
            None => Ok(BroadcastEffect {
                broadcast: Some(Broadcast::draft(event.app_id, *broadcast_id, content.clone(), event.at_us)),
                state: state.clone(),
            }),
        },
        BroadcastChange::Modified { broadcast_id, revision, content } => {
            let current = current.ok_or(Rejection::Missing(*broadcast_id))?;
            check_revision(current.revision, *revision)?;
            Ok(BroadcastEffect {
                broadcast: Some(current.modified(content.clone(), event.at_us)?),
                state: state.clone(),
            })
        }
        BroadcastChange::Lifecycle { broadcast_id, revision, action } => {
            let current = current.ok_or(Rejection::Missing(*broadcast_id))?;
            check_revision(current.revision, *revision)?;
            let (broadcast, used_seq) = current.transitioned(*action, event.at_us, next_seq)?;
            let last_seq = if used_seq { next_seq } else { state.last_seq };
            Ok(BroadcastEffect { broadcast: Some(broadcast), state: PublicState { last_seq, ..state.clone() } })
        }
        BroadcastChange::WhitelistReplaced { revision, uids } => {
            check_revision(state.whitelist_revision, *revision)?;
            let members: BTreeMap<Uid, PublicSeq> =
                uids.iter().map(|uid| (*uid, state.whitelist.members.get(uid).copied().unwrap_or(next_seq))).collect();
            let joined = members.values().any(|seq| *seq == next_seq);
            Ok(BroadcastEffect {
                broadcast: None,
                state: PublicState {
                    last_seq: if joined { next_seq } else { state.last_seq },
                    whitelist: Whitelist { members },
                    whitelist_revision: *revision,
                },
            })
        }
    }
}

fn check_revision(current: i32, got: i32) -> Result<(), Rejection> {
    if got == current + 1 { Ok(()) } else { Err(Rejection::StaleRevision { current, got }) }
}

/// What pull workers cache of one app: the broadcasts someone can see, and the whitelist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicMailbox {
    pub app_id: AppId,
    broadcasts: Vec<Broadcast>,
    whitelist: Whitelist,
    seq: PublicSeq,
}

impl PublicMailbox {
    /// Keeps only visible broadcasts. The mailbox's position is the largest position that
    /// what it holds carries, never a counter read apart from them: a cursor advanced to it
    /// can then never step over an entry this snapshot lacks (docs/design.md#deliver-once-keep-the-way-back).
    pub fn new(app_id: AppId, broadcasts: Vec<Broadcast>, whitelist: Whitelist) -> Self {
        let mut broadcasts: Vec<Broadcast> =
            broadcasts.into_iter().filter(|b| b.state.is_visible() && b.msg_id.is_some()).collect();
        broadcasts.sort_by_key(|b| (b.msg_id, b.broadcast_id));
        let seq = broadcasts
            .iter()
            .flat_map(|b| [b.prepublished_seq, b.published_seq])
            .flatten()
            .chain(whitelist.members.values().copied())
            .max()
            .unwrap_or(0);
        Self { app_id, broadcasts, whitelist, seq }
    }

    pub fn seq(&self) -> PublicSeq {
        self.seq
    }

    pub fn broadcasts(&self) -> &[Broadcast] {
        &self.broadcasts
    }

    /// The position from which `viewer` can see `broadcast`, if they can see it now.
    pub fn visible_at(&self, broadcast: &Broadcast, viewer: &Viewer, now_s: i64) -> Option<PublicSeq> {
        if now_s >= broadcast.content.expire_at_s || !broadcast.content.audience.admits(viewer) {
            return None;
        }
        let as_tester = broadcast
            .prepublished_seq
            .zip(self.whitelist.members.get(&viewer.uid))
            .map(|(prepublished, joined)| prepublished.max(*joined));
        match broadcast.state {
            BroadcastState::Published => match (as_tester, broadcast.published_seq) {
                (Some(tester), Some(public)) => Some(tester.min(public)),
                (tester, public) => tester.or(public),
            },
            BroadcastState::PrePublished => as_tester,
            _ => None,
        }
    }

    /// What an incremental sync may deliver: entries that became visible to `viewer` after
    /// `after_seq`, in position order, each with its position.
    pub fn sync_candidates(
        &self,
        viewer: &Viewer,
        hidden: &BTreeSet<BroadcastId>,
        after_seq: PublicSeq,
        now_s: i64,
    ) -> Vec<(PublicSeq, MailboxEntry)> {
        let mut candidates: Vec<(PublicSeq, MailboxEntry)> = self
            .broadcasts
            .iter()
            .filter(|b| !hidden.contains(&b.broadcast_id))
            .filter_map(|b| {
                let seq = self.visible_at(b, viewer, now_s)?;
                (seq > after_seq).then(|| (seq, self.entry(b, viewer.uid)))
            })
            .collect();
        candidates.sort_by_key(|(seq, entry)| (*seq, entry.msg_id));
        candidates
    }

    /// The newest position from which `viewer` can see a broadcast it could not see at
    /// `after_seq`: what an incremental sync from there would deliver up to, without
    /// building the entries (for notify waves over many sessions).
    pub fn newest_visible_after(&self, viewer: &Viewer, after_seq: PublicSeq, now_s: i64) -> Option<PublicSeq> {
        self.broadcasts.iter().filter_map(|b| self.visible_at(b, viewer, now_s)).filter(|seq| *seq > after_seq).max()
    }

    /// Every entry `viewer` can see now, in `msg_id` order (for history pages).
    pub fn visible_entries(&self, viewer: &Viewer, hidden: &BTreeSet<BroadcastId>, now_s: i64) -> Vec<MailboxEntry> {
        self.broadcasts
            .iter()
            .filter(|b| !hidden.contains(&b.broadcast_id) && self.visible_at(b, viewer, now_s).is_some())
            .map(|b| self.entry(b, viewer.uid))
            .collect()
    }

    /// The visible broadcast with this `msg_id` for `viewer`, if any.
    pub fn find_visible(&self, viewer: &Viewer, msg_id: i64, now_s: i64) -> Option<&Broadcast> {
        self.broadcasts.iter().find(|b| b.msg_id == Some(msg_id) && self.visible_at(b, viewer, now_s).is_some())
    }

    fn entry(&self, broadcast: &Broadcast, uid: Uid) -> MailboxEntry {
        let msg_id = broadcast.msg_id.unwrap_or_default();
        let content = &broadcast.content;
        MailboxEntry {
            msg_id,
            source: Source::Public,
            from_uid: 0,
            to_uid: uid,
            contacter: 0,
            create_time: msg_id,
            expire: content.expire_at_s,
            is_read: false,
            category: content.category,
            kind: content.kind,
            priority: content.priority,
            business_type: content.business_type,
            app_id: self.app_id,
            msgkey: String::new(),
            content: content.content.clone(),
            broadcast_id: Some(broadcast.broadcast_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broadcast::{BroadcastContent, LifecycleAction};
    use crate::client::ClientVersion;

    fn event(change: BroadcastChange, at_us: i64) -> BroadcastEvent {
        BroadcastEvent { app_id: 1, at_us, change, actor: None }
    }

    fn viewer(uid: Uid) -> Viewer {
        Viewer { uid, guest: false, version: ClientVersion::default() }
    }

    /// Folds events the way the projector does, ignoring rejections.
    fn fold(events: &[BroadcastEvent]) -> (BTreeMap<BroadcastId, Broadcast>, PublicState) {
        let mut broadcasts = BTreeMap::new();
        let mut state = PublicState::default();
        for event in events {
            let id = match &event.change {
                BroadcastChange::Created { broadcast_id, .. }
                | BroadcastChange::Modified { broadcast_id, .. }
                | BroadcastChange::Lifecycle { broadcast_id, .. } => Some(*broadcast_id),
                BroadcastChange::WhitelistReplaced { .. } => None,
            };
            if let Ok(effect) = apply_broadcast_event(id.and_then(|id| broadcasts.get(&id)), &state, event) {
                if let Some(b) = effect.broadcast {
                    broadcasts.insert(b.broadcast_id, b);
                }
                state = effect.state;
            }
        }
        (broadcasts, state)
    }

    fn snapshot(events: &[BroadcastEvent]) -> PublicMailbox {
        let (broadcasts, state) = fold(events);
        PublicMailbox::new(1, broadcasts.into_values().collect(), state.whitelist)
    }

    fn content() -> BroadcastContent {
        BroadcastContent { content: "hi".into(), expire_at_s: 1_000, ..Default::default() }
    }

    fn lifecycle(revision: i32, action: LifecycleAction) -> BroadcastChange {
        BroadcastChange::Lifecycle { broadcast_id: 5, revision, action }
    }

    #[test]
    fn prepublished_is_for_testers_then_published_for_all_without_redelivery() {
        let mut events = vec![
            event(BroadcastChange::WhitelistReplaced { revision: 1, uids: vec![7] }, 1),
            event(BroadcastChange::Created { broadcast_id: 5, content: content() }, 2),
            event(lifecycle(2, LifecycleAction::PrePublish), 3),
        ];
        let pre = snapshot(&events);
        assert_eq!(pre.sync_candidates(&viewer(7), &BTreeSet::new(), 0, 0).len(), 1);
        assert!(pre.sync_candidates(&viewer(8), &BTreeSet::new(), 0, 0).is_empty());
        let tester_cursor = pre.seq();

        events.push(event(lifecycle(3, LifecycleAction::Publish), 4));
        let published = snapshot(&events);
        assert!(published.sync_candidates(&viewer(7), &BTreeSet::new(), tester_cursor, 0).is_empty());
        assert_eq!(published.sync_candidates(&viewer(8), &BTreeSet::new(), tester_cursor, 0).len(), 1);
        assert!(published.sync_candidates(&viewer(8), &BTreeSet::new(), 0, 1_000).is_empty(), "expired");
        assert!(published.sync_candidates(&viewer(8), &BTreeSet::from([5]), 0, 0).is_empty(), "hidden");

        events.push(event(lifecycle(4, LifecycleAction::Stop), 5));
        assert!(snapshot(&events).broadcasts().is_empty());
    }

    #[test]
    fn tester_who_joins_after_prepublication_still_gets_it() {
        let events = vec![
            event(BroadcastChange::Created { broadcast_id: 5, content: content() }, 1),
            event(lifecycle(2, LifecycleAction::PrePublish), 2),
        ];
        let before = snapshot(&events);
        let cursor = before.seq();
        let mut events = events;
        events.push(event(BroadcastChange::WhitelistReplaced { revision: 1, uids: vec![9] }, 3));
        let after = snapshot(&events);
        assert_eq!(after.sync_candidates(&viewer(9), &BTreeSet::new(), cursor, 0).len(), 1);
    }

    #[test]
    fn redelivered_events_change_nothing() {
        let created = event(BroadcastChange::Created { broadcast_id: 5, content: content() }, 1);
        let publish = event(lifecycle(2, LifecycleAction::Publish), 2);
        let modify = event(BroadcastChange::Modified { broadcast_id: 5, revision: 3, content: content() }, 3);
        let whitelist = event(BroadcastChange::WhitelistReplaced { revision: 1, uids: vec![1] }, 4);
        let once = fold(&[created.clone(), publish.clone(), modify.clone(), whitelist.clone()]);
        let twice = fold(&[
            created.clone(),
            created,
            publish.clone(),
            publish,
            modify.clone(),
            modify,
            whitelist.clone(),
            whitelist,
        ]);
        assert_eq!(once, twice);
        assert_eq!((once.0[&5].version, once.0[&5].revision), (2, 3));
    }

    #[test]
    fn a_replayed_batch_applied_to_a_later_state_changes_nothing() {
        // Projected once, then the whole batch again (a crash before the offset commit):
        // the stop, illegal on the draft, must not become legal on the published broadcast.
        let events = [
            event(BroadcastChange::Created { broadcast_id: 5, content: content() }, 1),
            event(lifecycle(2, LifecycleAction::Stop), 2),
            event(lifecycle(2, LifecycleAction::Publish), 3),
        ];
        let once = fold(&events);
        let replayed = fold(&[&events[..], &events[..]].concat());
        assert_eq!(once, replayed);
        assert_eq!(once.0[&5].state, BroadcastState::Published);
    }
}
