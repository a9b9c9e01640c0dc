//! Notify signals as records of the notify topic, keyed like the events they follow.

use tidings_domain::event::{NotifySignal, broadcast_log_key};
use tidings_ports::OutgoingRecord;

use crate::Projector;

impl Projector {
    pub(crate) fn notify_record(&self, signal: &NotifySignal) -> OutgoingRecord {
        OutgoingRecord {
            topic: self.topics.notify.clone(),
            key: notify_key(signal).into_bytes(),
            payload: self.codec.encode_notify(signal),
        }
    }
}

fn notify_key(signal: &NotifySignal) -> String {
    match signal {
        NotifySignal::Mailbox { mailbox, .. } => mailbox.log_key(),
        NotifySignal::Public { app_id, .. } => broadcast_log_key(*app_id),
    }
}
