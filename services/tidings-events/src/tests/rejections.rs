//! Bytes that are not an event of the family asked for fail with an error that says why,
//! and never make the decoder allocate what the input only claims.

use tidings_domain::event::{BroadcastChange, BroadcastEvent};

use super::examples::{dead_letter, mailbox_events, notify_signals, one_of_each_family};
use crate::{DecodeError, EventCodec};

#[test]
fn every_truncation_is_an_error() {
    let codec = EventCodec::new();
    for (family, bytes, _) in one_of_each_family() {
        for len in 0..bytes.len() {
            let cut = &bytes[..len];
            let error = match family {
                "mailbox_event" => codec.decode_mailbox(cut).map(drop),
                "broadcast_event" => codec.decode_broadcast(cut).map(drop),
                "notify_signal" => codec.decode_notify(cut).map(drop),
                "reach_event" => codec.decode_reach(cut).map(drop),
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
    let codec = EventCodec::new();
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
    assert_eq!(error.to_string(), "mailbox_event v2: 1 trailing bytes after the datum");

    // Union branch 9 of MailboxEvent.event does not exist (zig-zag 9 is 18).
    let mut bad_branch = event.clone();
    bad_branch[10] = 18;
    let error = codec.decode_mailbox(&bad_branch).unwrap_err();
    assert!(matches!(error, DecodeError::Malformed { version: 2, .. }), "{error}");
}

/// A corrupt count or length must fail before anything reserves memory for it.
#[test]
fn a_huge_length_in_corrupt_input_is_an_error() {
    let codec = EventCodec::new();
    let event = BroadcastEvent {
        app_id: 1,
        at_us: 1,
        change: BroadcastChange::WhitelistReplaced { revision: 1, uids: vec![5] },
        actor: None,
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
        "broadcast_event v3: malformed datum: block count 268435461 at byte 4 exceeds the 0 bytes left"
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

/// The schema's attributes are an array, which can name one attribute twice; the codec
/// refuses that rather than keep one of them quietly.
#[test]
fn an_attribute_named_twice_is_an_error() {
    let codec = EventCodec::new();
    let event = mailbox_events().into_iter().last().expect("the attributes example");
    let apache_avro::types::Value::Record(mut fields) = crate::mailbox::to_value(&event) else { panic!() };
    let apache_avro::types::Value::Union(branch, mut change) = fields.remove(0).1 else { panic!() };
    let apache_avro::types::Value::Record(change_fields) = change.as_mut() else { panic!() };
    let apache_avro::types::Value::Array(attributes) = &mut change_fields[1].1 else { panic!() };
    attributes.push(attributes[0].clone());
    let datum =
        apache_avro::types::Value::Record(vec![("event".into(), apache_avro::types::Value::Union(branch, change))]);
    let bytes = codec.families.mailbox.encode(datum);
    let error = codec.decode_mailbox(&bytes).unwrap_err();
    assert!(error.to_string().contains("\"nickname\" twice"), "{error}");
}
