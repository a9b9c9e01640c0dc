//! The bytes on the wire: what a third party's Avro library reads, pinned byte for byte.

use apache_avro::rabin::Rabin;
use apache_avro::{GenericSingleObjectReader, Schema};

use super::examples::{
    broadcast_events, dead_letter, mailbox_events, notify_signals, one_of_each_family, reach_events,
    templated_broadcast_event,
};
use tidings_domain::event::{BroadcastEvent, Delivery, MailboxEvent};

use crate::EventCodec;

/// `golden_bytes.txt`: one line per example, `<family> <index in its examples> <hex>`, and
/// the lines of earlier versions (`mailbox_event` lines are v1, whose deliveries had no
/// `send`, `mailbox_event_v2` the current ones; `broadcast_event` lines are v1, whose
/// examples had no actor; `broadcast_event_v2` had no template; `broadcast_event_v3` the
/// current ones, the examples and then a templated one).
const GOLDEN_BYTES: &str = include_str!("golden_bytes.txt");

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

/// Every example of every family encodes to the bytes it encoded to when pinned. A change
/// here is a change of the wire format: events already on the log, or written by a
/// business server, would no longer be what this codec writes.
#[test]
fn every_example_encodes_to_its_golden_bytes() {
    let codec = EventCodec::new();
    let families: [(&str, Vec<Vec<u8>>); 5] = [
        ("mailbox_event_v2", mailbox_events().iter().map(|event| codec.encode_mailbox(event)).collect()),
        (
            "broadcast_event_v3",
            broadcast_events()
                .iter()
                .chain([&templated_broadcast_event()])
                .map(|e| codec.encode_broadcast(e))
                .collect(),
        ),
        ("notify_signal", notify_signals().iter().map(|signal| codec.encode_notify(signal)).collect()),
        ("dead_letter", vec![codec.encode_dead_letter(&dead_letter())]),
        ("reach_event", reach_events().iter().map(|event| codec.encode_reach(event)).collect()),
    ];
    let encoded: Vec<String> = families
        .iter()
        .flat_map(|(family, examples)| {
            examples.iter().enumerate().map(move |(index, bytes)| format!("{family} {index} {}", hex(bytes)))
        })
        .collect();
    let golden: Vec<&str> =
        GOLDEN_BYTES.lines().filter(|line| !line.starts_with('#') && !is_earlier_version(line)).collect();
    assert_eq!(encoded, golden);
}

/// The labels of golden lines pinned by earlier versions.
const V1_MAILBOX: &str = "mailbox_event ";
const V1_BROADCAST: &str = "broadcast_event ";
const V2_BROADCAST: &str = "broadcast_event_v2 ";

fn is_earlier_version(line: &str) -> bool {
    [V1_MAILBOX, V1_BROADCAST, V2_BROADCAST].iter().any(|label| line.starts_with(label))
}

/// The golden lines labelled `label` decode to `examples` (as they were in that version).
fn assert_pinned_lines_decode<T: PartialEq + std::fmt::Debug>(
    label: &str,
    examples: Vec<T>,
    decode: impl Fn(&[u8]) -> T,
) {
    let lines: Vec<&str> = GOLDEN_BYTES.lines().filter(|line| line.starts_with(label)).collect();
    assert_eq!(lines.len(), examples.len(), "{label}");
    for (line, example) in lines.into_iter().zip(examples) {
        assert_eq!(decode(&from_hex(line.rsplit(' ').next().unwrap())), example, "{line}");
    }
}

/// Bytes pinned when v1 was the newest mailbox version still decode, to the examples v1
/// had (its four branches), without `send`.
#[test]
fn v1_mailbox_golden_bytes_decode_to_their_examples_without_a_send() {
    let codec = EventCodec::new();
    let examples = mailbox_events()
        .into_iter()
        .take(4)
        .map(|event| match event {
            MailboxEvent::Delivered(delivery) => MailboxEvent::Delivered(Delivery { send: None, ..delivery }),
            other => other,
        })
        .collect();
    assert_pinned_lines_decode(V1_MAILBOX, examples, |bytes| codec.decode_mailbox(bytes).unwrap());
}

/// Bytes pinned when v2 was the newest broadcast version still decode, to the examples
/// (all plain text).
#[test]
fn v2_golden_bytes_decode_to_their_examples() {
    let codec = EventCodec::new();
    assert_pinned_lines_decode(V2_BROADCAST, broadcast_events(), |bytes| codec.decode_broadcast(bytes).unwrap());
}

/// Bytes pinned when v1 was the newest broadcast version still decode, to the examples
/// as they were then: without an actor.
#[test]
fn v1_golden_bytes_decode_to_their_examples_without_an_actor() {
    let codec = EventCodec::new();
    let examples = broadcast_events().into_iter().map(|example| BroadcastEvent { actor: None, ..example }).collect();
    assert_pinned_lines_decode(V1_BROADCAST, examples, |bytes| codec.decode_broadcast(bytes).unwrap());
}

fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
