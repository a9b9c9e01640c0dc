//! Fuzzing of what Tidings parses from outside (issue 10): the Avro event decoders, the sync
//! cursor, the client identity (headers and User-Agent), bearer tokens, the JSON bodies of
//! the HTTP API and the gateway's frames.
//!
//! The harnesses are bolero targets in `tests/fuzz/` (and `tests/avro_memory.rs`, which
//! needs a binary of its own for its counting allocator). On stable, `cargo test` replays each
//! target's committed corpus (`tests/fuzz/__fuzz__/<target>/corpus`, and any `crashes`)
//! and then feeds it random inputs for a bounded time (`BOLERO_RANDOM_TEST_TIME_MS`, 1 s by
//! default); `infra/fuzz.sh` runs the same targets under libFuzzer on nightly for longer.
//! Each target checks properties, not only the absence of panics.
//!
//! This library holds what the harnesses share: [`seeds`], the valid inputs the corpus
//! starts from and the mutations build on, and [`mutate`].

pub mod seeds;

/// Applies `edits` to `original`, three bytes an edit: an operation (replace, insert or
/// delete, by the byte's value modulo 3), a position (wrapping around) and a byte. Lets a
/// random byte string stand for a few edits of a valid input, which random bytes alone
/// almost never are.
pub fn mutate(original: &[u8], edits: &[u8]) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for edit in edits.chunks_exact(3) {
        let [operation, position, byte] = [edit[0], edit[1], edit[2]];
        let position = usize::from(position);
        // Nothing to replace or delete in an empty string: insert.
        match (operation % 3, bytes.len()) {
            (1, len) | (_, len @ 0) => bytes.insert(position % (len + 1), byte),
            (0, len) => bytes[position % len] = byte,
            (_, len) => {
                bytes.remove(position % len);
            }
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::mutate;

    #[test]
    fn edits_replace_insert_and_delete() {
        assert_eq!(mutate(b"abc", &[0, 1, b'X']), b"aXc");
        assert_eq!(mutate(b"abc", &[1, 0, b'X']), b"Xabc");
        assert_eq!(mutate(b"abc", &[2, 2, 0]), b"ab");
        assert_eq!(mutate(b"abc", &[0, 4, b'X', 2, 0, 0]), b"Xc", "positions wrap around");
        assert_eq!(mutate(b"", &[2, 7, b'X']), b"X", "an empty string gets an insert");
        assert_eq!(mutate(b"abc", &[0, 1]), b"abc", "an incomplete edit is ignored");
    }
}
