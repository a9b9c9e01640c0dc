//! Schema evolution: data written with any version of a family decodes with the newest,
//! checked on what ships and on "next versions" that the rule allows or breaks.

use apache_avro::schema_compatibility::SchemaCompatibility;
use apache_avro::types::Value;
use apache_avro::{from_avro_datum, to_avro_datum};
use proptest::prelude::*;
use serde_json::json;

use super::samples::samples;
use super::schema_edits::{named_type, next_version};
use super::strategies;
use crate::avro::family::{SchemaFamily, SchemaVersion};
use crate::avro::resolve::Resolver;
use crate::avro::single_object;
use crate::{EventCodec, broadcast, dead_letter, mailbox, notify, reach, shipped};
use tidings_domain::broadcast::{BroadcastContent, ContentFormat};
use tidings_domain::event::{BroadcastChange, BroadcastEvent};

type Mapping = fn(Value) -> Result<(), String>;

/// Every shipped family with the mapping that turns its values into domain types.
fn shipped_families(codec: &EventCodec) -> [(&SchemaFamily, Mapping); 5] {
    let families = &codec.families;
    [
        (&families.mailbox, |v| mailbox::from_value(v).map(drop)),
        (&families.broadcast, |v| broadcast::from_value(v).map(drop)),
        (&families.notify, |v| notify::from_value(v).map(drop)),
        (&families.reach, |v| reach::from_value(v).map(drop)),
        (&families.dead_letter, |v| dead_letter::from_value(v).map(drop)),
    ]
}

/// Single-object bytes of `value` written with `version`, whatever the family's newest.
fn written_with(version: &SchemaVersion, value: Value) -> Vec<u8> {
    let mut bytes = single_object::header(version.fingerprint).to_vec();
    bytes.extend(to_avro_datum(&version.schema, value).unwrap());
    bytes
}

/// The evolution rule, checked on what ships: a datum written with any version of a
/// family decodes with the newest one into the domain type.
#[test]
fn every_shipped_version_decodes_with_the_current_reader() {
    let codec = EventCodec::new();
    for (family, to_domain) in shipped_families(&codec) {
        let current = family.current();
        for version in family.versions() {
            SchemaCompatibility::can_read(&version.schema, &current.schema)
                .unwrap_or_else(|error| panic!("{} v{} -> v{}: {error}", family.name, version.number, current.number));
            for value in samples(&version.schema) {
                let bytes = written_with(version, value.clone());
                let decoded = family.decode(&bytes).unwrap_or_else(|error| panic!("{error}\nwritten: {value:?}"));
                to_domain(decoded)
                    .unwrap_or_else(|error| panic!("{} v{}: {error}\nwritten: {value:?}", family.name, version.number));
            }
        }
    }
}

/// Resolving a datum to the schema it was written with changes nothing.
#[test]
fn resolving_to_the_writer_schema_is_the_identity() {
    let codec = EventCodec::new();
    for (family, _) in shipped_families(&codec) {
        for version in family.versions() {
            let resolver = Resolver::new(&version.names, &version.names);
            for value in samples(&version.schema) {
                let resolved = resolver.resolve(value.clone(), &version.schema, &version.schema).unwrap();
                assert_eq!(resolved, value, "{} v{}", family.name, version.number);
            }
        }
    }
}

/// A "next version" of `broadcast_event` (after the newest shipped one) as the rule allows it: new fields with defaults
/// (at the top, in a branch, in a nested record, of an enum type), a new union branch
/// and new enum symbols, all appended.
fn broadcast_event_next() -> String {
    next_version(shipped::BROADCAST_EVENT.last().unwrap(), |schema| {
        let fields = |json: &mut serde_json::Value, name: &str| -> serde_json::Value {
            named_type(json, name).unwrap()["fields"].take()
        };
        let mut add_field = |name: &str, field: serde_json::Value| {
            let mut all = fields(schema, name);
            all.as_array_mut().unwrap().push(field);
            named_type(schema, name).unwrap()["fields"] = all;
        };
        add_field("BroadcastEvent", json!({"name": "source", "type": ["null", "string"], "default": null}));
        add_field("Modified", json!({"name": "reason", "type": "string", "default": "unspecified"}));
        add_field(
            "Audience",
            json!({"name": "regions", "type": {"type": "array", "items": "string"}, "default": ["cn"]}),
        );
        add_field(
            "Created",
            json!({
                "name": "channel",
                "type": {"type": "enum", "name": "Channel", "symbols": ["push", "silent"]},
                "default": "silent"
            }),
        );
        let change = &mut named_type(schema, "BroadcastEvent").unwrap()["fields"][2]["type"];
        change.as_array_mut().unwrap().push(json!({
            "type": "record",
            "name": "Pinned",
            "fields": [{"name": "broadcast_id", "type": "long"}]
        }));
        for (name, symbol) in [("LifecycleAction", "archive"), ("Platform", "harmony")] {
            named_type(schema, name).unwrap()["symbols"].as_array_mut().unwrap().push(json!(symbol));
        }
    })
}

