//! Mailboxes and message records.

use crate::{AppId, MsgId, Uid};

/// A user's private mailbox: "the app the message belongs to" + "the user's IM id".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mailbox {
    pub app_id: AppId,
    pub uid: Uid,
}

impl Mailbox {
    pub fn new(app_id: AppId, uid: Uid) -> Self {
        Self { app_id, uid }
    }

    /// The event-log key of everything that happens to this mailbox: every event of one
    /// mailbox lands in one partition, which serializes them (docs/design.md#no-missed-pull).
    pub fn log_key(&self) -> String {
        format!("m:{}:{}", self.app_id, self.uid)
    }
}

/// How a message reaches its recipients (the send modes of the vocabulary; full-user
/// broadcasts go through the public mailbox instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    /// One recipient.
    Unicast,
    /// A small list of recipients (at most the configured maximum, 100 by default).
    Batch,
    /// One-to-one chat: written to the receiver's and the sender's mailbox, so the
    /// sender's other devices see it too.
    Private,
}

impl SendMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            SendMode::Unicast => "unicast",
            SendMode::Batch => "batch",
            SendMode::Private => "private",
        }
    }
}

/// The fields a sender chooses: the user identification and business attributes of the
/// seed's section 4.3. `msg_id`, `create_time` and `is_read` are the platform's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageBody {
    pub from_uid: Uid,
    pub to_uid: Uid,
    /// The conversation partner shown in the mailbox owner's conversation list.
    pub contacter: Uid,
    pub category: i32,
    pub kind: i32,
    pub priority: i32,
    pub business_type: i32,
    /// The sender's idempotency key; empty when the sender gave none.
    pub msgkey: String,
    pub content: String,
    /// Unix seconds after which the message is no longer shown; 0 means never.
    pub expire_at_s: i64,
}

impl MessageBody {
    pub fn is_expired(&self, now_s: i64) -> bool {
        self.expire_at_s != 0 && now_s >= self.expire_at_s
    }
}

/// A message as stored in a private mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub mailbox: Mailbox,
    pub msg_id: MsgId,
    /// Unix microseconds at which ingest accepted the message.
    pub create_time_us: i64,
    /// What makes a delivery unique in its mailbox; see [`crate::event::Delivery::dedupe_key`].
    pub dedupe_key: String,
    pub body: MessageBody,
}

/// Stamps the `msg_id` of the next message of a mailbox.
///
/// The projector calls it in log order with the mailbox's last id, so ids strictly increase
/// within a mailbox whatever the clocks of the ingest nodes say, and a replay of the same
/// log reproduces the same ids (docs/design.md#no-missed-pull). The id stays close to the create time, so it
/// still reads as unix microseconds.
pub fn stamp_msg_id(last_msg_id: Option<MsgId>, create_time_us: i64) -> MsgId {
    match last_msg_id {
        Some(last) => create_time_us.max(last + 1),
        None => create_time_us,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn stamped_ids_strictly_increase_and_replay_identically(times in proptest::collection::vec(0i64..1_000_000, 1..200)) {
            let stamp_all = |times: &[i64]| {
                let mut last = None;
                times.iter().map(|&t| { let id = stamp_msg_id(last, t); last = Some(id); id }).collect::<Vec<_>>()
            };
            let ids = stamp_all(&times);
            prop_assert!(ids.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(ids.iter().zip(&times).all(|(id, t)| id >= t));
            prop_assert_eq!(ids, stamp_all(&times));
        }
    }

    #[test]
    fn expiry_zero_means_never() {
        let body = MessageBody::default();
        assert!(!body.is_expired(i64::MAX));
        let body = MessageBody { expire_at_s: 100, ..MessageBody::default() };
        assert!(!body.is_expired(99));
        assert!(body.is_expired(100));
    }
}
