//! An app's public mailbox: its visible broadcasts and whitelist, and what a viewer sees.

use std::collections::{BTreeMap, BTreeSet};

use crate::broadcast::{Broadcast, IllegalTransition};
use crate::client::Viewer;
use crate::event::{BroadcastChange, BroadcastEvent};
use crate::sync::{Command, MailboxEntry, Source};
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

/// What pull workers cache of one app: the broadcasts someone can see, the recalled ones
/// whose delete command is still due, and the whitelist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicMailbox {
    pub app_id: AppId,
    broadcasts: Vec<Broadcast>,
    recalled: Vec<Broadcast>,
    whitelist: Whitelist,
    seq: PublicSeq,
}

impl PublicMailbox {
    /// Keeps only visible broadcasts, and recalled ones (whatever came after the recall)
    /// for their delete commands. The mailbox's position is the largest position that what
    /// it holds carries, never a counter read apart from them: a cursor advanced to it can
    /// then never step over an entry this snapshot lacks (docs/design.md#deliver-once-keep-the-way-back).
    pub fn new(app_id: AppId, broadcasts: Vec<Broadcast>, whitelist: Whitelist) -> Self {
        let (mut recalled, mut broadcasts): (Vec<Broadcast>, Vec<Broadcast>) = broadcasts
            .into_iter()
            .filter(|b| b.msg_id.is_some() && (b.state.is_visible() || b.recall.is_some()))
            .partition(|b| b.recall.is_some());
        broadcasts.sort_by_key(|b| (b.msg_id, b.broadcast_id));
        recalled.sort_by_key(|b| b.recall.map(|recall| recall.seq));
        let seq = broadcasts
            .iter()
            .chain(&recalled)
            .flat_map(|b| [b.prepublished_seq, b.published_seq, b.recall.map(|recall| recall.seq)])
            .flatten()
            .chain(whitelist.members.values().copied())
            .max()
            .unwrap_or(0);
        Self { app_id, broadcasts, recalled, whitelist, seq }
    }

    pub fn seq(&self) -> PublicSeq {
        self.seq
    }

    pub fn broadcasts(&self) -> &[Broadcast] {
        &self.broadcasts
    }

    /// The position from which `viewer` can see `broadcast`, if they can see it now.
    pub fn visible_at(&self, broadcast: &Broadcast, viewer: &Viewer, now_s: i64) -> Option<PublicSeq> {
        if !broadcast.state.is_visible() {
            return None;
        }
        self.first_visible_at(broadcast, viewer, now_s)
    }

    /// The position from which `viewer` could see `broadcast` in the states it has been
    /// through, ignoring whether it still is visible: a pre-published broadcast has no
    /// `published_seq`, so only testers; a published one whoever came first.
    fn first_visible_at(&self, broadcast: &Broadcast, viewer: &Viewer, now_s: i64) -> Option<PublicSeq> {
        if now_s >= broadcast.content.expire_at_s || !broadcast.content.audience.admits(viewer) {
            return None;
        }
        let as_tester = broadcast
            .prepublished_seq
            .zip(self.whitelist.members.get(&viewer.uid))
            .map(|(prepublished, joined)| prepublished.max(*joined));
        match (as_tester, broadcast.published_seq) {
            (Some(tester), Some(public)) => Some(tester.min(public)),
            (tester, public) => tester.or(public),
        }
    }

    /// The position of `broadcast`'s delete command and the one from which `viewer` could
    /// see it before the recall, when it is recalled and the viewer could.
    fn recalled_for(&self, broadcast: &Broadcast, viewer: &Viewer, now_s: i64) -> Option<(PublicSeq, PublicSeq)> {
        let recall = broadcast.recall?;
        let seen_from = self.first_visible_at(broadcast, viewer, now_s)?;
        (seen_from < recall.seq).then_some((recall.seq, seen_from))
    }

