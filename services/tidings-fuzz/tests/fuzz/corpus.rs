//! The committed seeds are what `tidings_fuzz::seeds` makes today. After a change of an
//! encoder or a seed, `TIDINGS_WRITE_FUZZ_SEEDS=1 cargo test -p tidings-fuzz --test fuzz
//! corpus` rewrites the `seed-*` files; inputs the fuzzers added (other names) stay.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use tidings_fuzz::seeds;

/// A target's corpus folder: `__fuzz__/<target>/corpus` beside the file that defines it.
fn corpus_dir(target: &str) -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let beside = if target == "datum_allocation" { "avro_memory" } else { "fuzz" };
    tests.join(beside).join("__fuzz__").join(target).join("corpus")
}

/// The `seed-*` files of a folder, by name.
fn committed_seeds(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = fs::read_dir(dir) else { return BTreeMap::new() };
    entries
        .map(|entry| entry.expect("a readable corpus folder").path())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.strip_prefix("seed-")?.to_owned();
            Some((name, fs::read(&path).expect("a readable seed")))
        })
        .collect()
}

#[test]
fn committed_seeds_are_current() {
    let write = std::env::var_os("TIDINGS_WRITE_FUZZ_SEEDS").is_some();
    for (target, inputs) in seeds::corpus() {
        let dir = corpus_dir(target);
        let expected: BTreeMap<String, Vec<u8>> = inputs.into_iter().collect();
        if write {
            fs::create_dir_all(&dir).expect("creating the corpus folder");
            for name in committed_seeds(&dir).keys() {
                fs::remove_file(dir.join(format!("seed-{name}"))).expect("removing an old seed");
            }
            for (name, bytes) in &expected {
                fs::write(dir.join(format!("seed-{name}")), bytes).expect("writing a seed");
            }
        }
        assert!(
            committed_seeds(&dir) == expected,
            "{}: the seeds are stale; rerun with TIDINGS_WRITE_FUZZ_SEEDS=1",
            dir.display()
        );
    }
}