/// Every shipped `broadcast_event` version, then `next`.
fn shipped_then(next: &str) -> Vec<&str> {
    shipped::BROADCAST_EVENT.iter().copied().chain([next]).collect()
}

/// The event with plain-text content, as every event before v3 was.
fn as_text(event: BroadcastEvent) -> BroadcastEvent {
    let text = |content: BroadcastContent| BroadcastContent { format: ContentFormat::Text, ..content };
    let change = match event.change {
        BroadcastChange::Created { broadcast_id, content } => {
            BroadcastChange::Created { broadcast_id, content: text(content) }
        }
        BroadcastChange::Modified { broadcast_id, revision, content } => {
            BroadcastChange::Modified { broadcast_id, revision, content: text(content) }
        }
        other => other,
    };
    BroadcastEvent { change, ..event }
}

/// The datum without the record fields named `field` at any depth, as a version before
/// the field was added writes it (v3's `BroadcastContent.template`, mailbox v2's
/// `Delivered.send`).
fn without_field(value: Value, field: &str) -> Value {
    match value {
        Value::Record(fields) => Value::Record(
            fields
                .into_iter()
                .filter(|(name, _)| name != field)
                .map(|(name, v)| (name, without_field(v, field)))
                .collect(),
        ),
        Value::Union(branch, inner) => Value::Union(branch, Box::new(without_field(*inner, field))),
        other => other,
    }
}

proptest! {
    /// A datum written with v1 decodes under the next version, to the same domain value.
    #[test]
    fn v1_broadcast_events_decode_under_the_next_version(event in strategies::broadcast_event()) {
        let v1 = SchemaFamily::parse("broadcast_event", &[shipped::BROADCAST_EVENT[0]]).unwrap();
        let next = broadcast_event_next();
        let evolved = SchemaFamily::parse("broadcast_event", &shipped_then(&next)).unwrap();
        prop_assert_eq!(evolved.current().number, 4);
        // v1 has no actor nor template: its events decode with none.
        let event = BroadcastEvent { actor: None, ..as_text(event) };
        let Value::Record(mut v1_fields) = without_field(broadcast::to_value(&event), "template") else { panic!("not a record") };
        prop_assert_eq!(v1_fields.pop().map(|(name, _)| name), Some("actor".to_owned()));
        let bytes = v1.encode(Value::Record(v1_fields));
        let decoded = evolved.decode(&bytes).unwrap();
        let Value::Record(fields) = &decoded else { panic!("not a record") };
        prop_assert_eq!(&fields[3], &("actor".to_owned(), Value::Union(0, Box::new(Value::Null))));
        prop_assert_eq!(&fields[4], &("source".to_owned(), Value::Union(0, Box::new(Value::Null))));
        prop_assert_eq!(broadcast::from_value(decoded).unwrap(), event);
    }

    /// A datum written with v2 (the actor included, no template) decodes under the next version.
    #[test]
    fn v2_broadcast_events_decode_under_the_next_version(event in strategies::broadcast_event()) {
        let v2 = SchemaFamily::parse("broadcast_event", &shipped::BROADCAST_EVENT[..2]).unwrap();
        let next = broadcast_event_next();
        let evolved = SchemaFamily::parse("broadcast_event", &shipped_then(&next)).unwrap();
        let event = as_text(event);
        let decoded = evolved.decode(&v2.encode(without_field(broadcast::to_value(&event), "template"))).unwrap();
        prop_assert_eq!(broadcast::from_value(decoded).unwrap(), event);
    }

    /// A datum written with v3 (the template included) decodes under the next version.
    #[test]
    fn v3_broadcast_events_decode_under_the_next_version(event in strategies::broadcast_event()) {
        let codec = EventCodec::new();
        let next = broadcast_event_next();
        let evolved = SchemaFamily::parse("broadcast_event", &shipped_then(&next)).unwrap();
        let decoded = evolved.decode(&codec.encode_broadcast(&event)).unwrap();
        prop_assert_eq!(broadcast::from_value(decoded).unwrap(), event);
    }

    /// A datum written with v1 (no `send`, the first four branches) decodes as the event.
    #[test]
    fn v1_mailbox_events_decode_under_v2(event in strategies::v1_mailbox_event()) {
        let v1 = SchemaFamily::parse("mailbox_event", &shipped::MAILBOX_EVENT[..1]).unwrap();
        let bytes = v1.encode(without_field(mailbox::to_value(&event), "send"));
        prop_assert_eq!(EventCodec::new().decode_mailbox(&bytes).unwrap(), event);
    }

    #[test]
    fn v2_mailbox_events_decode_under_the_next_version(event in strategies::mailbox_event()) {
        let newest = *shipped::MAILBOX_EVENT.last().unwrap();
        let next = next_version(newest, |schema| {
            let record = named_type(schema, "ReadUpTo").unwrap();
            record["fields"].as_array_mut().unwrap().push(json!({"name": "device", "type": "string", "default": ""}));
        });
        let evolved =
            SchemaFamily::parse("mailbox_event", &shipped::MAILBOX_EVENT.iter().copied().chain([next.as_str()]).collect::<Vec<_>>())
                .unwrap();
        let decoded = evolved.decode(&EventCodec::new().encode_mailbox(&event)).unwrap();
        prop_assert_eq!(mailbox::from_value(decoded).unwrap(), event);
    }
}

