//! `apply_mailbox_changes`: one call's changes folded, in order, into one atomic batch.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::PoisonError;

use fjall::{PersistMode, Readable, Snapshot};
use tidings_domain::MsgId;
use tidings_domain::message::Mailbox;
use tidings_ports::{MailboxChange, MailboxState, StoreError};

use super::{StoreInner, from_fjall, get};
use crate::keys;
use crate::records::encode;

/// The writes of one `apply_mailbox_changes`, last write per key winning, readable before
/// they are committed so later changes of the call see earlier ones.
#[derive(Default)]
struct PendingMailboxWrites {
    /// `None` deletes.
    messages: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    deliveries: BTreeMap<Vec<u8>, MsgId>,
    states: BTreeMap<Mailbox, MailboxState>,
}

impl PendingMailboxWrites {
    fn state(
        &mut self,
        store: &StoreInner,
        snapshot: &Snapshot,
        mailbox: Mailbox,
    ) -> Result<&mut MailboxState, StoreError> {
        Ok(match self.states.entry(mailbox) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                entry.insert(get(snapshot, &store.mailboxes, &keys::mailbox_key(mailbox))?.unwrap_or_default())
            }
        })
    }

    fn apply(&mut self, store: &StoreInner, snapshot: &Snapshot, change: &MailboxChange) -> Result<(), StoreError> {
        match change {
            MailboxChange::Insert(message) => {
                let delivery = keys::delivery_key(message.mailbox, &message.dedupe_key);
                let delivered = self.deliveries.contains_key(&delivery)
                    || snapshot.contains_key(&store.deliveries, &delivery).map_err(from_fjall)?;
                if delivered {
                    // A repeated insert, or a delivery deleted since: nothing to do.
                    return Ok(());
                }
                self.deliveries.insert(delivery, message.msg_id);
                self.messages.insert(keys::message_key(message.mailbox, message.msg_id), Some(encode(message)?));
                let state = self.state(store, snapshot, message.mailbox)?;
                state.head = state.head.max(Some(message.msg_id));
            }
            MailboxChange::MarkReadUpTo { mailbox, up_to } => {
                let state = self.state(store, snapshot, *mailbox)?;
                state.read_up_to = state.read_up_to.max(*up_to);
            }
            MailboxChange::Delete { mailbox, msg_id } => {
                self.messages.insert(keys::message_key(*mailbox, *msg_id), None);
            }
            MailboxChange::HideBroadcast { mailbox, broadcast_id } => {
                self.state(store, snapshot, *mailbox)?.hidden_broadcasts.insert(*broadcast_id);
            }
            MailboxChange::ReplaceAttributes { mailbox, attributes } => {
                self.state(store, snapshot, *mailbox)?.attributes = attributes.clone();
            }
        }
        Ok(())
    }
}

impl StoreInner {
    pub(super) fn apply_mailbox_changes(&self, changes: &[MailboxChange]) -> Result<(), StoreError> {
        let _writing = self.mailbox_writes.lock().unwrap_or_else(PoisonError::into_inner);
        let snapshot = self.database.snapshot();
        let mut pending = PendingMailboxWrites::default();
        for change in changes {
            pending.apply(self, &snapshot, change)?;
        }
        drop(snapshot);

        let mut batch = self.database.batch().durability(Some(PersistMode::SyncAll));
        for (key, message) in pending.messages {
            match message {
                Some(message) => batch.insert(&self.messages, key, message),
                None => batch.remove(&self.messages, key),
            }
        }
        for (key, msg_id) in pending.deliveries {
            batch.insert(&self.deliveries, key, msg_id.to_be_bytes());
        }
        for (mailbox, state) in pending.states {
            batch.insert(&self.mailboxes, keys::mailbox_key(mailbox), encode(&state)?);
        }
        batch.commit().map_err(from_fjall)
    }
}
