//! A schema family: every shipped version of one event's schema, and the single-object
//! framing that names the version an event was written with.

use std::fmt;

use apache_avro::rabin::Rabin;
use apache_avro::types::Value;
use apache_avro::{Schema, from_avro_datum, to_avro_datum};

use crate::error::DecodeError;
use crate::resolve::{Names, Resolver};
use crate::skim;

/// The two bytes that open every Avro single-object encoding.
pub(crate) const MARKER: [u8; 2] = [0xC3, 0x01];
/// Marker plus the 8-byte fingerprint.
pub(crate) const HEADER_LEN: usize = 10;

/// One `vN.avsc`, parsed.
pub(crate) struct SchemaVersion {
    pub(crate) number: u32,
    pub(crate) schema: Schema,
    /// CRC-64-AVRO (Rabin) of the schema's parsing canonical form.
    pub(crate) fingerprint: u64,
    names: Names,
}

impl fmt::Debug for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{} ({:#018x})", self.number, self.fingerprint)
    }
}

/// Every version of one family, oldest first; the newest is the one events are written
/// with and the one every older version is resolved to when read.
#[derive(Debug)]
pub(crate) struct SchemaFamily {
    pub(crate) name: &'static str,
    versions: Vec<SchemaVersion>,
}

impl SchemaFamily {
    /// Parses `texts[i]` as version `i + 1`. Fails on an invalid schema, an empty list or
    /// two versions with one canonical form (which a reader could not tell apart).
    pub(crate) fn parse(name: &'static str, texts: &[&str]) -> Result<Self, String> {
        if texts.is_empty() {
            return Err(format!("{name}: no schema versions"));
        }
        let mut versions: Vec<SchemaVersion> = Vec::with_capacity(texts.len());
        for (index, text) in texts.iter().enumerate() {
            let number = u32::try_from(index + 1).expect("fewer than 2^32 schema versions");
            let schema = Schema::parse_str(text).map_err(|error| format!("{name} v{number}: {error}"))?;
            let fingerprint = rabin_fingerprint(&schema);
            if let Some(twin) = versions.iter().find(|v| v.fingerprint == fingerprint) {
                return Err(format!(
                    "{name} v{number}: same canonical form as v{} ({fingerprint:#018x}); a new version must change the schema, not only its docs or defaults",
                    twin.number
                ));
            }
            let names = Names::of(&schema).map_err(|error| format!("{name} v{number}: {error}"))?;
            versions.push(SchemaVersion { number, schema, fingerprint, names });
        }
        Ok(Self { name, versions })
    }

    /// The newest version: what [`SchemaFamily::encode`] writes and decoding resolves to.
    pub(crate) fn current(&self) -> &SchemaVersion {
        self.versions.last().expect("parse rejects a family without versions")
    }

    #[cfg(test)]
    pub(crate) fn versions(&self) -> &[SchemaVersion] {
        &self.versions
    }

    pub(crate) fn version_with_fingerprint(&self, fingerprint: u64) -> Option<&SchemaVersion> {
        self.versions.iter().find(|v| v.fingerprint == fingerprint)
    }

    /// Single-object encoding of `value` under the current schema.
    ///
    /// Panics if `value` does not fit the current schema, which means a bug in the mapping
    /// of this crate (the round-trip tests cover every variant of every family).
    pub(crate) fn encode(&self, value: Value) -> Vec<u8> {
        let current = self.current();
        let datum = to_avro_datum(&current.schema, value).unwrap_or_else(|error| {
            panic!(
                "{} mapping built a value outside its own schema v{}, which every domain value fits: {error}",
                self.name, current.number
            )
        });
        let mut bytes = Vec::with_capacity(HEADER_LEN + datum.len());
        bytes.extend_from_slice(&single_object_header(current.fingerprint));
        bytes.extend_from_slice(&datum);
        bytes
    }