/// The defaults of the next version's new fields are filled in, typed by the schema.
#[test]
fn new_fields_read_as_their_defaults() {
    let v1 = SchemaFamily::parse("broadcast_event", &[shipped::BROADCAST_EVENT[0]]).unwrap();
    let v2 = broadcast_event_next();
    let evolved = SchemaFamily::parse("broadcast_event", &shipped_then(&v2)).unwrap();
    let samples = samples(&v1.current().schema);
    for (branch, expected) in
        [(0, ("channel", Value::Enum(1, "silent".into()))), (1, ("reason", Value::String("unspecified".into())))]
    {
        let bytes = written_with(v1.current(), samples[branch].clone());
        let Value::Record(event) = evolved.decode(&bytes).unwrap() else { panic!() };
        let Value::Union(index, change) = &event[2].1 else { panic!() };
        assert_eq!(*index, branch as u32);
        let Value::Record(change) = &**change else { panic!() };
        assert_eq!(change.last().unwrap(), &(expected.0.to_owned(), expected.1));
        if let Some((_, Value::Record(content))) = change.iter().find(|(name, _)| name == "content") {
            let Value::Record(audience) = &content[6].1 else { panic!() };
            assert_eq!(audience[4], ("regions".to_owned(), Value::Array(vec![Value::String("cn".into())])));
        }
    }
}

/// apache-avro 0.21's own resolution picks the first union branch the value fits, so
/// a `Modified` (a `Created` plus `version`) comes back as `Created`; `resolve` matches
/// by name. If this starts failing after an upgrade, apache-avro resolves unions by
/// name too and `resolve` may give way to `from_avro_datum(writer, Some(reader))`.
#[test]
fn union_branches_resolve_by_name_not_by_shape() {
    let v1 = SchemaFamily::parse("broadcast_event", &[shipped::BROADCAST_EVENT[0]]).unwrap();
    let schema = &v1.current().schema;
    let modified = samples(schema).swap_remove(1);
    let datum = to_avro_datum(schema, modified).unwrap();
    let by_apache_avro = from_avro_datum(schema, &mut &datum[..], Some(schema)).unwrap();
    let Value::Record(fields) = by_apache_avro else { panic!() };
    assert!(matches!(fields[2].1, Value::Union(0, _)), "apache-avro now keeps Modified");

    let evolved = SchemaFamily::parse("broadcast_event", &shipped_then(&broadcast_event_next())).unwrap();
    let decoded = evolved.decode(&written_with(v1.current(), samples(schema).swap_remove(1))).unwrap();
    let Value::Record(fields) = decoded else { panic!() };
    assert!(matches!(fields[2].1, Value::Union(1, _)));
}

/// A next version that breaks the rule (a new field without a default) is caught: old
/// data no longer decodes, and the error says why.
#[test]
fn a_new_field_without_a_default_breaks_old_data() {
    let broken = next_version(shipped::NOTIFY_SIGNAL[0], |schema| {
        let record = named_type(schema, "PublicNotify").unwrap();
        record["fields"].as_array_mut().unwrap().push(json!({"name": "region", "type": "string"}));
    });
    let v1 = SchemaFamily::parse("notify_signal", &[shipped::NOTIFY_SIGNAL[0]]).unwrap();
    let evolved = SchemaFamily::parse("notify_signal", &[shipped::NOTIFY_SIGNAL[0], &broken]).unwrap();
    assert!(SchemaCompatibility::can_read(&v1.current().schema, &evolved.current().schema).is_err());
    let bytes = v1.encode(notify::to_value(&tidings_domain::event::NotifySignal::Public { app_id: 1, seq: 2 }));
    let error = evolved.decode(&bytes).unwrap_err();
    assert_eq!(
        error.to_string(),
        "notify_signal v1: cannot be read as v2: NotifySignal.signal: PublicNotify.region: the writer has no such field and the reader gives no default"
    );
}

/// Docs and defaults are not part of the canonical form, so a version that changes only
/// them could not be told apart on the wire.
#[test]
fn a_version_that_changes_only_docs_is_rejected() {
    let docs_only = next_version(shipped::DEAD_LETTER[0], |schema| {
        schema["doc"] = json!("reworded");
    });
    let error = SchemaFamily::parse("dead_letter", &[shipped::DEAD_LETTER[0], &docs_only]).unwrap_err();
    assert!(error.starts_with("dead_letter v2: same canonical form as v1"), "{error}");
    assert!(SchemaFamily::parse("dead_letter", &[]).is_err());
    assert!(SchemaFamily::parse("dead_letter", &["{\"type\": \"record\"}"]).is_err());
}