    /// The position of `broadcast`'s delete command for a viewer whose cursor stands at
    /// `after_seq`, if it is due: the viewer could see it before the recall and the cursor
    /// had passed that position (so a sync delivered it), but not the recall's. A viewer
    /// whose cursor never reached it gets nothing (docs/design.md#recall).
    fn command_due_at(
        &self,
        broadcast: &Broadcast,
        viewer: &Viewer,
        after_seq: PublicSeq,
        now_s: i64,
    ) -> Option<PublicSeq> {
        let (command_seq, seen_from) = self.recalled_for(broadcast, viewer, now_s)?;
        (seen_from <= after_seq && after_seq < command_seq).then_some(command_seq)
    }

    /// What an incremental sync may deliver: entries that became visible to `viewer` after
    /// `after_seq`, and the delete commands due to it, in position order, each with its
    /// position.
    pub fn sync_candidates(
        &self,
        viewer: &Viewer,
        hidden: &BTreeSet<BroadcastId>,
        after_seq: PublicSeq,
        now_s: i64,
    ) -> Vec<(PublicSeq, MailboxEntry)> {
        let visible = self.broadcasts.iter().filter(|b| !hidden.contains(&b.broadcast_id)).filter_map(|b| {
            let seq = self.visible_at(b, viewer, now_s)?;
            (seq > after_seq).then(|| (seq, self.entry(b, viewer.uid)))
        });
        let commands = self.recalled.iter().filter(|b| !hidden.contains(&b.broadcast_id)).filter_map(|b| {
            let seq = self.command_due_at(b, viewer, after_seq, now_s)?;
            Some((seq, self.delete_command(b, viewer.uid)))
        });
        let mut candidates: Vec<(PublicSeq, MailboxEntry)> = visible.chain(commands).collect();
        candidates.sort_by_key(|(seq, entry)| (*seq, entry.msg_id));
        candidates
    }

