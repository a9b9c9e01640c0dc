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
//! `dead_letter`. Its versions are `schemas/avro/<family>/vN.avsc`, embedded here (the
//! `shipped` module). Events are always written with the newest version. Decoding reads
//! the header, finds the writer version by fingerprint among every version of the family,
//! checks the datum's bounds, decodes it with the writer schema, resolves it to the newest
//! schema and maps it to the domain type, so events written before an upgrade still decode.
//! `schemas/avro/README.md` states the evolution rule that keeps that possible.
//!
//! # Layout
//!
//! - [`EventCodec`]: the public API, one `encode_*`/`decode_*` pair per family.
//! - `family`: a family's parsed versions, the single-object header, decoding a datum.
//! - `skim`: a bounds check of a datum before apache-avro decodes (and allocates for) it.
//! - `resolve`: Avro schema resolution by the specification (union branches by name).
//! - `mailbox`, `broadcast`, `notify`, `dead_letter`: domain types ⇄ Avro values, by hand,
//!   field by field; `value` holds their shared helpers.
//! - [`DecodeError`]: what is wrong with bytes that do not decode.
//!
//! [Avro single-object encoding]: https://avro.apache.org/docs/1.12.0/specification/#single-object-encoding

use std::sync::Arc;

use apache_avro::types::Value;
use tidings_domain::event::{BroadcastEvent, MailboxEvent, NotifySignal};

mod broadcast;
mod dead_letter;
mod error;
mod family;
mod mailbox;
mod notify;
mod resolve;
mod skim;
mod value;

#[cfg(test)]
mod test_support;

pub use dead_letter::DeadLetter;
pub use error::DecodeError;

use family::SchemaFamily;

/// The shipped `.avsc` text of every family, oldest version first. Shipping a new version:
/// add `schemas/avro/<family>/vN.avsc` (never edit an old one), append it here and pin its
/// fingerprint in `shipped_fingerprints_never_change`.
pub(crate) mod shipped {
    pub(crate) const MAILBOX_EVENT: &[&str] = &[include_str!("../../../schemas/avro/mailbox_event/v1.avsc")];
    pub(crate) const BROADCAST_EVENT: &[&str] = &[include_str!("../../../schemas/avro/broadcast_event/v1.avsc")];
    pub(crate) const NOTIFY_SIGNAL: &[&str] = &[include_str!("../../../schemas/avro/notify_signal/v1.avsc")];
    pub(crate) const DEAD_LETTER: &[&str] = &[include_str!("../../../schemas/avro/dead_letter/v1.avsc")];
}

/// Encodes domain events to Avro single-object bytes and decodes them back, for every
/// family. Cloning is cheap (the parsed schemas are shared).
#[derive(Debug, Clone)]
pub struct EventCodec {
    families: Arc<Families>,
}

#[derive(Debug)]
struct Families {
    mailbox: SchemaFamily,
    broadcast: SchemaFamily,
    notify: SchemaFamily,
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
        let Families { mailbox, broadcast, notify, dead_letter } = &*self.families;
        [mailbox, broadcast, notify, dead_letter]
            .into_iter()
            .find_map(|other| {
                let version = other.version_with_fingerprint(fingerprint)?;
                Some(DecodeError::WrongFamily { family, found: other.name, version: version.number, fingerprint })
            })
            .unwrap_or(DecodeError::UnknownFingerprint { family, fingerprint })
    }
}

impl Default for EventCodec {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use apache_avro::rabin::Rabin;
    use apache_avro::{GenericSingleObjectReader, Schema};
    use proptest::prelude::*;
    use tidings_domain::broadcast::{Audience, BroadcastContent, LifecycleAction};
    use tidings_domain::client::Platform;
    use tidings_domain::event::{BroadcastChange, Delivery};
    use tidings_domain::message::{Mailbox, MessageBody};

    use super::*;
    use crate::test_support;

    fn codec() -> EventCodec {
        EventCodec::new()
    }

    /// One encoded event of each family, with the newest `.avsc` text of that family.
    fn one_of_each_family() -> Vec<(&'static str, Vec<u8>, &'static str)> {
        let codec = codec();
        vec![
            ("mailbox_event", codec.encode_mailbox(&mailbox_events()[0]), *shipped::MAILBOX_EVENT.last().unwrap()),
            (
                "broadcast_event",
                codec.encode_broadcast(&broadcast_events()[1]),
                *shipped::BROADCAST_EVENT.last().unwrap(),
            ),
            ("notify_signal", codec.encode_notify(&notify_signals()[0]), *shipped::NOTIFY_SIGNAL.last().unwrap()),
            ("dead_letter", codec.encode_dead_letter(&dead_letter()), *shipped::DEAD_LETTER.last().unwrap()),
        ]
    }

