//! What clients pull and send about their own mailbox.

use serde::{Deserialize, Serialize};
use tidings_domain::sync as domain;
use tidings_domain::{AppId, BroadcastId, MsgId, Uid};
use utoipa::ToSchema;

use super::mirror_enum;

/// Where a pulled message lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Private,
    Public,
    /// Not a message: a command about messages the client holds (`command` says which).
    Command,
}

mirror_enum!(Source <=> domain::Source { Private, Public, Command });

/// What a `source: command` entry tells the client to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CommandKind {
    /// Drop the messages named by `msg_ids` (they were recalled); a client that holds none
    /// of them ignores it.
    Delete,
}

/// One message of a pull, private or public, with every field of the seed's section 4.3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MailboxEntry {
    pub msg_id: MsgId,
    pub source: Source,
    pub from_uid: Uid,
    pub to_uid: Uid,
    pub contacter: Uid,
    /// Unix microseconds.
    pub create_time: i64,
    /// Unix seconds after which it is gone; 0 means never.
    pub expire: i64,
    pub is_read: bool,
    pub category: i32,
    #[serde(rename = "type")]
    pub kind: i32,
    pub priority: i32,
    pub business_type: i32,
    pub app_id: AppId,
    pub msgkey: String,
    pub content: String,
    /// Set on public entries, and on commands about a broadcast.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub broadcast_id: Option<BroadcastId>,
    /// Set on command entries only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub command: Option<CommandKind>,
    /// The messages a `delete` command drops: the `msg_id`s the client got them under.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub msg_ids: Option<Vec<MsgId>>,
}

impl From<domain::MailboxEntry> for MailboxEntry {
    fn from(entry: domain::MailboxEntry) -> Self {
        let (command, msg_ids) = match entry.command {
            Some(domain::Command::Delete { msg_ids }) => (Some(CommandKind::Delete), Some(msg_ids)),
            None => (None, None),
        };
        Self {
            msg_id: entry.msg_id,
            source: entry.source.into(),
            from_uid: entry.from_uid,
            to_uid: entry.to_uid,
            contacter: entry.contacter,
            create_time: entry.create_time,
            expire: entry.expire,
            is_read: entry.is_read,
            category: entry.category,
            kind: entry.kind,
            priority: entry.priority,
            business_type: entry.business_type,
            app_id: entry.app_id,
            msgkey: entry.msgkey,
            content: entry.content,
            broadcast_id: entry.broadcast_id,
            command,
            msg_ids,
        }
    }
}

/// Messages of a page, in their wire form.
pub(crate) fn entries(messages: Vec<domain::MailboxEntry>) -> Vec<MailboxEntry> {
    messages.into_iter().map(MailboxEntry::from).collect()
}

/// An incremental sync page.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncResponse {
    /// New messages, private and public merged, in `msg_id` order.
    pub messages: Vec<MailboxEntry>,
    /// Pass it back to get what comes next; opaque.
    pub cursor: String,
    /// Whether more is waiting right now.
    pub has_more: bool,
}

impl From<domain::SyncPage> for SyncResponse {
    fn from(page: domain::SyncPage) -> Self {
        Self { messages: entries(page.messages), cursor: page.cursor.encode(), has_more: page.has_more }
    }
}

/// A history page.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryResponse {
    /// In `msg_id` order.
    pub messages: Vec<MailboxEntry>,
    pub has_more: bool,
}

impl From<domain::HistoryPage> for HistoryResponse {
    fn from(page: domain::HistoryPage) -> Self {
        Self { messages: entries(page.messages), has_more: page.has_more }
    }
}

/// `POST /v1/mailbox/read`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// Everything up to this `msg_id` reads as read.
    #[schema(minimum = 1)]
    pub up_to: MsgId,
}

/// Durably accepted; visible to pulls once projected.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub accepted: bool,
}
