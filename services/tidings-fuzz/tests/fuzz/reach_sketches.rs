//! Reach sketch bytes, which reach the projector in third parties' events: any bytes are a
//! sketch or a named error, never a panic; a sketch that reads, merged and counted, holds
//! up, and its bytes are the canonical ones it was read from.

use std::sync::LazyLock;

use tidings_fuzz::{mutate, seeds};
use tidings_reach::ReachSketch;

static EXAMPLES: LazyLock<Vec<(String, Vec<u8>)>> = LazyLock::new(seeds::reach_sketches);

#[test]
fn reach_sketch_bytes() {
    bolero::check!(name = "reach_sketch_bytes").for_each(|bytes: &[u8]| {
        let example = &EXAMPLES[usize::from(bytes.first().copied().unwrap_or_default()) % EXAMPLES.len()].1;
        for input in [bytes.to_vec(), mutate(example, bytes.get(1..).unwrap_or_default())] {
            if let Ok(sketch) = ReachSketch::from_bytes(&input) {
                assert_eq!(sketch.to_bytes(), input, "a sketch that reads is canonical");
                let mut merged = ReachSketch::new();
                merged.merge(&sketch);
                merged.merge(&sketch);
                assert_eq!(merged.estimate(), sketch.estimate());
            }
        }
    });
}