    /// Decodes single-object bytes written with any version of this family into a value of
    /// the current version.
    pub(crate) fn decode(&self, bytes: &[u8]) -> Result<Value, DecodeError> {
        let (fingerprint, datum) = split_header(self.name, bytes)?;
        let writer = self
            .version_with_fingerprint(fingerprint)
            .ok_or(DecodeError::UnknownFingerprint { family: self.name, fingerprint })?;
        self.decode_datum(writer, datum)
    }

    /// Decodes the datum (what follows the header) written with `writer`, then resolves it
    /// to the current schema, so the value always has the newest shape.
    fn decode_datum(&self, writer: &SchemaVersion, datum: &[u8]) -> Result<Value, DecodeError> {
        let malformed = |reason: String| DecodeError::Malformed { family: self.name, version: writer.number, reason };
        let length = skim::check(datum, &writer.schema, &writer.names).map_err(malformed)?;
        if length < datum.len() {
            return Err(DecodeError::TrailingBytes {
                family: self.name,
                version: writer.number,
                count: datum.len() - length,
            });
        }
        let value =
            from_avro_datum(&writer.schema, &mut &*datum, None).map_err(|error| malformed(error.to_string()))?;
        let current = self.current();
        if writer.number == current.number {
            return Ok(value);
        }
        Resolver::new(&writer.names, &current.names).resolve(value, &writer.schema, &current.schema).map_err(|reason| {
            DecodeError::Incompatible { family: self.name, version: writer.number, current: current.number, reason }
        })
    }
}

/// The fingerprint apache-avro computes for single-object encoding, as a number.
pub(crate) fn rabin_fingerprint(schema: &Schema) -> u64 {
    let bytes = schema.fingerprint::<Rabin>().bytes;
    u64::from_le_bytes(bytes.try_into().expect("a rabin fingerprint is 8 bytes"))
}

pub(crate) fn single_object_header(fingerprint: u64) -> [u8; HEADER_LEN] {
    let mut header = [0; HEADER_LEN];
    header[..2].copy_from_slice(&MARKER);
    header[2..].copy_from_slice(&fingerprint.to_le_bytes());
    header
}

/// Splits single-object bytes into the writer fingerprint and the datum.
pub(crate) fn split_header<'b>(family: &'static str, bytes: &'b [u8]) -> Result<(u64, &'b [u8]), DecodeError> {
    if let Some(found) = bytes.first_chunk::<2>()
        && *found != MARKER
    {
        return Err(DecodeError::BadMarker { family, found: *found });
    }
    let Some((header, datum)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(DecodeError::TooShort { family, len: bytes.len() });
    };
    let fingerprint = u64::from_le_bytes(header[2..].try_into().expect("8 bytes"));
    Ok((fingerprint, datum))
}

#[cfg(test)]
mod tests {
    use apache_avro::schema_compatibility::SchemaCompatibility;
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::shipped;
    use crate::test_support::{self, named_type, next_version, samples};
    use crate::{broadcast, dead_letter, mailbox, notify};

    type Mapping = fn(Value) -> Result<(), String>;

    /// Every shipped family with the mapping that turns its values into domain types.
    fn shipped_families() -> [(SchemaFamily, Mapping); 4] {
        let family = |name, texts| SchemaFamily::parse(name, texts).unwrap();
        [
            (family("mailbox_event", shipped::MAILBOX_EVENT), |v| mailbox::from_value(v).map(drop)),
            (family("broadcast_event", shipped::BROADCAST_EVENT), |v| broadcast::from_value(v).map(drop)),
            (family("notify_signal", shipped::NOTIFY_SIGNAL), |v| notify::from_value(v).map(drop)),
            (family("dead_letter", shipped::DEAD_LETTER), |v| dead_letter::from_value(v).map(drop)),
        ]
    }

    /// Single-object bytes of `value` written with `version`, whatever the family's newest.
    fn written_with(version: &SchemaVersion, value: Value) -> Vec<u8> {
        let mut bytes = single_object_header(version.fingerprint).to_vec();
        bytes.extend(to_avro_datum(&version.schema, value).unwrap());
        bytes
    }

