//! Every state change as it travels on the event log. Tables are projections of these.

use crate::audit::Actor;
use crate::broadcast::{BroadcastContent, LifecycleAction};
use crate::message::{Attributes, Mailbox, MessageBody};
use crate::{AppId, BroadcastId, MsgId, PublicSeq, Uid};

/// One message for one mailbox. A send to n mailboxes is n deliveries, each keyed by its
/// own mailbox, so each lands in the partition that owns that mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub mailbox: Mailbox,
    /// Unique per delivered message within the mailbox: `k:<from_uid>:<msgkey>` when the
    /// sender gave a msgkey (so the same key twice delivers once), else the ingest request id.
    pub dedupe_key: String,
    /// Unix microseconds at which ingest accepted the send.
    pub create_time_us: i64,
    pub body: MessageBody,
    /// Set on the first delivery of each send only: what a recall of the send needs.
    pub send: Option<SendRecord>,
}

/// A send as the recall index keeps it (docs/design.md#recall): carried by the send's first
/// delivery, so one projected event indexes every recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRecord {
    /// The id ingest answered the send with.
    pub request_id: String,
    /// Every mailbox (uid) the send delivers to.
    pub recipients: Vec<Uid>,
}

impl Delivery {
    /// The dedupe key for a send: the sender's msgkey when given, else the request's own id.
    pub fn dedupe_key_for(from_uid: Uid, msgkey: &str, request_id: &str) -> String {
        if msgkey.is_empty() { Self::request_key(request_id) } else { format!("k:{from_uid}:{msgkey}") }
    }

    /// The key under which a send is found by its request id, whatever its dedupe key.
    pub fn request_key(request_id: &str) -> String {
        format!("r:{request_id}")
    }

    /// The dedupe key of the delete command a recall of `dedupe_key` inserts: a redelivered
    /// recall finds it and changes nothing.
    pub fn recall_dedupe_key(dedupe_key: &str) -> String {
        format!("x:{dedupe_key}")
    }
}

/// What happens to one private mailbox; keyed by [`Mailbox::log_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxEvent {
    Delivered(Delivery),
    /// Every message (private or public) up to this id reads as read.
    ReadUpTo {
        mailbox: Mailbox,
        up_to: MsgId,
    },
    /// The owner deleted one private message.
    MessageDeleted {
        mailbox: Mailbox,
        msg_id: MsgId,
    },
    /// The owner deleted a broadcast from their view; others still see it.
    BroadcastHidden {
        mailbox: Mailbox,
        broadcast_id: BroadcastId,
    },
    /// The business server recalled the message delivered under `dedupe_key`: it leaves
    /// the mailbox, and a device that synced it gets a delete command (docs/design.md#recall).
    Recalled {
        mailbox: Mailbox,
        dedupe_key: String,
        /// Unix microseconds at which ingest accepted the recall: the command's create time.
        at_us: i64,
    },
    /// The business server replaced the user's attributes, which personalized broadcasts
    /// read (docs/design.md#templates); empty removes them.
    AttributesReplaced {
        mailbox: Mailbox,
        attributes: Attributes,
    },
}

impl MailboxEvent {
    pub fn mailbox(&self) -> Mailbox {
        match self {
            MailboxEvent::Delivered(delivery) => delivery.mailbox,
            MailboxEvent::ReadUpTo { mailbox, .. }
            | MailboxEvent::MessageDeleted { mailbox, .. }
            | MailboxEvent::BroadcastHidden { mailbox, .. }
            | MailboxEvent::Recalled { mailbox, .. }
            | MailboxEvent::AttributesReplaced { mailbox, .. } => *mailbox,
        }
    }
}

/// An operator's change to an app's public mailbox; keyed by [`broadcast_log_key`], so all
/// of one app's changes are applied in the order they were accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastEvent {
    pub app_id: AppId,
    /// Unix microseconds at which ingest accepted the change.
    pub at_us: i64,
    pub change: BroadcastChange,
    /// Who asked for the change (docs/design.md, "Operators and the audit trail"); `None`
    /// in events written before it was recorded.
    pub actor: Option<Actor>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BroadcastChange {
    Created {
        broadcast_id: BroadcastId,
        content: BroadcastContent,
    },
    /// New content. `revision` (like the lifecycle's) is the broadcast revision this
    /// change creates: a redelivered change, or the loser of two racing operators, finds
    /// another revision there and changes nothing.
    Modified {
        broadcast_id: BroadcastId,
        revision: i32,
        content: BroadcastContent,
    },
    Lifecycle {
        broadcast_id: BroadcastId,
        revision: i32,
        action: LifecycleAction,
    },
    /// The whole whitelist of pre-publication testers; `revision` is the whitelist
    /// revision it creates.
    WhitelistReplaced {
        revision: i32,
        uids: Vec<Uid>,
    },
}

/// The event-log key of an app's public-mailbox changes.
pub fn broadcast_log_key(app_id: AppId) -> String {
    format!("b:{app_id}")
}

/// A signal to online clients that there is something to pull. Not a message: it is never
/// stored in a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifySignal {
    /// New messages in one mailbox, up to `latest_msg_id`.
    Mailbox { mailbox: Mailbox, latest_msg_id: MsgId },
    /// The app's public mailbox reached `seq`.
    Public { app_id: AppId, seq: PublicSeq },
}
