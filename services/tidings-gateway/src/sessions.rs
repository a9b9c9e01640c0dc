//! The live sessions of this gateway process, and the notifies pending for each.
//!
//! A notify is coalesced, never queued: each session holds the newest private position
//! and the newest public sequence it has to hear of, in a watch channel; its connection
//! sends what changed since it last sent, so a burst of changes costs one frame per source
//! and nothing is dropped silently (docs/design.md#connected-client-never-stale).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tidings_domain::client::Viewer;
use tidings_domain::message::Mailbox;
use tidings_domain::{AppId, MsgId, PublicSeq};
use tokio::sync::watch;

/// What a session has to hear of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pending {
    pub private_up_to: Option<MsgId>,
    pub public_seq: Option<PublicSeq>,
}

/// Every live session, by mailbox.
#[derive(Debug, Default)]
pub struct Sessions {
    by_mailbox: Mutex<HashMap<Mailbox, Vec<Notifier>>>,
    next_id: AtomicU64,
}

/// Where a session's pending notifies are raised.
#[derive(Debug)]
struct Notifier {
    session: u64,
    viewer: Viewer,
    pending: watch::Sender<Pending>,
}

/// A session as a broadcast wave sees it: who it is, and where to raise its notify.
#[derive(Debug, Clone)]
pub struct WaveTarget {
    pub viewer: Viewer,
    pub pending: watch::Sender<Pending>,
}

/// A session's place in [`Sessions`]; leaving removes it.
#[derive(Debug)]
pub struct Registration<'a> {
    sessions: &'a Sessions,
    mailbox: Mailbox,
    pub id: u64,
    pub pending: watch::Receiver<Pending>,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.sessions.leave(self.mailbox, self.id);
    }
}

const ONLINE_SESSIONS: &str = "tidings_gateway_sessions";
const NOTIFIES_TOTAL: &str = "tidings_gateway_notifies_total";

pub(crate) fn describe_metrics() {
    metrics::describe_gauge!(ONLINE_SESSIONS, "logged-in connections of this gateway");
    metrics::describe_counter!(
        NOTIFIES_TOTAL,
        "notify signals for live sessions, by source and outcome (pending: a new one; coalesced: one was still pending)"
    );
}

impl Sessions {
    /// Registers a session of `mailbox`, seen by broadcast waves as `viewer`.
    pub fn join(&self, mailbox: Mailbox, viewer: Viewer) -> Registration<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, pending) = watch::channel(Pending::default());
        let mut by_mailbox = self.by_mailbox.lock().expect("lock poisoned");
        by_mailbox.entry(mailbox).or_default().push(Notifier { session: id, viewer, pending: sender });
        metrics::gauge!(ONLINE_SESSIONS).increment(1.0);
        Registration { sessions: self, mailbox, id, pending }
    }

    fn leave(&self, mailbox: Mailbox, id: u64) {
        let mut by_mailbox = self.by_mailbox.lock().expect("lock poisoned");
        if let Some(sessions) = by_mailbox.get_mut(&mailbox) {
            sessions.retain(|notifier| notifier.session != id);
            if sessions.is_empty() {
                by_mailbox.remove(&mailbox);
            }
        }
        metrics::gauge!(ONLINE_SESSIONS).decrement(1.0);
    }

    /// Marks new private messages up to `latest_msg_id` pending for every session of
    /// `mailbox`.
    pub fn deliver_private(&self, mailbox: Mailbox, latest_msg_id: MsgId) {
        let by_mailbox = self.by_mailbox.lock().expect("lock poisoned");
        for notifier in by_mailbox.get(&mailbox).into_iter().flatten() {
            raise(&notifier.pending, "private", |p| &mut p.private_up_to, latest_msg_id);
        }
    }

    /// Every session of `app_id`, for a broadcast wave.
    pub fn wave_targets(&self, app_id: AppId) -> Vec<WaveTarget> {
        let by_mailbox = self.by_mailbox.lock().expect("lock poisoned");
        by_mailbox
            .iter()
            .filter(|(mailbox, _)| mailbox.app_id == app_id)
            .flat_map(|(_, notifiers)| notifiers)
            .map(|notifier| WaveTarget { viewer: notifier.viewer.clone(), pending: notifier.pending.clone() })
            .collect()
    }

    /// How many sessions there are here.
    pub fn total(&self) -> usize {
        self.by_mailbox.lock().expect("lock poisoned").values().map(Vec::len).sum()
    }
}

/// Raises a session's pending public position to `seq` (newest wins).
pub fn raise_public(pending: &watch::Sender<Pending>, seq: PublicSeq) {
    raise(pending, "public", |p| &mut p.public_seq, seq);
}

/// Raises one position of a session's pending notify to `value` (newest wins).
fn raise(
    pending: &watch::Sender<Pending>,
    source: &'static str,
    field: fn(&mut Pending) -> &mut Option<i64>,
    value: i64,
) {
    pending.send_if_modified(|p| {
        let position = field(p);
        if position.is_some_and(|current| current >= value) {
            return false;
        }
        let outcome = if position.is_some() { "coalesced" } else { "pending" };
        metrics::counter!(NOTIFIES_TOTAL, "source" => source, "outcome" => outcome).increment(1);
        *position = Some(value);
        true
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(uid: i64) -> Viewer {
        Viewer { uid, guest: false, version: Default::default() }
    }

    #[test]
    fn notifies_coalesce_to_the_newest_and_reach_only_their_sessions() {
        let sessions = Sessions::default();
        let (alice, bob) = (Mailbox::new(1, 42), Mailbox::new(1, 43));
        let mut phone = sessions.join(alice, viewer(42));
        let mut laptop = sessions.join(alice, viewer(42));
        let mut other = sessions.join(bob, viewer(43));
        for latest_msg_id in [5, 9, 7] {
            sessions.deliver_private(alice, latest_msg_id);
        }
        for target in sessions.wave_targets(1) {
            raise_public(&target.pending, 3);
        }
        let expected = Pending { private_up_to: Some(9), public_seq: Some(3) };
        assert_eq!(*phone.pending.borrow_and_update(), expected);
        assert_eq!(*laptop.pending.borrow_and_update(), expected);
        assert_eq!(*other.pending.borrow_and_update(), Pending { private_up_to: None, public_seq: Some(3) });
        assert_eq!((sessions.wave_targets(1).len(), sessions.total()), (3, 3));
        drop(laptop);
        assert_eq!(sessions.wave_targets(1).len(), 2);
        assert!(sessions.wave_targets(2).is_empty());
    }
}
