//! [`MailboxEvent`] ⇄ `schemas/avro/mailbox_event`.

use apache_avro::types::Value;
use tidings_domain::event::{Delivery, MailboxEvent, SendRecord};
use tidings_domain::message::{Attributes, Mailbox, MessageBody};

use crate::avro::value::{Fields, record, union};

/// The record names of the branches of `MailboxEvent.event`, in schema order (never
/// reordered, only appended; a test checks them against the schema).
pub(crate) const BRANCHES: [&str; 6] =
    ["Delivered", "ReadUpTo", "MessageDeleted", "BroadcastHidden", "Recalled", "AttributesReplaced"];
const DELIVERED: u32 = 0;
const READ_UP_TO: u32 = 1;
const MESSAGE_DELETED: u32 = 2;
const BROADCAST_HIDDEN: u32 = 3;
const RECALLED: u32 = 4;
const ATTRIBUTES_REPLACED: u32 = 5;

pub(crate) fn to_value(event: &MailboxEvent) -> Value {
    let (branch, value) = match event {
        MailboxEvent::Delivered(delivery) => (
            DELIVERED,
            record([
                ("mailbox", mailbox_to_value(delivery.mailbox)),
                ("dedupe_key", Value::String(delivery.dedupe_key.clone())),
                ("create_time_us", Value::Long(delivery.create_time_us)),
                ("body", body_to_value(&delivery.body)),
                ("send", send_to_value(delivery.send.as_ref())),
            ]),
        ),
        MailboxEvent::ReadUpTo { mailbox, up_to } => {
            (READ_UP_TO, record([("mailbox", mailbox_to_value(*mailbox)), ("up_to", Value::Long(*up_to))]))
        }
        MailboxEvent::MessageDeleted { mailbox, msg_id } => {
            (MESSAGE_DELETED, record([("mailbox", mailbox_to_value(*mailbox)), ("msg_id", Value::Long(*msg_id))]))
        }
        MailboxEvent::BroadcastHidden { mailbox, broadcast_id } => (
            BROADCAST_HIDDEN,
            record([("mailbox", mailbox_to_value(*mailbox)), ("broadcast_id", Value::Long(*broadcast_id))]),
        ),
        MailboxEvent::Recalled { mailbox, dedupe_key, at_us } => (
            RECALLED,
            record([
                ("mailbox", mailbox_to_value(*mailbox)),
                ("dedupe_key", Value::String(dedupe_key.clone())),
                ("at_us", Value::Long(*at_us)),
            ]),
        ),
        MailboxEvent::AttributesReplaced { mailbox, attributes } => {
            let attributes = attributes
                .iter()
                .map(|(name, value)| {
                    record([("name", Value::String(name.clone())), ("value", Value::String(value.clone()))])
                })
                .collect();
            (
                ATTRIBUTES_REPLACED,
                record([("mailbox", mailbox_to_value(*mailbox)), ("attributes", Value::Array(attributes))]),
            )
        }
    };
    record([("event", union(branch, value))])
}

pub(crate) fn from_value(value: Value) -> Result<MailboxEvent, String> {
    let (branch, mut fields) = Fields::of("MailboxEvent", value)?.record_union("event", &BRANCHES)?;
    let mailbox = mailbox_from_fields(fields.record("mailbox", "Mailbox")?)?;
    Ok(match branch {
        DELIVERED => MailboxEvent::Delivered(Delivery {
            mailbox,
            dedupe_key: fields.string("dedupe_key")?,
            create_time_us: fields.long("create_time_us")?,
            body: body_from_fields(fields.record("body", "MessageBody")?)?,
            send: fields.optional_record("send", "Send")?.map(send_from_fields).transpose()?,
        }),
        READ_UP_TO => MailboxEvent::ReadUpTo { mailbox, up_to: fields.long("up_to")? },
        MESSAGE_DELETED => MailboxEvent::MessageDeleted { mailbox, msg_id: fields.long("msg_id")? },
        BROADCAST_HIDDEN => MailboxEvent::BroadcastHidden { mailbox, broadcast_id: fields.long("broadcast_id")? },
        RECALLED => {
            MailboxEvent::Recalled { mailbox, dedupe_key: fields.string("dedupe_key")?, at_us: fields.long("at_us")? }
        }
        ATTRIBUTES_REPLACED => {
            let mut attributes = Attributes::new();
            for attribute in fields.array("attributes")? {
                let mut attribute = Fields::of("Attribute", attribute)?;
                let name = attribute.string("name")?;
                if attributes.insert(name.clone(), attribute.string("value")?).is_some() {
                    return Err(format!("AttributesReplaced.attributes: {name:?} twice"));
                }
            }
            MailboxEvent::AttributesReplaced { mailbox, attributes }
        }
        _ => unreachable!("BRANCHES has one name per branch"),
    })
}

/// The `Mailbox` record, shared with `notify_signal`.
pub(crate) fn mailbox_to_value(mailbox: Mailbox) -> Value {
    record([("app_id", Value::Long(mailbox.app_id)), ("uid", Value::Long(mailbox.uid))])
}

pub(crate) fn mailbox_from_fields(mut fields: Fields) -> Result<Mailbox, String> {
    Ok(Mailbox::new(fields.long("app_id")?, fields.long("uid")?))
}

/// `Delivered.send`: null on every delivery but a send's first (and in events before v2).
fn send_to_value(send: Option<&SendRecord>) -> Value {
    let Some(send) = send else { return union(0, Value::Null) };
    union(
        1,
        record([
            ("request_id", Value::String(send.request_id.clone())),
            ("recipients", Value::Array(send.recipients.iter().copied().map(Value::Long).collect())),
        ]),
    )
}

fn send_from_fields(mut fields: Fields) -> Result<SendRecord, String> {
    Ok(SendRecord { request_id: fields.string("request_id")?, recipients: fields.longs("recipients")? })
}

fn body_to_value(body: &MessageBody) -> Value {
    record([
        ("from_uid", Value::Long(body.from_uid)),
        ("to_uid", Value::Long(body.to_uid)),
        ("contacter", Value::Long(body.contacter)),
        ("category", Value::Int(body.category)),
        ("type", Value::Int(body.kind)),
        ("priority", Value::Int(body.priority)),
        ("business_type", Value::Int(body.business_type)),
        ("msgkey", Value::String(body.msgkey.clone())),
        ("content", Value::String(body.content.clone())),
        ("expire_at_s", Value::Long(body.expire_at_s)),
    ])
}

fn body_from_fields(mut fields: Fields) -> Result<MessageBody, String> {
    Ok(MessageBody {
        from_uid: fields.long("from_uid")?,
        to_uid: fields.long("to_uid")?,
        contacter: fields.long("contacter")?,
        category: fields.int("category")?,
        kind: fields.int("type")?,
        priority: fields.int("priority")?,
        business_type: fields.int("business_type")?,
        msgkey: fields.string("msgkey")?,
        content: fields.string("content")?,
        expire_at_s: fields.long("expire_at_s")?,
    })
}
