//! The event contract of Tidings on the wire: every event is Avro, written with a schema
//! shipped under `schemas/avro/`, and carries the identity of that schema.
//!
//! # Wire format
//!
//! Each encoded event is an [Avro single-object encoding]:
//!
//! ```text
//! C3 01 | 8-byte little-endian CRC-64-AVRO (Rabin) fingerprint of the writer schema's
//!       | parsing canonical form | the Avro binary datum
//! ```
//!
//! so a third party given only the `.avsc` files (any Avro library) can find the writer
//! schema by its fingerprint and decode the event. There is no schema registry.
//!
//! # Schema families and versions
//!
//! A family is one event type: `mailbox_event`, `broadcast_event`, `notify_signal`,
//! `reach_event`, `dead_letter`. Its versions are `schemas/avro/<family>/vN.avsc`, embedded here (the
//! `shipped` module). Events are always written with the newest version. Decoding reads
//! the header, finds the writer version by fingerprint among every version of the family,
//! checks the datum's bounds, decodes it with the writer schema, resolves it to the newest
//! schema and maps it to the domain type, so events written before an upgrade still decode.
//! `schemas/avro/README.md` states the evolution rule that keeps that possible.
//!
//! # Layout
//!
//! Two layers, so the Avro machinery can be read (and trusted) apart from Tidings' events:
//!
//! - `avro`: the generic single-object engine (schema families, the header, a bounds check,
//!   schema resolution, value helpers, [`DecodeError`]); its module doc walks its files.
//! - `mailbox`, `broadcast`, `notify`, `reach`, `dead_letter`: Tidings' mappings, domain types ⇄
//!   Avro values of the newest schema, by hand, field by field.
//! - here: the shipped `.avsc` files and [`EventCodec`], the public API, which pairs each
//!   family with its mapping.
//! - `tests`: round trips, golden bytes, schema evolution and rejections of bad input.
//!
//! [Avro single-object encoding]: https://avro.apache.org/docs/1.12.0/specification/#single-object-encoding

use std::sync::Arc;

use apache_avro::types::Value;
use tidings_domain::event::{BroadcastEvent, MailboxEvent, NotifySignal};
use tidings_reach::ReachEvent;

mod avro;
mod broadcast;
mod dead_letter;
mod mailbox;
mod notify;
mod reach;
#[cfg(test)]
mod tests;

pub use avro::DecodeError;
pub use dead_letter::DeadLetter;

use avro::family::SchemaFamily;

/// The shipped `.avsc` text of every family, oldest version first. Shipping a new version:
/// add `schemas/avro/<family>/vN.avsc` (never edit an old one), append it here and pin its
/// fingerprint in `shipped_fingerprints_never_change`.
pub(crate) mod shipped {
    pub(crate) const MAILBOX_EVENT: &[&str] = &[
        include_str!("../../../schemas/avro/mailbox_event/v1.avsc"),
        include_str!("../../../schemas/avro/mailbox_event/v2.avsc"),
    ];
    pub(crate) const BROADCAST_EVENT: &[&str] = &[
        include_str!("../../../schemas/avro/broadcast_event/v1.avsc"),
        include_str!("../../../schemas/avro/broadcast_event/v2.avsc"),
        include_str!("../../../schemas/avro/broadcast_event/v3.avsc"),
    ];
    pub(crate) const NOTIFY_SIGNAL: &[&str] = &[include_str!("../../../schemas/avro/notify_signal/v1.avsc")];
    pub(crate) const REACH_EVENT: &[&str] = &[include_str!("../../../schemas/avro/reach_event/v1.avsc")];
    pub(crate) const DEAD_LETTER: &[&str] = &[include_str!("../../../schemas/avro/dead_letter/v1.avsc")];
}

/// Encodes domain events to Avro single-object bytes and decodes them back, one
/// `encode_*`/`decode_*` pair per family: encoding writes the newest version, decoding reads
/// any shipped one. Cloning is cheap (the parsed schemas are shared).
#[derive(Debug, Clone)]
pub struct EventCodec {
    families: Arc<Families>,
}