    fn mailbox_events() -> Vec<MailboxEvent> {
        let mailbox = Mailbox::new(7, 42);
        vec![
            MailboxEvent::Delivered(Delivery {
                mailbox,
                dedupe_key: "k:9:order-1".into(),
                create_time_us: 1_700_000_000_000_001,
                body: MessageBody {
                    from_uid: 9,
                    to_uid: 42,
                    contacter: 9,
                    category: 1,
                    kind: 2,
                    priority: 3,
                    business_type: 4,
                    msgkey: "order-1".into(),
                    content: "你好 🎉".into(),
                    expire_at_s: 0,
                },
            }),
            MailboxEvent::ReadUpTo { mailbox, up_to: 5 },
            MailboxEvent::MessageDeleted { mailbox, msg_id: 6 },
            MailboxEvent::BroadcastHidden { mailbox, broadcast_id: 8 },
        ]
    }

    fn broadcast_events() -> Vec<BroadcastEvent> {
        let content = BroadcastContent {
            category: 1,
            kind: 2,
            priority: 3,
            business_type: 4,
            content: "maintenance tonight".into(),
            expire_at_s: 2_000_000_000,
            audience: Audience {
                platforms: vec![Platform::Ios, Platform::Web],
                min_core_level: Some(220_819),
                max_core_level: None,
                logged_in_only: true,
            },
        };
        let mut changes = vec![
            BroadcastChange::Created { broadcast_id: 1, content: content.clone() },
            BroadcastChange::Modified {
                broadcast_id: 1,
                revision: 2,
                content: BroadcastContent { audience: Audience::default(), ..content },
            },
            BroadcastChange::WhitelistReplaced { revision: 4, uids: vec![1, 2, 3] },
        ];
        changes.extend(broadcast::ACTIONS.map(|(action, _)| BroadcastChange::Lifecycle {
            broadcast_id: 1,
            revision: 3,
            action,
        }));
        changes.into_iter().map(|change| BroadcastEvent { app_id: 7, at_us: 1_700_000_000_000_000, change }).collect()
    }

    fn notify_signals() -> Vec<NotifySignal> {
        vec![
            NotifySignal::Mailbox { mailbox: Mailbox::new(7, 42), latest_msg_id: 99 },
            NotifySignal::Public { app_id: 7, seq: 3 },
        ]
    }

    fn dead_letter() -> DeadLetter {
        DeadLetter {
            source_topic: "tidings.mailbox".into(),
            partition: 3,
            offset: 12_345,
            key: b"m:7:42".to_vec(),
            payload: vec![0xC3, 0x01, 0xff],
            reason: "unknown writer schema fingerprint".into(),
            at_us: 1_700_000_000_000_000,
        }
    }

    #[test]
    fn shipped_schemas_parse() {
        fn shareable<T: Send + Sync + Clone + std::fmt::Debug>() {}
        shareable::<EventCodec>();
        let codec = EventCodec::default();
        for family in
            [&codec.families.mailbox, &codec.families.broadcast, &codec.families.notify, &codec.families.dead_letter]
        {
            assert!(!family.versions().is_empty(), "{}", family.name);
        }
    }

    #[test]
    fn one_of_each_variant_round_trips() {
        let codec = codec();
        for event in mailbox_events() {
            assert_eq!(codec.decode_mailbox(&codec.encode_mailbox(&event)).unwrap(), event);
        }
        for event in broadcast_events() {
            assert_eq!(codec.decode_broadcast(&codec.encode_broadcast(&event)).unwrap(), event);
        }
        for signal in notify_signals() {
            assert_eq!(codec.decode_notify(&codec.encode_notify(&signal)).unwrap(), signal);
        }
        let letter = dead_letter();
        assert_eq!(codec.decode_dead_letter(&codec.encode_dead_letter(&letter)).unwrap(), letter);
    }

