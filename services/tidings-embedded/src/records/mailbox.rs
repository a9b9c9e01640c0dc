//! Records of private mailboxes: messages (`store_messages`) and mailbox states
//! (`store_mailboxes`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use tidings_domain::message::{Attributes, Mailbox, MessageBody, StoredMessage};
use tidings_domain::{AppId, BroadcastId, MsgId, Uid};
use tidings_ports::MailboxState;

use super::Stored;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MessageRecord {
    mailbox: MailboxRecord,
    msg_id: MsgId,
    create_time_us: i64,
    dedupe_key: String,
    body: MessageBodyRecord,
    /// Only on a delete command's row, so a message's bytes are what they always were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    recalls: Option<MsgId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct MailboxRecord {
    app_id: AppId,
    uid: Uid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct MessageBodyRecord {
    from_uid: Uid,
    to_uid: Uid,
    contacter: Uid,
    category: i32,
    #[serde(rename = "type")]
    kind: i32,
    priority: i32,
    business_type: i32,
    msgkey: String,
    content: String,
    expire_at_s: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MailboxStateRecord {
    head: Option<MsgId>,
    read_up_to: MsgId,
    hidden_broadcasts: BTreeSet<BroadcastId>,
    /// Absent while empty, so the bytes of a state without attributes are unchanged.
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    attributes: Attributes,
}

impl Stored for StoredMessage {
    type Record = MessageRecord;
    const WHAT: &'static str = "message";
}

impl Stored for MailboxState {
    type Record = MailboxStateRecord;
    const WHAT: &'static str = "mailbox state";
}

impl From<&StoredMessage> for MessageRecord {
    fn from(message: &StoredMessage) -> Self {
        let body = &message.body;
        Self {
            mailbox: MailboxRecord { app_id: message.mailbox.app_id, uid: message.mailbox.uid },
            msg_id: message.msg_id,
            create_time_us: message.create_time_us,
            dedupe_key: message.dedupe_key.clone(),
            body: MessageBodyRecord {
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
            },
            recalls: message.recalls,
        }
    }
}

impl From<MessageRecord> for StoredMessage {
    fn from(record: MessageRecord) -> Self {
        let body = record.body;
        Self {
            mailbox: Mailbox::new(record.mailbox.app_id, record.mailbox.uid),
            msg_id: record.msg_id,
            create_time_us: record.create_time_us,
            dedupe_key: record.dedupe_key,
            body: MessageBody {
                from_uid: body.from_uid,
                to_uid: body.to_uid,
                contacter: body.contacter,
                category: body.category,
                kind: body.kind,
                priority: body.priority,
                business_type: body.business_type,
                msgkey: body.msgkey,
                content: body.content,
                expire_at_s: body.expire_at_s,
            },
            recalls: record.recalls,
        }
    }
}

impl From<&MailboxState> for MailboxStateRecord {
    fn from(state: &MailboxState) -> Self {
        Self {
            head: state.head,
            read_up_to: state.read_up_to,
            hidden_broadcasts: state.hidden_broadcasts.clone(),
            attributes: state.attributes.clone(),
        }
    }
}

impl From<MailboxStateRecord> for MailboxState {
    fn from(record: MailboxStateRecord) -> Self {
        Self {
            head: record.head,
            read_up_to: record.read_up_to,
            hidden_broadcasts: record.hidden_broadcasts,
            attributes: record.attributes,
        }
    }
}

/// These guard the stored format: changing what they expect needs a new layout version and
/// a migration of the data already stored.
#[cfg(test)]
mod tests {
    use super::super::{decode, encode};
    use super::*;

    #[test]
    fn stored_message_format_is_stable() {
        const STORED: &str = r#"{"mailbox":{"app_id":42,"uid":7},"msg_id":1700000000000123,"create_time_us":1700000000000120,"dedupe_key":"delivery-9","body":{"from_uid":3,"to_uid":7,"contacter":3,"category":1,"type":2,"priority":3,"business_type":4,"msgkey":"key-9","content":"hello \"you\"","expire_at_s":4000000000}}"#;
        let message = StoredMessage {
            mailbox: Mailbox::new(42, 7),
            msg_id: 1_700_000_000_000_123,
            create_time_us: 1_700_000_000_000_120,
            dedupe_key: "delivery-9".into(),
            body: MessageBody {
                from_uid: 3,
                to_uid: 7,
                contacter: 3,
                category: 1,
                kind: 2,
                priority: 3,
                business_type: 4,
                msgkey: "key-9".into(),
                content: "hello \"you\"".into(),
                expire_at_s: 4_000_000_000,
            },
            recalls: None,
        };
        assert_eq!(String::from_utf8(encode(&message).unwrap()).unwrap(), STORED);
        assert_eq!(decode::<StoredMessage>(STORED.as_bytes()).unwrap(), message);

        let command = StoredMessage { recalls: Some(1_700_000_000_000_001), ..message };
        let stored_command = STORED.replace("}}", r#"},"recalls":1700000000000001}"#);
        assert_eq!(String::from_utf8(encode(&command).unwrap()).unwrap(), stored_command);
        assert_eq!(decode::<StoredMessage>(stored_command.as_bytes()).unwrap(), command);
    }

    #[test]
    fn stored_mailbox_state_format_is_stable() {
        const STORED: &str = r#"{"head":1700000000000123,"read_up_to":1700000000000100,"hidden_broadcasts":[5,40]}"#;
        let state = MailboxState {
            head: Some(1_700_000_000_000_123),
            read_up_to: 1_700_000_000_000_100,
            hidden_broadcasts: BTreeSet::from([5, 40]),
            attributes: Attributes::new(),
        };
        assert_eq!(String::from_utf8(encode(&state).unwrap()).unwrap(), STORED);
        assert_eq!(decode::<MailboxState>(STORED.as_bytes()).unwrap(), state);

        let with_attributes =
            MailboxState { attributes: Attributes::from([("nickname".into(), "小明".into())]), ..state };
        let stored = STORED.replace("]}", r#"],"attributes":{"nickname":"小明"}}"#);
        assert_eq!(String::from_utf8(encode(&with_attributes).unwrap()).unwrap(), stored);
        assert_eq!(decode::<MailboxState>(stored.as_bytes()).unwrap(), with_attributes);
    }
}
