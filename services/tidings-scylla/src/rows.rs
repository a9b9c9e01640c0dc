//! The typed rows the store's statements bind and read back, column for column.

use std::collections::{BTreeMap, BTreeSet};

use scylla::value::MaybeUnset;
use tidings_domain::message::{Attributes, Mailbox, MessageBody, StoredMessage};
use tidings_domain::{AppId, BroadcastId, MsgId, PublicSeq, Uid};
use tidings_ports::StoreError;

use crate::ttl::ttl_seconds;

/// A mailbox's static columns of `messages`: `app_id, uid, head, read_up_to,
/// hidden_broadcasts, attributes`.
pub(crate) type MailboxStateRow =
    (AppId, Uid, Option<MsgId>, Option<MsgId>, Option<BTreeSet<BroadcastId>>, Option<Attributes>);

/// An app's static columns of `broadcasts`: `app_id, last_seq, whitelist, whitelist_revision`.
pub(crate) type PublicStateRow = (AppId, Option<PublicSeq>, Option<BTreeMap<Uid, PublicSeq>>, Option<i32>);

/// A row of the full scan of `broadcasts`: `app_id, broadcast_id, body, whitelist`.
pub(crate) type PublicScanRow = (AppId, Option<BroadcastId>, Option<String>, Option<BTreeMap<Uid, PublicSeq>>);

#[derive(scylla::SerializeRow)]
pub(crate) struct MessageValues {
    app_id: AppId,
    uid: Uid,
    msg_id: MsgId,
    create_time_us: i64,
    dedupe_key: String,
    from_uid: Uid,
    to_uid: Uid,
    contacter: Uid,
    category: i32,
    #[scylla(rename = "type")]
    kind: i32,
    priority: i32,
    business_type: i32,
    msgkey: String,
    content: String,
    expire_at_s: i64,
    /// Unset on a message (not null, which would write a tombstone into every row).
    recalls: MaybeUnset<MsgId>,
    ttl: i32,
}

impl MessageValues {
    pub(crate) fn new(message: &StoredMessage, now_s: i64) -> Self {
        let body = &message.body;
        Self {
            app_id: message.mailbox.app_id,
            uid: message.mailbox.uid,
            msg_id: message.msg_id,
            create_time_us: message.create_time_us,
            dedupe_key: message.dedupe_key.clone(),
            from_uid: body.from_uid,
            to_uid: body.to_uid,
            contacter: body.contacter,
            category: body.category,
            kind: body.kind,
            priority: body.priority,
            business_type: body.business_type,
            msgkey: body.msgkey.clone(),
            content: body.content.clone(),
            expire_at_s: body.expire_at_s,
            recalls: MaybeUnset::from_option(message.recalls),
            ttl: ttl_seconds(body.expire_at_s, now_s),
        }
    }
}

#[derive(scylla::SerializeRow)]
pub(crate) struct DeliveryValues {
    pub app_id: AppId,
    pub uid: Uid,
    pub dedupe_key: String,
    pub msg_id: MsgId,
}

#[derive(scylla::SerializeRow)]
pub(crate) struct RaiseHead {
    pub app_id: AppId,
    pub uid: Uid,
    pub head: MsgId,
    pub written_at: i64,
}

#[derive(scylla::SerializeRow)]
pub(crate) struct RaiseReadUpTo {
    pub app_id: AppId,
    pub uid: Uid,
    pub read_up_to: MsgId,
    pub written_at: i64,
}

#[derive(scylla::SerializeRow)]
pub(crate) struct HideValues {
    pub app_id: AppId,
    pub uid: Uid,
    pub hidden_broadcasts: BTreeSet<BroadcastId>,
}

#[derive(scylla::SerializeRow)]
pub(crate) struct AttributesValues {
    pub app_id: AppId,
    pub uid: Uid,
    pub attributes: Attributes,
}

#[derive(scylla::SerializeRow)]
pub(crate) struct SendValues {
    pub app_id: AppId,
    pub send_key: String,
    pub uid: Uid,
    pub dedupe_key: String,
}

#[derive(scylla::SerializeRow)]
pub(crate) struct DeleteValues {
    pub app_id: AppId,
    pub uid: Uid,
    pub msg_id: MsgId,
}

#[derive(scylla::SerializeRow)]
pub(crate) struct BroadcastValues {
    pub app_id: AppId,
    pub broadcast_id: BroadcastId,
    /// The broadcast as [`crate::records`] encodes it.
    pub body: String,
}

#[derive(scylla::SerializeRow)]
pub(crate) struct PublicStateValues {
    pub app_id: AppId,
    pub last_seq: PublicSeq,
    pub whitelist: BTreeMap<Uid, PublicSeq>,
    pub whitelist_revision: i32,
}

/// A row of `messages` as the mailbox reads select it. A partition that has only static
/// columns (state, no messages) reads as one row without `msg_id`.
#[derive(scylla::DeserializeRow)]
pub(crate) struct MessageRow {
    app_id: AppId,
    uid: Uid,
    msg_id: Option<MsgId>,
    #[scylla(default_when_null)]
    create_time_us: i64,
    #[scylla(default_when_null)]
    dedupe_key: String,
    #[scylla(default_when_null)]
    from_uid: Uid,
    #[scylla(default_when_null)]
    to_uid: Uid,
    #[scylla(default_when_null)]
    contacter: Uid,
    #[scylla(default_when_null)]
    category: i32,
    #[scylla(rename = "type", default_when_null)]
    kind: i32,
    #[scylla(default_when_null)]
    priority: i32,
    #[scylla(default_when_null)]
    business_type: i32,
    #[scylla(default_when_null)]
    msgkey: String,
    #[scylla(default_when_null)]
    content: String,
    #[scylla(default_when_null)]
    expire_at_s: i64,
    recalls: Option<MsgId>,
}

impl MessageRow {
    pub(crate) fn into_message(self) -> Result<Option<StoredMessage>, StoreError> {
        let Some(msg_id) = self.msg_id else { return Ok(None) };
        if self.dedupe_key.is_empty() {
            return Err(StoreError::Corrupt(format!(
                "message {msg_id} of mailbox ({}, {}) has no dedupe key",
                self.app_id, self.uid
            )));
        }
        Ok(Some(StoredMessage {
            mailbox: Mailbox::new(self.app_id, self.uid),
            msg_id,
            create_time_us: self.create_time_us,
            dedupe_key: self.dedupe_key,
            body: MessageBody {
                from_uid: self.from_uid,
                to_uid: self.to_uid,
                contacter: self.contacter,
                category: self.category,
                kind: self.kind,
                priority: self.priority,
                business_type: self.business_type,
                msgkey: self.msgkey,
                content: self.content,
                expire_at_s: self.expire_at_s,
            },
            recalls: self.recalls,
        }))
    }
}
