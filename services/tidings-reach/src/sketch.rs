//! [`ReachSketch`]: a set of uids, counted approximately in bounded memory, that merges.
//!
//! A HyperLogLog++ sketch (crate `hyperloglogplus`) at precision [`PRECISION`] (2^14
//! registers, 0.81 % standard error) with its sparse form (precision 25 below the dense
//! size), which counts small sets exactly up to hash collisions: linear counting over 2^24
//! cells is off by about n² / 2^25, under a half up to about 4,000 users. Two things make sketches of
//! different processes and releases comparable:
//!
//! - **A pinned hash.** A uid's hash is xxh3-64 of its 8 little-endian bytes under the seed
//!   [`UID_HASH_SEED`]: the same in every process and every release (never a per-process
//!   random hasher), so the same uid sets the same register everywhere.
//! - **A stable encoding.** [`ReachSketch::to_bytes`] writes one format byte
//!   ([`FORMAT_V1`]) and the sketch in postcard's 1.x wire format (frozen by its
//!   specification), after folding the sketch's insertion buffer in, so equal sets give equal
//!   bytes. A golden-bytes test fails if an upgrade of either crate changes them.
//!
//! Merging is a register-wise maximum (a union of hash codes while sparse): idempotent,
//! commutative and associative, so a redelivered or replayed sketch changes nothing.

use std::hash::{BuildHasher, Hasher};

use hyperloglogplus::{HyperLogLog, HyperLogLogPlus};
use serde::{Deserialize, Serialize};
use tidings_domain::Uid;

/// Register-index bits: 2^14 registers, standard error 1.04 / 2^7 ≈ 0.81 %.
pub const PRECISION: u8 = 14;

/// The seed of the uid hash (xxh3-64). Never change it: sketches written before would no
/// longer merge with new ones.
pub const UID_HASH_SEED: u64 = 0x7469_6469_6e67_7331; // "tidings1"

/// The first byte of every encoded sketch.
pub const FORMAT_V1: u8 = 1;

/// Bytes that are not an encoded sketch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SketchError {
    #[error("sketch format {0} is unknown (expected {FORMAT_V1})")]
    UnknownFormat(u8),
    #[error("sketch bytes are malformed: {0}")]
    Malformed(String),
}

/// The uid hash, pinned (see the module docs).
pub fn uid_hash(uid: Uid) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(&uid.to_le_bytes(), UID_HASH_SEED)
}

/// Hands the sketch a hash computed beforehand ([`uid_hash`]), unchanged.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
pub struct PassThrough;

/// The [`Hasher`] of [`PassThrough`]: `finish` returns the last `u64` written.
#[derive(Debug, Default)]
pub struct PassThroughHasher(u64);

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used (a `u64` hashes that way); anything else folds in, so a
        // misuse still hashes deterministically.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

impl BuildHasher for PassThrough {
    type Hasher = PassThroughHasher;

    fn build_hasher(&self) -> PassThroughHasher {
        PassThroughHasher::default()
    }
}

type Inner = HyperLogLogPlus<u64, PassThrough>;

/// A mergeable approximate set of uids. See the module docs.
#[derive(Debug, Clone)]
pub struct ReachSketch {
    inner: Inner,
}

impl Default for ReachSketch {
    fn default() -> Self {
        Self::new()
    }
}

impl ReachSketch {
    pub fn new() -> Self {
        Self { inner: Inner::new(PRECISION, PassThrough).expect("PRECISION is within the crate's range") }
    }

    pub fn insert_uid(&mut self, uid: Uid) {
        self.insert_hash(uid_hash(uid));
    }

    /// Inserts a hash from [`uid_hash`] (computed once when one uid goes into several sketches).
    pub fn insert_hash(&mut self, hash: u64) {
        self.inner.insert_any(&hash);
    }

    /// Adds every uid of `other` (register-wise maximum): idempotent and commutative.
    pub fn merge(&mut self, other: &ReachSketch) {
        self.inner.merge(&other.inner).expect("every ReachSketch has PRECISION");
    }

    /// The estimated number of distinct uids inserted, rounded.
    pub fn estimate(&self) -> u64 {
        let mut inner = self.inner.clone();
        inner.count().round().max(0.0) as u64
    }

    /// The union of several sketches.
    pub fn union<'a>(sketches: impl IntoIterator<Item = &'a ReachSketch>) -> ReachSketch {
        let mut union = ReachSketch::new();
        for sketch in sketches {
            union.merge(sketch);
        }
        union
    }

    /// The stable encoding (see the module docs): equal sets give equal bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut inner = self.inner.clone();
        // Folds the insertion buffer into the sorted sparse list, so the bytes don't depend
        // on a hash set's iteration order.
        inner.count();
        let mut bytes = vec![FORMAT_V1];
        bytes.extend(postcard::to_allocvec(&inner).expect("a sketch always serializes"));
        bytes
    }

    /// Reads [`ReachSketch::to_bytes`]' output back. Bytes from outside (a third party's
    /// event) are checked: the format byte, the precision and register counts of this
    /// crate, the canonical form, and that the sketch can be counted and merged without
    /// fault; anything else is [`SketchError`].
    pub fn from_bytes(bytes: &[u8]) -> Result<ReachSketch, SketchError> {
        let (&format, body) = bytes.split_first().ok_or_else(|| SketchError::Malformed("empty".to_owned()))?;
        if format != FORMAT_V1 {
            return Err(SketchError::UnknownFormat(format));
        }
        let inner: Inner = postcard::from_bytes(body).map_err(|error| SketchError::Malformed(error.to_string()))?;
        let header = fresh_header();
        if body.get(..header.len()) != Some(header.as_slice()) {
            return Err(SketchError::Malformed("precision or register counts differ from this release's".to_owned()));
        }
        let sketch = ReachSketch { inner };
        // Inconsistent internals (a register buffer of the wrong length, a sparse list out of
        // order) would make the crate panic later, in a projector or a read: find out now.
        let checked = std::panic::catch_unwind(|| {
            let mut probe = ReachSketch::new();
            probe.merge(&sketch);
            (probe.estimate(), sketch.to_bytes())
        });
        match checked {
            Ok((_, canonical)) if canonical == bytes => Ok(sketch),
            Ok(_) => Err(SketchError::Malformed("not in canonical form".to_owned())),
            Err(_) => Err(SketchError::Malformed("inconsistent sketch".to_owned())),
        }
    }
}

/// The encoded precision and register counts every sketch of this release starts with: the
/// empty sketch's bytes up to its (empty) insertion buffer.
fn fresh_header() -> Vec<u8> {
    let empty = postcard::to_allocvec(&ReachSketch::new().inner).expect("a sketch always serializes");
    // precision (1 byte), counts (3 varints), then the buffer's length: keep up to the counts.
    let mut header = vec![empty[0]];
    let mut rest = &empty[1..];
    for _ in 0..3 {
        let len = rest.iter().position(|byte| byte & 0x80 == 0).map_or(rest.len(), |end| end + 1);
        header.extend_from_slice(&rest[..len]);
        rest = &rest[len..];
    }
    header
}

impl PartialEq for ReachSketch {
    /// Equal sets of hash codes (compared by their canonical bytes).
    fn eq(&self, other: &Self) -> bool {
        self.to_bytes() == other.to_bytes()
    }
}

impl Eq for ReachSketch {}
