//! The Avro decoders: any bytes decode to an event or fail with an error that names the
//! family and blames the input (never `Shape`, which would mean the mapping and the schema
//! disagree); an event that decodes, encoded again, decodes to itself.

use std::fmt::Debug;
use std::sync::LazyLock;

use tidings_events::{DecodeError, EventCodec};
use tidings_fuzz::{mutate, seeds};

static CODEC: LazyLock<EventCodec> = LazyLock::new(EventCodec::new);
static EXAMPLES: LazyLock<Vec<(&'static str, Vec<u8>)>> = LazyLock::new(seeds::events);

/// Each input three ways: as it is, as the datum behind the family's header (where random
/// bytes get past the header), and as edits of one of the family's examples.
#[test]
fn events() {
    bolero::check!(name = "events").for_each(|bytes: &[u8]| {
        let codec = &*CODEC;
        check("mailbox_event", bytes, |b| codec.decode_mailbox(b), |e| codec.encode_mailbox(e));
        check("broadcast_event", bytes, |b| codec.decode_broadcast(b), |e| codec.encode_broadcast(e));
        check("notify_signal", bytes, |b| codec.decode_notify(b), |e| codec.encode_notify(e));
        check("reach_event", bytes, |b| codec.decode_reach(b), |e| codec.encode_reach(e));
        check("dead_letter", bytes, |b| codec.decode_dead_letter(b), |e| codec.encode_dead_letter(e));
    });
}

fn check<T: PartialEq + Debug>(
    family: &str,
    bytes: &[u8],
    decode: impl Fn(&[u8]) -> Result<T, DecodeError>,
    encode: impl Fn(&T) -> Vec<u8>,
) {
    let examples: Vec<&[u8]> =
        EXAMPLES.iter().filter(|(name, _)| *name == family).map(|(_, example)| example.as_slice()).collect();
    let header = &examples[0][..10];
    let example = examples[usize::from(bytes.first().copied().unwrap_or_default()) % examples.len()];
    let inputs = [bytes.to_vec(), [header, bytes].concat(), mutate(example, bytes.get(1..).unwrap_or_default())];
    for input in inputs {
        match decode(&input) {
            Ok(event) => {
                let again = decode(&encode(&event)).unwrap_or_else(|error| panic!("{event:?} re-encoded: {error}"));
                assert_eq!(again, event, "decoded from {input:02x?}");
            }
            Err(error @ DecodeError::Shape { .. }) => panic!("{error}, decoding {input:02x?}"),
            Err(error) => assert!(error.to_string().starts_with(family), "{error}"),
        }
    }
}
