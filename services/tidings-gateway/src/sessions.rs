//! The live sessions of this gateway process, and the notifies pending for each.
//!
//! A notify is coalesced, never queued: each session holds the newest private position
//! and the newest public sequence it has to hear of, in a watch channel; its connection
//! sends what changed since it last sent, so a burst of changes costs one frame per source
//! and nothing is dropped silently (docs/design.md#connected-client-never-stale).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tidings_domain::event::NotifySignal;
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
    pending: watch::Sender<Pending>,
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
    /// Registers a session of `mailbox`.
    pub fn join(&self, mailbox: Mailbox) -> Registration<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, pending) = watch::channel(Pending::default());
        let mut by_mailbox = self.by_mailbox.lock().expect("lock poisoned");
        by_mailbox.entry(mailbox).or_default().push(Notifier { session: id, pending: sender });
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

    /// Marks the signal pending for every session it concerns.
    pub fn deliver(&self, signal: &NotifySignal) {
        let by_mailbox = self.by_mailbox.lock().expect("lock poisoned");
        match *signal {
            NotifySignal::Mailbox { mailbox, latest_msg_id } => {
                for notifier in by_mailbox.get(&mailbox).into_iter().flatten() {
                    raise(&notifier.pending, "private", |p| &mut p.private_up_to, latest_msg_id);
                }
            }
            NotifySignal::Public { app_id, seq } => {
                for notifier in by_mailbox.iter().filter(|(m, _)| m.app_id == app_id).flat_map(|(_, s)| s) {
                    raise(&notifier.pending, "public", |p| &mut p.public_seq, seq);
                }
            }
        }
    }

    /// How many sessions `app_id` has here.
    pub fn online(&self, app_id: AppId) -> usize {
        let by_mailbox = self.by_mailbox.lock().expect("lock poisoned");
        by_mailbox.iter().filter(|(m, _)| m.app_id == app_id).map(|(_, s)| s.len()).sum()
    }
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

    #[test]
    fn notifies_coalesce_to_the_newest_and_reach_only_their_sessions() {
        let sessions = Sessions::default();
        let (alice, bob) = (Mailbox::new(1, 42), Mailbox::new(1, 43));
        let mut phone = sessions.join(alice);
        let mut laptop = sessions.join(alice);
        let mut other = sessions.join(bob);
        for latest_msg_id in [5, 9, 7] {
            sessions.deliver(&NotifySignal::Mailbox { mailbox: alice, latest_msg_id });
        }
        sessions.deliver(&NotifySignal::Public { app_id: 1, seq: 3 });
        let expected = Pending { private_up_to: Some(9), public_seq: Some(3) };
        assert_eq!(*phone.pending.borrow_and_update(), expected);
        assert_eq!(*laptop.pending.borrow_and_update(), expected);
        assert_eq!(*other.pending.borrow_and_update(), Pending { private_up_to: None, public_seq: Some(3) });
        assert_eq!(sessions.online(1), 3);
        drop(laptop);
        assert_eq!(sessions.online(1), 2);
    }
}