/// The parsed schemas of each family, shared by the clones of a codec.
#[derive(Debug)]
struct Families {
    mailbox: SchemaFamily,
    broadcast: SchemaFamily,
    notify: SchemaFamily,
    reach: SchemaFamily,
    dead_letter: SchemaFamily,
}

impl EventCodec {
    /// Parses the embedded schemas. Panics only if a shipped `.avsc` is invalid, which the
    /// tests rule out.
    pub fn new() -> Self {
        let parse = |name, texts| {
            SchemaFamily::parse(name, texts).unwrap_or_else(|error| panic!("shipped avro schema is invalid: {error}"))
        };
        Self {
            families: Arc::new(Families {
                mailbox: parse("mailbox_event", shipped::MAILBOX_EVENT),
                broadcast: parse("broadcast_event", shipped::BROADCAST_EVENT),
                notify: parse("notify_signal", shipped::NOTIFY_SIGNAL),
                reach: parse("reach_event", shipped::REACH_EVENT),
                dead_letter: parse("dead_letter", shipped::DEAD_LETTER),
            }),
        }
    }

    pub fn encode_mailbox(&self, event: &MailboxEvent) -> Vec<u8> {
        self.families.mailbox.encode(mailbox::to_value(event))
    }

    pub fn decode_mailbox(&self, bytes: &[u8]) -> Result<MailboxEvent, DecodeError> {
        self.decode(&self.families.mailbox, bytes, mailbox::from_value)
    }

    pub fn encode_broadcast(&self, event: &BroadcastEvent) -> Vec<u8> {
        self.families.broadcast.encode(broadcast::to_value(event))
    }

    pub fn decode_broadcast(&self, bytes: &[u8]) -> Result<BroadcastEvent, DecodeError> {
        self.decode(&self.families.broadcast, bytes, broadcast::from_value)
    }

    pub fn encode_notify(&self, signal: &NotifySignal) -> Vec<u8> {
        self.families.notify.encode(notify::to_value(signal))
    }

    pub fn decode_notify(&self, bytes: &[u8]) -> Result<NotifySignal, DecodeError> {
        self.decode(&self.families.notify, bytes, notify::from_value)
    }

    pub fn encode_reach(&self, event: &ReachEvent) -> Vec<u8> {
        self.families.reach.encode(reach::to_value(event))
    }

    pub fn decode_reach(&self, bytes: &[u8]) -> Result<ReachEvent, DecodeError> {
        self.decode(&self.families.reach, bytes, reach::from_value)
    }

    pub fn encode_dead_letter(&self, letter: &DeadLetter) -> Vec<u8> {
        self.families.dead_letter.encode(dead_letter::to_value(letter))
    }

    pub fn decode_dead_letter(&self, bytes: &[u8]) -> Result<DeadLetter, DecodeError> {
        self.decode(&self.families.dead_letter, bytes, dead_letter::from_value)
    }

    fn decode<T>(
        &self,
        family: &SchemaFamily,
        bytes: &[u8],
        from_value: fn(Value) -> Result<T, String>,
    ) -> Result<T, DecodeError> {
        let value = family.decode(bytes).map_err(|error| match error {
            DecodeError::UnknownFingerprint { family, fingerprint } => self.name_the_family_of(family, fingerprint),
            error => error,
        })?;
        from_value(value).map_err(|reason| DecodeError::Shape { family: family.name, reason })
    }

    /// A fingerprint unknown to the family asked for may belong to another family: say so.
    fn name_the_family_of(&self, family: &'static str, fingerprint: u64) -> DecodeError {
        self.families
            .all()
            .into_iter()
            .find_map(|other| {
                let version = other.version_with_fingerprint(fingerprint)?;
                Some(DecodeError::WrongFamily { family, found: other.name, version: version.number, fingerprint })
            })
            .unwrap_or(DecodeError::UnknownFingerprint { family, fingerprint })
    }
}

impl Families {
    /// Every family, for what looks across them (a fingerprint's owner, the tests).
    fn all(&self) -> [&SchemaFamily; 5] {
        let Self { mailbox, broadcast, notify, reach, dead_letter } = self;
        [mailbox, broadcast, notify, reach, dead_letter]
    }
}

impl Default for EventCodec {
    fn default() -> Self {
        Self::new()
    }
}