    proptest! {
        #[test]
        fn mailbox_events_round_trip(event in test_support::mailbox_event()) {
            let codec = codec();
            prop_assert_eq!(codec.decode_mailbox(&codec.encode_mailbox(&event)).unwrap(), event);
        }

        #[test]
        fn broadcast_events_round_trip(event in test_support::broadcast_event()) {
            let codec = codec();
            prop_assert_eq!(codec.decode_broadcast(&codec.encode_broadcast(&event)).unwrap(), event);
        }

        #[test]
        fn notify_signals_round_trip(signal in test_support::notify_signal()) {
            let codec = codec();
            prop_assert_eq!(codec.decode_notify(&codec.encode_notify(&signal)).unwrap(), signal);
        }

        #[test]
        fn dead_letters_round_trip(letter in test_support::dead_letter()) {
            let codec = codec();
            prop_assert_eq!(codec.decode_dead_letter(&codec.encode_dead_letter(&letter)).unwrap(), letter);
        }
    }

    #[test]
    fn header_is_the_marker_and_the_rabin_fingerprint_of_the_writer_schema() {
        for (family, bytes, avsc) in one_of_each_family() {
            let schema = Schema::parse_str(avsc).unwrap();
            assert_eq!(bytes[..2], [0xC3, 0x01], "{family}");
            assert_eq!(bytes[2..10], schema.fingerprint::<Rabin>().bytes[..], "{family}");
            // A reader that has only the .avsc file decodes the bytes.
            let reader = GenericSingleObjectReader::new(schema).unwrap();
            reader.read_value(&mut &bytes[..]).unwrap_or_else(|error| panic!("{family}: {error}"));
        }
    }

    /// The fingerprints of the shipped versions, computed by a separate implementation of
    /// the specification's canonical form and CRC-64-AVRO. A change here means a shipped
    /// `.avsc` was edited, and events written with it would no longer decode.
    #[test]
    fn shipped_fingerprints_never_change() {
        let codec = codec();
        let families = &codec.families;
        let pinned: [(&SchemaFamily, &[u64]); 4] = [
            (&families.mailbox, &[0xc9bc_2e85_64ab_ffa2]),
            (&families.broadcast, &[0x709f_e9bf_0070_0b1c]),
            (&families.notify, &[0x0852_1037_7557_ed77]),
            (&families.dead_letter, &[0xabe6_b478_27f8_8fde]),
        ];
        for (family, fingerprints) in pinned {
            let shipped: Vec<u64> = family.versions().iter().map(|v| v.fingerprint).collect();
            assert_eq!(shipped, fingerprints, "{}", family.name);
        }
    }

