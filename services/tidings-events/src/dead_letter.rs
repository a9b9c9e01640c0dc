//! [`DeadLetter`] ⇄ `schemas/avro/dead_letter`.

use apache_avro::types::Value;

use crate::avro::value::{Fields, record};

/// A record a consumer could not decode or apply (docs/design.md#bad-input-changes-nothing), kept byte for byte with
/// where it came from and why, so it can be inspected and replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub source_topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub reason: String,
    /// Unix microseconds at which the record was dead-lettered.
    pub at_us: i64,
}

pub(crate) fn to_value(letter: &DeadLetter) -> Value {
    record([
        ("source_topic", Value::String(letter.source_topic.clone())),
        ("partition", Value::Int(letter.partition)),
        ("offset", Value::Long(letter.offset)),
        ("key", Value::Bytes(letter.key.clone())),
        ("payload", Value::Bytes(letter.payload.clone())),
        ("reason", Value::String(letter.reason.clone())),
        ("at_us", Value::Long(letter.at_us)),
    ])
}

pub(crate) fn from_value(value: Value) -> Result<DeadLetter, String> {
    let mut fields = Fields::of("DeadLetter", value)?;
    Ok(DeadLetter {
        source_topic: fields.string("source_topic")?,
        partition: fields.int("partition")?,
        offset: fields.long("offset")?,
        key: fields.bytes("key")?,
        payload: fields.bytes("payload")?,
        reason: fields.string("reason")?,
        at_us: fields.long("at_us")?,
    })
}
