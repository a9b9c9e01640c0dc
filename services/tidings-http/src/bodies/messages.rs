//! Sends from business servers.

use serde::{Deserialize, Serialize};
use tidings_domain::Uid;
use tidings_ingest::{RecallReceipt, SendCommand, SendReceipt};
use utoipa::ToSchema;

use super::mirror_enum;

/// How a message reaches its recipients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SendMode {
    /// One recipient.
    Unicast,
    /// A small list of recipients (at most the configured maximum, 100 by default).
    Batch,
    /// One-to-one chat: written to the receiver's and the sender's mailbox, so the
    /// sender's other devices see it too.
    Private,
}

mirror_enum!(SendMode <=> tidings_domain::message::SendMode { Unicast, Batch, Private });

/// `POST /v1/apps/{app_id}/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    pub mode: SendMode,
    /// The sender; 0 is the system (not allowed in private chats).
    #[schema(minimum = 0)]
    pub from_uid: Uid,
    /// The recipients, each once: exactly one for `unicast` and `private` (another user
    /// than `from_uid`), up to `ingest.max_batch_recipients` (100 by default) for `batch`.
    #[schema(value_type = BTreeSet<i64>, min_items = 1)]
    pub to_uids: Vec<Uid>,
    /// The conversation partner shown in the recipient's list; defaults to `from_uid`.
    #[serde(default)]
    pub contacter: Option<Uid>,
    #[serde(default)]
    pub category: Option<i32>,
    #[serde(default, rename = "type")]
    pub kind: Option<i32>,
    #[serde(default)]
    pub priority: Option<i32>,
    #[serde(default)]
    pub business_type: Option<i32>,
    /// The sender's idempotency key: the same key twice delivers once. At most
    /// `ingest.max_msgkey_bytes` (128 by default) bytes.
    #[serde(default)]
    pub msgkey: Option<String>,
    /// At most `ingest.max_content_bytes` (65536 by default) bytes.
    #[schema(min_length = 1)]
    pub content: String,
    /// Seconds until the message expires; none or 0 means never.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub expire_s: Option<i64>,
}

impl From<SendRequest> for SendCommand {
    fn from(request: SendRequest) -> Self {
        Self {
            mode: request.mode.into(),
            from_uid: request.from_uid,
            to_uids: request.to_uids,
            contacter: request.contacter,
            category: request.category,
            kind: request.kind,
            priority: request.priority,
            business_type: request.business_type,
            msgkey: request.msgkey,
            content: request.content,
            expire_s: request.expire_s,
        }
    }
}

/// The answer to an accepted send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SendAccepted {
    /// This send's id (the dedupe key of its deliveries when no msgkey was given).
    pub request_id: String,
    /// How many mailboxes it goes to.
    pub deliveries: usize,
}

impl From<SendReceipt> for SendAccepted {
    fn from(receipt: SendReceipt) -> Self {
        Self { request_id: receipt.request_id, deliveries: receipt.deliveries }
    }
}

/// `POST /v1/apps/{app_id}/messages/recall`: every send of a sender under one msgkey.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecallByMsgkeyRequest {
    /// The sender the msgkey belongs to; 0 is the system.
    #[schema(minimum = 0)]
    pub from_uid: Uid,
    /// The msgkey the send was made with.
    #[schema(min_length = 1)]
    pub msgkey: String,
}

/// The answer to an accepted recall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RecallAccepted {
    /// How many mailboxes the recall goes to: each drops the message, and a device that
    /// synced it gets a delete command on its next sync.
    pub recipients: usize,
}

impl From<RecallReceipt> for RecallAccepted {
    fn from(receipt: RecallReceipt) -> Self {
        Self { recipients: receipt.recipients }
    }
}

/// A user's attributes, which personalized broadcasts read as `attrs` (`PUT` replaces them
/// all; at most 64, names of ASCII letters, digits and `_` not starting with a digit, up to
/// 64 bytes, values up to 1024 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(example = json!({"nickname": "Ming", "tier": "gold"}))]
pub struct AttributesBody(pub std::collections::BTreeMap<String, String>);
