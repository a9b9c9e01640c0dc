//! Test-only: proptest strategies for every domain event, sample values for any schema,
//! and a way to derive a "next version" of a shipped schema.

use apache_avro::Schema;
use apache_avro::schema::{Name, ResolvedSchema};
use apache_avro::types::Value;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use std::collections::HashMap;
use tidings_domain::broadcast::{Audience, BroadcastContent};
use tidings_domain::client::Platform;
use tidings_domain::event::{BroadcastChange, BroadcastEvent, Delivery, MailboxEvent, NotifySignal};
use tidings_domain::message::{Mailbox, MessageBody};

use crate::DeadLetter;
use crate::broadcast::ACTIONS;

fn mailbox() -> impl Strategy<Value = Mailbox> {
    (any::<i64>(), any::<i64>()).prop_map(|(app_id, uid)| Mailbox::new(app_id, uid))
}

fn message_body() -> impl Strategy<Value = MessageBody> {
    (
        (any::<i64>(), any::<i64>(), any::<i64>()),
        (any::<i32>(), any::<i32>(), any::<i32>(), any::<i32>()),
        (any::<String>(), any::<String>(), any::<i64>()),
    )
        .prop_map(
            |(
                (from_uid, to_uid, contacter),
                (category, kind, priority, business_type),
                (msgkey, content, expire_at_s),
            )| MessageBody {
                from_uid,
                to_uid,
                contacter,
                category,
                kind,
                priority,
                business_type,
                msgkey,
                content,
                expire_at_s,
            },
        )
}

pub(crate) fn mailbox_event() -> impl Strategy<Value = MailboxEvent> {
    prop_oneof![
        (mailbox(), any::<String>(), any::<i64>(), message_body()).prop_map(
            |(mailbox, dedupe_key, create_time_us, body)| {
                MailboxEvent::Delivered(Delivery { mailbox, dedupe_key, create_time_us, body })
            }
        ),
        (mailbox(), any::<i64>()).prop_map(|(mailbox, up_to)| MailboxEvent::ReadUpTo { mailbox, up_to }),
        (mailbox(), any::<i64>()).prop_map(|(mailbox, msg_id)| MailboxEvent::MessageDeleted { mailbox, msg_id }),
        (mailbox(), any::<i64>())
            .prop_map(|(mailbox, broadcast_id)| { MailboxEvent::BroadcastHidden { mailbox, broadcast_id } }),
    ]
}

fn content() -> impl Strategy<Value = BroadcastContent> {
    let audience =
        (vec(select(Platform::ALL.to_vec()), 0..8), option::of(any::<i64>()), option::of(any::<i64>()), any::<bool>())
            .prop_map(|(platforms, min_core_level, max_core_level, logged_in_only)| Audience {
                platforms,
                min_core_level,
                max_core_level,
                logged_in_only,
            });
    ((any::<i32>(), any::<i32>(), any::<i32>(), any::<i32>()), (any::<String>(), any::<i64>(), audience)).prop_map(
        |((category, kind, priority, business_type), (content, expire_at_s, audience))| BroadcastContent {
            category,
            kind,
            priority,
            business_type,
            content,
            expire_at_s,
            audience,
        },
    )
}

pub(crate) fn broadcast_event() -> impl Strategy<Value = BroadcastEvent> {
    let change = prop_oneof![
        (any::<i64>(), content())
            .prop_map(|(broadcast_id, content)| BroadcastChange::Created { broadcast_id, content }),
        (any::<i64>(), any::<i32>(), content()).prop_map(|(broadcast_id, revision, content)| {
            BroadcastChange::Modified { broadcast_id, revision, content }
        }),
        (any::<i64>(), any::<i32>(), select(ACTIONS.map(|(action, _)| action).to_vec()))
            .prop_map(|(broadcast_id, revision, action)| BroadcastChange::Lifecycle { broadcast_id, revision, action }),
        (any::<i32>(), vec(any::<i64>(), 0..20))
            .prop_map(|(revision, uids)| BroadcastChange::WhitelistReplaced { revision, uids }),
    ];
    (any::<i64>(), any::<i64>(), change).prop_map(|(app_id, at_us, change)| BroadcastEvent { app_id, at_us, change })
}