    /// The mappings pick union branches and enum symbols by position; the positions must be
    /// those of the newest schema.
    #[test]
    fn mappings_agree_with_the_schema_on_branch_and_symbol_order() {
        fn field_type<'a>(schema: &'a Schema, field: &str) -> &'a Schema {
            let Schema::Record(record) = schema else { panic!("not a record") };
            &record.fields[record.lookup[field]].schema
        }
        fn branch_names(union: &Schema) -> Vec<String> {
            let Schema::Union(union) = union else { panic!("not a union") };
            union.variants().iter().map(|v| v.name().unwrap().name.clone()).collect()
        }
        let codec = codec();
        let families = &codec.families;
        let mailbox = &families.mailbox.current().schema;
        assert_eq!(branch_names(field_type(mailbox, "event")), mailbox::BRANCHES);
        let notify = &families.notify.current().schema;
        assert_eq!(branch_names(field_type(notify, "signal")), notify::BRANCHES);
        let broadcast = &families.broadcast.current().schema;
        let change = field_type(broadcast, "change");
        assert_eq!(branch_names(change), broadcast::BRANCHES);

        let Schema::Union(change) = change else { unreachable!() };
        let created = &change.variants()[0];
        let audience = field_type(field_type(created, "content"), "audience");
        let Schema::Array(platforms) = field_type(audience, "platforms") else { panic!("platforms is not an array") };
        let Schema::Enum(platform) = &*platforms.items else { panic!("Platform is not an enum") };
        let domain_platforms: Vec<&str> = Platform::ALL.iter().map(Platform::as_str).collect();
        assert_eq!(platform.symbols, domain_platforms);
        let Schema::Enum(action) = field_type(&change.variants()[2], "action") else {
            panic!("LifecycleAction is not an enum")
        };
        assert_eq!(action.symbols, broadcast::ACTIONS.map(|(_, symbol)| symbol));
        // Every action has a symbol (a new domain action must be added to the schema).
        let _exhaustive = |action: LifecycleAction| match action {
            LifecycleAction::PrePublish
            | LifecycleAction::Publish
            | LifecycleAction::Stop
            | LifecycleAction::Recall
            | LifecycleAction::Delete => (),
        };
    }

    #[test]
    fn every_truncation_is_an_error() {
        let codec = codec();
        for (family, bytes, _) in one_of_each_family() {
            for len in 0..bytes.len() {
                let cut = &bytes[..len];
                let error = match family {
                    "mailbox_event" => codec.decode_mailbox(cut).map(drop),
                    "broadcast_event" => codec.decode_broadcast(cut).map(drop),
                    "notify_signal" => codec.decode_notify(cut).map(drop),
                    _ => codec.decode_dead_letter(cut).map(drop),
                }
                .expect_err("a truncated event must not decode");
                match error {
                    DecodeError::TooShort { len: short, .. } => assert!(short < 10 && len < 10),
                    DecodeError::Malformed { .. } => assert!(len >= 10, "{family} {len}"),
                    other => panic!("{family} cut at {len}: unexpected {other}"),
                }
            }
        }
    }

    #[test]
    fn bad_input_gets_a_clear_error() {
        let codec = codec();
        let event = codec.encode_mailbox(&mailbox_events()[1]);

        let error = codec.decode_mailbox(b"{\"json\":1}").unwrap_err();
        assert!(matches!(error, DecodeError::BadMarker { found: [b'{', b'"'], .. }));
        assert_eq!(error.to_string(), "mailbox_event: bad single-object marker [7b, 22], expected [c3, 01]");

        let error = codec.decode_mailbox(&[0xC3, 0x01, 0]).unwrap_err();
        assert_eq!(error.to_string(), "mailbox_event: 3 bytes is shorter than the 10-byte avro single-object header");

        let mut unknown = event.clone();
        unknown[2..10].copy_from_slice(&0x0123_4567_89ab_cdef_u64.to_le_bytes());
        let error = codec.decode_mailbox(&unknown).unwrap_err();
        assert!(matches!(error, DecodeError::UnknownFingerprint { .. }));
        assert_eq!(error.to_string(), "mailbox_event: unknown writer schema fingerprint 0x0123456789abcdef");

        let error = codec.decode_broadcast(&codec.encode_notify(&notify_signals()[1])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "broadcast_event: writer schema fingerprint 0x085210377557ed77 is notify_signal v1, not a broadcast_event schema"
        );

        let mut trailing = event.clone();
        trailing.push(0);
        let error = codec.decode_mailbox(&trailing).unwrap_err();
        assert_eq!(error.to_string(), "mailbox_event v1: 1 trailing bytes after the datum");

        // Union branch 9 of MailboxEvent.event does not exist (zig-zag 9 is 18).
        let mut bad_branch = event.clone();
        bad_branch[10] = 18;
        let error = codec.decode_mailbox(&bad_branch).unwrap_err();
        assert!(matches!(error, DecodeError::Malformed { version: 1, .. }), "{error}");
    }

    /// A corrupt count or length must fail before anything reserves memory for it.
    #[test]
    fn a_huge_length_in_corrupt_input_is_an_error() {
        let codec = codec();
        let event = BroadcastEvent {
            app_id: 1,
            at_us: 1,
            change: BroadcastChange::WhitelistReplaced { revision: 1, uids: vec![5] },
        };
        let bytes = codec.encode_broadcast(&event);
        // header, app_id 1 (zig-zag 2), at_us 1 (2), branch 3 (6), revision 1 (2), then the
        // block count 1 (2).
        assert_eq!(bytes[10..15], [2, 2, 6, 2, 2]);
        let mut corrupt = bytes[..14].to_vec();
        // A block count of 2^40 - 1, zig-zag varint encoded.
        let count: u64 = (1 << 28) + 5;
        let mut zigzag = count << 1;
        while zigzag >= 0x80 {
            corrupt.push((zigzag as u8) | 0x80);
            zigzag >>= 7;
        }
        corrupt.push(zigzag as u8);
        let error = codec.decode_broadcast(&corrupt).unwrap_err();
        assert_eq!(
            error.to_string(),
            "broadcast_event v1: malformed datum: block count 268435461 at byte 4 exceeds the 0 bytes left"
        );

        let letter = codec.encode_dead_letter(&dead_letter());
        let mut corrupt = letter[..10].to_vec();
        corrupt.extend([0xfe, 0xff, 0xff, 0xff, 0x0f]); // source_topic length 2^31 - 1
        let error = codec.decode_dead_letter(&corrupt).unwrap_err();
        assert_eq!(
            error.to_string(),
            "dead_letter v1: malformed datum: length 2147483647 at byte 0 exceeds the 0 bytes left"
        );
    }
}
