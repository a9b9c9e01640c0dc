//! What the private mailbox checks build on: `msg_id`s that show a wrong order, fresh
//! mailboxes, their messages, and the store calls every check makes.

use tidings_domain::MsgId;
use tidings_domain::message::{Mailbox, MessageBody, StoredMessage};

use crate::conformance::unique_id;
use crate::store::{MailboxChange, MailboxState, MsgRange, Order, Store};

/// `msg_id`s chosen so that any non-numeric order (text, little-endian) shows.
pub(super) const IDS: [MsgId; 6] =
    [5, 1_000, 65_536, 1_700_000_000_000_000, 1_700_000_000_000_001, 4_000_000_000_000_000];

pub(super) fn fresh_mailbox() -> Mailbox {
    Mailbox::new(unique_id(), unique_id())
}

pub(super) fn message(mailbox: Mailbox, msg_id: MsgId) -> StoredMessage {
    StoredMessage {
        mailbox,
        msg_id,
        create_time_us: msg_id - 3,
        dedupe_key: format!("delivery-{msg_id}"),
        body: MessageBody {
            from_uid: 7,
            to_uid: mailbox.uid,
            contacter: 7,
            category: 1,
            kind: 2,
            priority: 3,
            business_type: 4,
            msgkey: format!("key-{msg_id}"),
            content: format!("message {msg_id} to {}", mailbox.uid),
            expire_at_s: 0,
        },
        recalls: None,
    }
}

pub(super) fn inserts(mailbox: Mailbox, ids: &[MsgId]) -> Vec<MailboxChange> {
    ids.iter().map(|id| MailboxChange::Insert(message(mailbox, *id))).collect()
}

pub(super) async fn read(
    store: &dyn Store,
    mailbox: Mailbox,
    after: Option<MsgId>,
    before: Option<MsgId>,
    order: Order,
    limit: usize,
) -> Vec<MsgId> {
    store
        .read_mailbox(mailbox, MsgRange { after, before }, order, limit)
        .await
        .expect("read_mailbox")
        .iter()
        .map(|message| message.msg_id)
        .collect()
}

pub(super) async fn read_all(store: &dyn Store, mailbox: Mailbox) -> Vec<StoredMessage> {
    store.read_mailbox(mailbox, MsgRange::default(), Order::Ascending, 1_000).await.expect("read_mailbox")
}

pub(super) async fn state(store: &dyn Store, mailbox: Mailbox) -> MailboxState {
    store.mailbox_state(mailbox).await.expect("mailbox_state")
}

pub(super) async fn apply(store: &dyn Store, changes: Vec<MailboxChange>) {
    store.apply_mailbox_changes(&changes).await.expect("apply_mailbox_changes");
}