pub(crate) fn notify_signal() -> impl Strategy<Value = NotifySignal> {
    prop_oneof![
        (mailbox(), any::<i64>()).prop_map(|(mailbox, latest_msg_id)| NotifySignal::Mailbox { mailbox, latest_msg_id }),
        (any::<i64>(), any::<i64>()).prop_map(|(app_id, seq)| NotifySignal::Public { app_id, seq }),
    ]
}

pub(crate) fn dead_letter() -> impl Strategy<Value = DeadLetter> {
    (
        (any::<String>(), any::<i32>(), any::<i64>()),
        (vec(any::<u8>(), 0..64), vec(any::<u8>(), 0..256)),
        (any::<String>(), any::<i64>()),
    )
        .prop_map(|((source_topic, partition, offset), (key, payload), (reason, at_us))| DeadLetter {
            source_topic,
            partition,
            offset,
            key,
            payload,
            reason,
            at_us,
        })
}

/// Values of `schema` that, together, take every branch of every union (of up to 16
/// branches) and every enum symbol: sample `k` takes branch `k mod n` of each union.
pub(crate) fn samples(schema: &Schema) -> Vec<Value> {
    let resolved = ResolvedSchema::try_from(schema).expect("a parsed schema resolves");
    let names = resolved.get_names();
    (0..16).map(|k| sample(schema, names, k)).collect()
}

fn sample(schema: &Schema, names: &HashMap<Name, &Schema>, k: usize) -> Value {
    let small = i32::try_from(k).expect("k < 16");
    match schema {
        Schema::Ref { name } => sample(names[name], names, k),
        Schema::Null => Value::Null,
        Schema::Boolean => Value::Boolean(k % 2 == 1),
        Schema::Int => Value::Int(small * 1_000 - 3),
        Schema::Long => Value::Long(i64::from(small) * 1_000_000_007 - 5),
        Schema::Float => Value::Float(0.5),
        Schema::Double => Value::Double(0.25),
        Schema::Bytes => Value::Bytes(vec![0, 0xff, small as u8]),
        Schema::String => Value::String(format!("sample {k} ✓")),
        Schema::Record(record) => Value::Record(
            record.fields.iter().map(|field| (field.name.clone(), sample(&field.schema, names, k))).collect(),
        ),
        Schema::Enum(enumeration) => {
            let index = k % enumeration.symbols.len();
            Value::Enum(index as u32, enumeration.symbols[index].clone())
        }
        Schema::Array(array) => Value::Array((0..k % 3).map(|j| sample(&array.items, names, k + j)).collect()),
        Schema::Map(map) => {
            Value::Map((0..k % 3).map(|j| (format!("key {j}"), sample(&map.types, names, k + j))).collect())
        }
        Schema::Union(union) => {
            let index = k % union.variants().len();
            Value::Union(index as u32, Box::new(sample(&union.variants()[index], names, k)))
        }
        Schema::Fixed(fixed) => Value::Fixed(fixed.size, vec![small as u8; fixed.size]),
        other => panic!("no sample for {other:?}; extend test_support::sample"),
    }
}

/// A shipped schema with `edit` applied to its JSON: how a test makes a "next version".
pub(crate) fn next_version(shipped: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut json: serde_json::Value = serde_json::from_str(shipped).expect("shipped schema is json");
    edit(&mut json);
    json.to_string()
}

/// The JSON object defining the named type `name` (a record, enum or fixed), wherever it
/// sits in the schema.
pub(crate) fn named_type<'a>(json: &'a mut serde_json::Value, name: &str) -> Option<&'a mut serde_json::Value> {
    let defines_it = json.get("name").and_then(|n| n.as_str()) == Some(name)
        && json.get("type").and_then(|t| t.as_str()).is_some_and(|t| ["record", "enum", "fixed"].contains(&t));
    if defines_it {
        return Some(json);
    }
    match json {
        serde_json::Value::Array(items) => items.iter_mut().find_map(|item| named_type(item, name)),
        serde_json::Value::Object(map) => map.values_mut().find_map(|value| named_type(value, name)),
        _ => None,
    }
}