    /// The newest position beyond `after_seq` of what may be new to `viewer`: a broadcast
    /// it can see from there, or the delete command of one it could see before its recall,
    /// without building the entries (for notify waves over many sessions, whose `after_seq`
    /// is what they were last told of, not the client's cursor: so a command counts for every
    /// viewer who could have synced the broadcast, and at worst a sync brings nothing).
    pub fn newest_visible_after(&self, viewer: &Viewer, after_seq: PublicSeq, now_s: i64) -> Option<PublicSeq> {
        let visible = self.broadcasts.iter().filter_map(|b| self.visible_at(b, viewer, now_s));
        let commands = self.recalled.iter().filter_map(|b| Some(self.recalled_for(b, viewer, now_s)?.0));
        visible.chain(commands).filter(|seq| *seq > after_seq).max()
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
            command: None,
        }
    }

    /// The entry that tells a client to drop its copy of a recalled broadcast: at the
    /// recall's `msg_id`, naming the broadcast's.
    fn delete_command(&self, broadcast: &Broadcast, uid: Uid) -> MailboxEntry {
        let recall = broadcast.recall.expect("a recalled broadcast");
        MailboxEntry {
            msg_id: recall.msg_id,
            source: Source::Command,
            from_uid: 0,
            to_uid: uid,
            contacter: 0,
            create_time: recall.msg_id,
            expire: broadcast.content.expire_at_s,
            is_read: false,
            category: 0,
            kind: 0,
            priority: 0,
            business_type: 0,
            app_id: self.app_id,
            msgkey: String::new(),
            content: String::new(),
            broadcast_id: Some(broadcast.broadcast_id),
            command: Some(Command::Delete { msg_ids: broadcast.msg_id.into_iter().collect() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broadcast::{Audience, BroadcastContent, BroadcastState, LifecycleAction};
    use crate::client::{ClientVersion, Platform};
    use crate::sync::{SyncCursor, merge_sync};
    use proptest::prelude::*;

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

    fn sync(mailbox: &PublicMailbox, viewer: &Viewer, cursor: SyncCursor, limit: usize) -> crate::sync::SyncPage {
        let candidates = mailbox.sync_candidates(viewer, &BTreeSet::new(), cursor.public_after, 0);
        merge_sync(vec![], true, candidates, mailbox.seq(), cursor, limit, 0)
    }

    fn delete_command_of(entry: &MailboxEntry) -> Option<(BroadcastId, Vec<i64>)> {
        match &entry.command {
            Some(Command::Delete { msg_ids }) => Some((entry.broadcast_id?, msg_ids.clone())),
            None => None,
        }
    }

    #[test]
    fn a_recall_reaches_those_who_synced_it_once_and_nobody_else() {
        let mut events = vec![
            event(BroadcastChange::Created { broadcast_id: 5, content: content() }, 1),
            event(lifecycle(2, LifecycleAction::Publish), 20),
        ];
        let published = snapshot(&events);
        let had_it = sync(&published, &viewer(7), SyncCursor::default(), 10);
        assert_eq!(had_it.messages.len(), 1);
        let never_synced = SyncCursor::default();

        events.push(event(lifecycle(3, LifecycleAction::Recall), 30));
        let recalled = snapshot(&events);
        assert!(recalled.broadcasts().is_empty(), "history no longer shows it");
        assert!(recalled.visible_entries(&viewer(7), &BTreeSet::new(), 0).is_empty());
        let command = sync(&recalled, &viewer(7), had_it.cursor, 10);
        assert_eq!(command.messages.len(), 1);
        let entry = &command.messages[0];
        assert_eq!((entry.source, entry.msg_id), (Source::Command, 30));
        assert_eq!(delete_command_of(entry), Some((5, vec![20])));
        assert!(sync(&recalled, &viewer(7), command.cursor, 10).messages.is_empty(), "once");
        let other = sync(&recalled, &viewer(8), never_synced, 10);
        assert!(other.messages.is_empty() && !other.has_more, "a user who never got it gets nothing");
        assert!(sync(&recalled, &viewer(8), other.cursor, 10).messages.is_empty());
        assert!(sync(&recalled, &viewer(7), had_it.cursor, 10).messages.len() == 1, "an offline user on the next sync");
        assert!(
            recalled.sync_candidates(&viewer(7), &BTreeSet::from([5]), had_it.cursor.public_after, 0).is_empty(),
            "hidden"
        );

        events.push(event(lifecycle(4, LifecycleAction::Delete), 40));
        assert_eq!(sync(&snapshot(&events), &viewer(7), had_it.cursor, 10).messages, command.messages, "deleted later");
        assert!(sync(&snapshot(&events), &viewer(7), had_it.cursor, 10).messages.iter().all(|m| m.expire == 1_000));
        let expired =
            snapshot(&events).sync_candidates(&viewer(7), &BTreeSet::new(), had_it.cursor.public_after, 1_000);
        assert!(expired.is_empty(), "an expired broadcast needs no command");
    }

    #[test]
    fn a_tester_who_synced_a_prepublished_broadcast_gets_its_recall() {
        let events = vec![
            event(BroadcastChange::WhitelistReplaced { revision: 1, uids: vec![7] }, 1),
            event(BroadcastChange::Created { broadcast_id: 5, content: content() }, 2),
            event(lifecycle(2, LifecycleAction::PrePublish), 3),
        ];
        let tester = sync(&snapshot(&events), &viewer(7), SyncCursor::default(), 10);
        let recalled = snapshot(&[&events[..], &[event(lifecycle(3, LifecycleAction::Recall), 4)]].concat());
        assert_eq!(sync(&recalled, &viewer(7), tester.cursor, 10).messages.len(), 1);
        assert!(sync(&recalled, &viewer(8), tester.cursor, 10).messages.is_empty(), "not a tester");
    }

    /// A step of the model world: broadcasts published (some for iOS only) and recalled,
    /// while two viewers, on iOS and Android, sync with their cursors.
    #[derive(Debug, Clone)]
    enum Step {
        Publish { ios_only: bool },
        Recall { pick: usize },
        Sync { viewer: usize, limit: usize },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            any::<bool>().prop_map(|ios_only| Step::Publish { ios_only }),
            any::<usize>().prop_map(|pick| Step::Recall { pick }),
            (0usize..2, 1usize..4).prop_map(|(viewer, limit)| Step::Sync { viewer, limit }),
        ]
    }

    proptest! {
        /// Deliver once and no skip hold with recalls in the stream: every broadcast a viewer
        /// may see arrives once; a recalled one it had is followed by exactly one delete
        /// command; one it never had brings no command, except after a page cut (the one
        /// case a single public position can't tell apart, docs/design.md#recall).
        #[test]
        fn recalls_reach_exactly_the_viewers_who_had_the_broadcast(steps in proptest::collection::vec(step(), 1..60)) {
            let viewers = [Platform::Ios, Platform::Android].map(|platform| Viewer {
                uid: platform as Uid + 1,
                guest: false,
                version: ClientVersion { platform: Some(platform), ..ClientVersion::default() },
            });
            let mut events = vec![];
            let mut published: Vec<BroadcastId> = vec![];
            let mut recalled: BTreeSet<BroadcastId> = BTreeSet::new();
            let mut clock = 0;
            let mut cursors = [SyncCursor::default(); 2];
            let mut received: [Vec<(Source, BroadcastId)>; 2] = [vec![], vec![]];
            let mut recalled_at_a_cut: [BTreeSet<BroadcastId>; 2] = [BTreeSet::new(), BTreeSet::new()];
            let mut apply_sync = |who: usize, limit: usize, events: &[BroadcastEvent], recalled: &BTreeSet<BroadcastId>| {
                let page = sync(&snapshot(events), &viewers[who], cursors[who], limit);
                received[who].extend(page.messages.iter().map(|m| (m.source, m.broadcast_id.expect("public"))));
                if page.has_more {
                    recalled_at_a_cut[who].extend(recalled);
                }
                cursors[who] = page.cursor;
                page.has_more
            };
            for step in steps {
                clock += 10;
                match step {
                    Step::Publish { ios_only } => {
                        let broadcast_id = published.len() as BroadcastId + 1;
                        let audience = Audience { platforms: if ios_only { vec![Platform::Ios] } else { vec![] }, ..Audience::default() };
                        let content = BroadcastContent { audience, ..content() };
                        events.push(event(BroadcastChange::Created { broadcast_id, content }, clock));
                        let action = LifecycleAction::Publish;
                        events.push(event(BroadcastChange::Lifecycle { broadcast_id, revision: 2, action }, clock + 1));
                        published.push(broadcast_id);
                    }
                    Step::Recall { pick } if !published.is_empty() => {
                        let broadcast_id = published[pick % published.len()];
                        let action = LifecycleAction::Recall;
                        events.push(event(BroadcastChange::Lifecycle { broadcast_id, revision: 3, action }, clock));
                        recalled.insert(broadcast_id);
                    }
                    Step::Recall { .. } => {}
                    Step::Sync { viewer, limit } => { apply_sync(viewer, limit, &events, &recalled); }
                }
            }
            for who in 0..2 {
                while apply_sync(who, 3, &events, &recalled) {}
            }
            let (broadcasts, _) = fold(&events);
            for (who, viewer) in viewers.iter().enumerate() {
                let got = &received[who];
                let unique: BTreeSet<_> = got.iter().copied().collect();
                prop_assert_eq!(unique.len(), got.len(), "delivered twice: {:?}", got);
                for broadcast in broadcasts.values() {
                    let id = broadcast.broadcast_id;
                    let had = got.contains(&(Source::Public, id));
                    let command = got.iter().position(|e| *e == (Source::Command, id));
                    if broadcast.state == BroadcastState::Published && broadcast.content.audience.admits(viewer) {
                        prop_assert!(had, "broadcast {} skipped for viewer {}", id, who);
                    }
                    if had && broadcast.state == BroadcastState::Recalled {
                        let original = got.iter().position(|e| *e == (Source::Public, id));
                        prop_assert!(command > original, "no delete command after broadcast {} for viewer {}", id, who);
                    }
                    if !had && command.is_some() {
                        prop_assert!(recalled_at_a_cut[who].contains(&id), "a command for broadcast {} viewer {} never had", id, who);
                    }
                }
            }
        }
    }
}
