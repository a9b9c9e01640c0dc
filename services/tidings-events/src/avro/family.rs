//! A schema family: every shipped version of one event's schema. Events are written with
//! the newest; one written with any version decodes, resolved to the newest.

use std::fmt;

use apache_avro::types::Value;
use apache_avro::{Schema, from_avro_datum, to_avro_datum};

use super::names::Names;
use super::resolve::Resolver;
use super::single_object::{self, HEADER_LEN};
use super::{DecodeError, bounds};

/// One `vN.avsc`, parsed.
pub(crate) struct SchemaVersion {
    pub(crate) number: u32,
    pub(crate) schema: Schema,
    /// CRC-64-AVRO (Rabin) of the schema's parsing canonical form.
    pub(crate) fingerprint: u64,
    pub(crate) names: Names,
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
            let fingerprint = single_object::fingerprint(&schema);
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
        bytes.extend_from_slice(&single_object::header(current.fingerprint));
        bytes.extend_from_slice(&datum);
        bytes
    }

    /// Decodes single-object bytes written with any version of this family into a value of
    /// the current version.
    pub(crate) fn decode(&self, bytes: &[u8]) -> Result<Value, DecodeError> {
        let (fingerprint, datum) = single_object::split(self.name, bytes)?;
        let writer = self
            .version_with_fingerprint(fingerprint)
            .ok_or(DecodeError::UnknownFingerprint { family: self.name, fingerprint })?;
        self.decode_datum(writer, datum)
    }

    /// Decodes the datum (what follows the header) written with `writer`, then resolves it
    /// to the current schema, so the value always has the newest shape.
    fn decode_datum(&self, writer: &SchemaVersion, datum: &[u8]) -> Result<Value, DecodeError> {
        let malformed = |reason: String| DecodeError::Malformed { family: self.name, version: writer.number, reason };
        let length = bounds::checked_length(datum, &writer.schema, &writer.names).map_err(malformed)?;
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
