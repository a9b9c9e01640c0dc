//! Mailboxes and message records.

use std::collections::BTreeMap;

use crate::{AppId, FieldError, MsgId, Uid};

/// What a business server tells Tidings about a user, for personalized broadcasts: names to
/// strings (docs/design.md#templates).
pub type Attributes = BTreeMap<String, String>;

/// The most attributes one user has.
pub const MAX_ATTRIBUTES: usize = 64;
/// The most bytes of an attribute's name.
pub const MAX_ATTRIBUTE_NAME_BYTES: usize = 64;
/// The most bytes of an attribute's value.
pub const MAX_ATTRIBUTE_VALUE_BYTES: usize = 1024;

/// Checks a user's attributes; the error names the attribute at fault. A name is what a
/// template can write after `attrs.`: ASCII letters, digits and `_`, not starting with a
/// digit.
pub fn validate_attributes(attributes: &Attributes) -> Result<(), FieldError> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(FieldError::new(
            "body",
            format!("has {} attributes, above the maximum of {MAX_ATTRIBUTES}", attributes.len()),
        ));
    }
    for (name, value) in attributes {
        let identifier = name
            .bytes()
            .enumerate()
            .all(|(i, b)| b == b'_' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()));
        if name.is_empty() || !identifier {
            return Err(FieldError::new(
                name.as_str(),
                "is not an attribute name: ASCII letters, digits and _, not starting with a digit",
            ));
        }
        if name.len() > MAX_ATTRIBUTE_NAME_BYTES {
            return Err(FieldError::new(
                name.as_str(),
                format!("is a name longer than {MAX_ATTRIBUTE_NAME_BYTES} bytes"),
            ));
        }
        if value.len() > MAX_ATTRIBUTE_VALUE_BYTES {
            return Err(FieldError::new(
                name.as_str(),
                format!("is {} bytes, above the maximum of {MAX_ATTRIBUTE_VALUE_BYTES}", value.len()),
            ));
        }
    }
    Ok(())
}

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
    /// Set on a delete command only: the `msg_id` of the message a recall removed from this
    /// mailbox (docs/design.md#recall). A command row has the recalled message's body
    /// fields, without content.
    pub recalls: Option<MsgId>,
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
    fn attribute_rules_name_the_attribute() {
        let attrs = |pairs: &[(&str, &str)]| -> Attributes {
            pairs.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
        };
        assert_eq!(validate_attributes(&attrs(&[("nickname", "小明"), ("_tier2", ""), ("A", "x")])), Ok(()));
        let field = |attributes: Attributes| validate_attributes(&attributes).unwrap_err().field;
        assert_eq!(field(attrs(&[("ok", "1"), ("2fa", "on")])), "2fa");
        assert_eq!(field(attrs(&[("nick-name", "x")])), "nick-name");
        assert_eq!(field(attrs(&[("", "x")])), "");
        assert_eq!(
            field(attrs(&[(&"n".repeat(MAX_ATTRIBUTE_NAME_BYTES + 1), "x")])).len(),
            MAX_ATTRIBUTE_NAME_BYTES + 1
        );
        assert_eq!(field(attrs(&[("bio", &"x".repeat(MAX_ATTRIBUTE_VALUE_BYTES + 1))])), "bio");
        let many: Attributes = (0..=MAX_ATTRIBUTES).map(|i| (format!("a{i}"), String::new())).collect();
        assert_eq!(field(many), "body");
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