    /// The evolution rule, checked on what ships: a datum written with any version of a
    /// family decodes with the newest one into the domain type.
    #[test]
    fn every_shipped_version_decodes_with_the_current_reader() {
        for (family, to_domain) in shipped_families() {
            let current = family.current();
            for version in family.versions() {
                SchemaCompatibility::can_read(&version.schema, &current.schema).unwrap_or_else(|error| {
                    panic!("{} v{} -> v{}: {error}", family.name, version.number, current.number)
                });
                for value in samples(&version.schema) {
                    let bytes = written_with(version, value.clone());
                    let decoded = family.decode(&bytes).unwrap_or_else(|error| panic!("{error}\nwritten: {value:?}"));
                    to_domain(decoded).unwrap_or_else(|error| {
                        panic!("{} v{}: {error}\nwritten: {value:?}", family.name, version.number)
                    });
                }
            }
        }
    }

    /// Resolving a datum to the schema it was written with changes nothing.
    #[test]
    fn resolving_to_the_writer_schema_is_the_identity() {
        for (family, _) in shipped_families() {
            for version in family.versions() {
                let resolver = Resolver::new(&version.names, &version.names);
                for value in samples(&version.schema) {
                    let resolved = resolver.resolve(value.clone(), &version.schema, &version.schema).unwrap();
                    assert_eq!(resolved, value, "{} v{}", family.name, version.number);
                }
            }
        }
    }

    /// A "next version" of `broadcast_event` as the rule allows it: new fields with defaults
    /// (at the top, in a branch, in a nested record, of an enum type), a new union branch
    /// and new enum symbols, all appended.
    fn broadcast_event_v2() -> String {
        next_version(shipped::BROADCAST_EVENT[0], |schema| {
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

    proptest! {
        /// A datum written with v1 decodes under the next version, to the same domain value.
        #[test]
        fn v1_broadcast_events_decode_under_the_next_version(event in test_support::broadcast_event()) {
            let v1 = SchemaFamily::parse("broadcast_event", &[shipped::BROADCAST_EVENT[0]]).unwrap();
            let v2 = broadcast_event_v2();
            let evolved = SchemaFamily::parse("broadcast_event", &[shipped::BROADCAST_EVENT[0], &v2]).unwrap();
            prop_assert_eq!(evolved.current().number, 2);
            let bytes = v1.encode(broadcast::to_value(&event));
            let decoded = evolved.decode(&bytes).unwrap();
            let Value::Record(fields) = &decoded else { panic!("not a record") };
            prop_assert_eq!(&fields[3], &("source".to_owned(), Value::Union(0, Box::new(Value::Null))));
            prop_assert_eq!(broadcast::from_value(decoded).unwrap(), event);
        }

        #[test]
        fn v1_mailbox_events_decode_under_the_next_version(event in test_support::mailbox_event()) {
            let v2 = next_version(shipped::MAILBOX_EVENT[0], |schema| {
                let record = named_type(schema, "ReadUpTo").unwrap();
                record["fields"].as_array_mut().unwrap().push(json!({"name": "device", "type": "string", "default": ""}));
            });
            let v1 = SchemaFamily::parse("mailbox_event", &[shipped::MAILBOX_EVENT[0]]).unwrap();
            let evolved = SchemaFamily::parse("mailbox_event", &[shipped::MAILBOX_EVENT[0], &v2]).unwrap();
            let decoded = evolved.decode(&v1.encode(mailbox::to_value(&event))).unwrap();
            prop_assert_eq!(mailbox::from_value(decoded).unwrap(), event);
        }
    }

    /// The defaults of the next version's new fields are filled in, typed by the schema.
    #[test]
    fn new_fields_read_as_their_defaults() {
        let v1 = SchemaFamily::parse("broadcast_event", &[shipped::BROADCAST_EVENT[0]]).unwrap();
        let v2 = broadcast_event_v2();
        let evolved = SchemaFamily::parse("broadcast_event", &[shipped::BROADCAST_EVENT[0], &v2]).unwrap();
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

        let evolved =
            SchemaFamily::parse("broadcast_event", &[shipped::BROADCAST_EVENT[0], &broadcast_event_v2()]).unwrap();
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
}
