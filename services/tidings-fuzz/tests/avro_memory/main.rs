//! The Avro decoders never hold more memory than the input could justify: a length or count
//! in the bytes is checked against the bytes left before anything is reserved for it
//! (tidings-events `avro/bounds.rs`), so a few corrupt bytes can't make a consumer reserve
//! gigabytes. A test binary of its own: its allocator counts and caps what the whole process
//! holds, so no other test may run beside it.
//!
//! Past the cap an allocation fails and the process aborts ("memory allocation of N bytes
//! failed"), which fails `cargo test` and is a crash to libFuzzer (whose own allocations the
//! cap does not see).

use std::alloc::System;
use std::sync::LazyLock;

use cap::Cap;
use tidings_events::EventCodec;
use tidings_fuzz::seeds;

#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

static CODEC: LazyLock<EventCodec> = LazyLock::new(EventCodec::new);

/// What decoding `len` bytes may hold at once: every byte of a datum can be an array item,
/// which apache-avro holds as a `Value` (tens of bytes) in a vector that doubles, next to the
/// domain's copy; the constant is the error message and the codec's bookkeeping.
fn budget(len: usize) -> usize {
    64 * 1024 + 512 * len
}

/// Runs `decode` with at most `budget` more bytes held than before.
fn within(budget: usize, decode: impl FnOnce()) {
    ALLOCATOR.set_limit(ALLOCATOR.allocated() + budget).expect("the limit is above what is held");
    decode();
    ALLOCATOR.set_limit(usize::MAX).expect("no limit");
}

#[test]
fn datum_allocation() {
    let codec = &*CODEC;
    // Each family's decoder is picked before any cap is set: a panic under the cap would
    // allocate past it and abort the process without its message.
    let mut decoders: Vec<(Vec<u8>, Decoder)> =
        seeds::events().into_iter().map(|(family, bytes)| (bytes[..10].to_vec(), decoder_of(family))).collect();
    decoders.dedup_by(|a, b| a.0 == b.0);
    bolero::check!(name = "datum_allocation").for_each(|datum: &[u8]| {
        for (header, decode) in &decoders {
            let bytes = [header.as_slice(), datum].concat();
            within(budget(bytes.len()), || decode(codec, &bytes));
        }
    });
}

/// Decodes one family's bytes and drops the outcome: only what it held matters here.
type Decoder = fn(&EventCodec, &[u8]);

fn decoder_of(family: &str) -> Decoder {
    match family {
        "mailbox_event" => |codec, bytes| drop(codec.decode_mailbox(bytes)),
        "broadcast_event" => |codec, bytes| drop(codec.decode_broadcast(bytes)),
        "notify_signal" => |codec, bytes| drop(codec.decode_notify(bytes)),
        "reach_event" => |codec, bytes| drop(codec.decode_reach(bytes)),
        "dead_letter" => |codec, bytes| drop(codec.decode_dead_letter(bytes)),
        other => panic!("a family the codec does not have: {other}"),
    }
}
