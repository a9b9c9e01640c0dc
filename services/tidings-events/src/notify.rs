//! [`NotifySignal`] ⇄ `schemas/avro/notify_signal`.

use apache_avro::types::Value;
use tidings_domain::event::NotifySignal;

use crate::avro::value::{Fields, record, union};
use crate::mailbox::{mailbox_from_fields, mailbox_to_value};

/// The record names of the branches of `NotifySignal.signal`, in schema order (never
/// reordered, only appended; a test checks them against the schema).
pub(crate) const BRANCHES: [&str; 2] = ["MailboxNotify", "PublicNotify"];
const MAILBOX: u32 = 0;
const PUBLIC: u32 = 1;

pub(crate) fn to_value(signal: &NotifySignal) -> Value {
    let (branch, value) = match signal {
        NotifySignal::Mailbox { mailbox, latest_msg_id } => {
            (MAILBOX, record([("mailbox", mailbox_to_value(*mailbox)), ("latest_msg_id", Value::Long(*latest_msg_id))]))
        }
        NotifySignal::Public { app_id, seq } => {
            (PUBLIC, record([("app_id", Value::Long(*app_id)), ("seq", Value::Long(*seq))]))
        }
    };
    record([("signal", union(branch, value))])
}

pub(crate) fn from_value(value: Value) -> Result<NotifySignal, String> {
    let (branch, mut fields) = Fields::of("NotifySignal", value)?.record_union("signal", &BRANCHES)?;
    Ok(match branch {
        MAILBOX => NotifySignal::Mailbox {
            mailbox: mailbox_from_fields(fields.record("mailbox", "Mailbox")?)?,
            latest_msg_id: fields.long("latest_msg_id")?,
        },
        PUBLIC => NotifySignal::Public { app_id: fields.long("app_id")?, seq: fields.long("seq")? },
        _ => unreachable!("BRANCHES has one name per branch"),
    })
}
