//! The sketches' promises: exact while small, within the error bound when large, merges
//! idempotent and order-free, bytes stable; the counter's drain and the stats' unions.

use std::sync::Arc;

use proptest::prelude::*;
use tidings_domain::client::Platform;

use crate::*;

fn sketch_of(uids: impl IntoIterator<Item = i64>) -> ReachSketch {
    let mut sketch = ReachSketch::new();
    for uid in uids {
        sketch.insert_uid(uid);
    }
    sketch
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[test]
fn small_counts_are_exact() {
    // Linear counting over the sparse form's 2^24 cells: off by n² / 2^25, below a half
    // (so exact once rounded) up to about 4,000 users.
    for n in [0, 1, 2, 7, 100, 1_000, 3_000] {
        assert_eq!(sketch_of(1..=n).estimate(), n as u64, "n = {n}");
    }
    // Repeats don't count.
    assert_eq!(sketch_of((1..=50).chain(1..=50)).estimate(), 50);
}

/// The estimate of `n` distinct uids is within 2 % of `n`.
fn assert_within_two_percent(n: i64) {
    // Uids far apart, as real ones are: the hash must not depend on their being dense.
    let estimate = sketch_of((0..n).map(|i| 1_000_003 + i * 7_919)).estimate() as f64;
    let error = (estimate - n as f64).abs() / n as f64;
    assert!(error < 0.02, "{n} users estimated {estimate}: error {error}");
}

#[test]
fn error_is_within_two_percent_at_ten_thousand() {
    assert_within_two_percent(10_000);
}

#[test]
fn error_is_within_two_percent_at_a_hundred_thousand() {
    assert_within_two_percent(100_000);
}

#[test]
fn error_is_within_two_percent_at_a_million() {
    assert_within_two_percent(1_000_000);
}

#[test]
fn a_million_split_over_merged_sketches_is_within_two_percent() {
    // Four pull workers each see a quarter (with overlap), merged in the projector.
    let parts: Vec<ReachSketch> = (0..4).map(|part| sketch_of(part * 250_000..(part + 1) * 250_000 + 1_000)).collect();
    let merged = ReachSketch::union(&parts);
    let error = (merged.estimate() as f64 - 1_001_000.0).abs() / 1_001_000.0;
    assert!(error < 0.02, "error {error}");
}

#[test]
fn the_uid_hash_is_pinned() {
    // xxh3-64 of the uid's little-endian bytes under UID_HASH_SEED; a change here means
    // every stored sketch stops merging with new ones.
    assert_eq!(uid_hash(42), xxhash_rust::xxh3::xxh3_64_with_seed(&42i64.to_le_bytes(), 0x7469_6469_6e67_7331));
    assert_eq!(format!("{:016x}", uid_hash(42)), "9f04579ce03ad71e");
}

#[test]
fn sparse_bytes_are_golden() {
    assert_eq!(hex(&sketch_of([1, 2, 3]).to_bytes()), "010e80800180808008b3660003c4f498180c9abba90af6b58b05b483e40800",);
}

#[test]
fn dense_bytes_are_golden() {
    let bytes = sketch_of(1..=50_000).to_bytes();
    assert_eq!(
        (bytes.len(), format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&bytes))),
        (12_975, "0102575772201070".to_owned()),
    );
}

#[test]
fn bytes_round_trip_sparse_and_dense() {
    for n in [0, 3, 2_000, 40_000] {
        let sketch = sketch_of(1..=n);
        let back = ReachSketch::from_bytes(&sketch.to_bytes()).expect("decodes");
        assert_eq!(back, sketch, "n = {n}");
        assert_eq!(back.estimate(), sketch.estimate());
    }
}

#[test]
fn bad_bytes_are_named_errors() {
    assert!(matches!(ReachSketch::from_bytes(&[]), Err(SketchError::Malformed(_))));
    assert_eq!(ReachSketch::from_bytes(&[9, 1, 2]).unwrap_err(), SketchError::UnknownFormat(9));
    let good = sketch_of(1..=3000).to_bytes();
    for cut in [1, 2, 5, good.len() / 2, good.len() - 1] {
        assert!(ReachSketch::from_bytes(&good[..cut]).is_err(), "cut at {cut}");
    }
    let mut longer = good.clone();
    longer.push(0);
    assert!(ReachSketch::from_bytes(&longer).is_err(), "trailing byte");
    // Another precision's header.
    let mut other = good.clone();
    other[1] = 12;
    assert!(ReachSketch::from_bytes(&other).is_err(), "precision 12");
}

#[test]
fn merging_a_sketch_into_itself_changes_nothing() {
    for n in [5, 3_000, 60_000] {
        let sketch = sketch_of(1..=n);
        let mut twice = sketch.clone();
        twice.merge(&sketch);
        twice.merge(&sketch);
        assert_eq!(twice, sketch, "n = {n}");
    }
}

#[test]
fn a_sparse_and_a_dense_sketch_merge_the_same_either_way() {
    let small = sketch_of(1..=500);
    let large = sketch_of(300..=80_000);
    let mut one = small.clone();
    one.merge(&large);
    let mut other = large.clone();
    other.merge(&small);
    assert_eq!(one, other);
    assert_eq!(one, sketch_of(1..=80_000));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Several workers' sketches, some redelivered, merged in any order, give the sketch
    /// of the union: a redelivered or replayed reach event changes nothing.
    #[test]
    fn merges_are_order_free_and_idempotent(
        parts in prop::collection::vec(prop::collection::vec(0i64..20_000, 0..3_000), 1..5),
        redelivered in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        order in any::<prop::sample::Index>(),
    ) {
        let sketches: Vec<ReachSketch> = parts.iter().map(|uids| sketch_of(uids.iter().copied())).collect();
        let mut sequence: Vec<&ReachSketch> = sketches.iter().collect();
        sequence.extend(redelivered.iter().map(|index| &sketches[index.index(sketches.len())]));
        let rotate = order.index(sequence.len());
        sequence.rotate_left(rotate);
        sequence.reverse();
        let merged = ReachSketch::union(sequence);
        let expected = sketch_of(parts.iter().flatten().copied());
        prop_assert_eq!(merged.to_bytes(), expected.to_bytes());
    }
}

fn key(broadcast_id: i64, kind: ReachKind, platform: Option<Platform>, hour: i64) -> ReachKey {
    ReachKey { app_id: 7, broadcast_id, kind, platform: ReachPlatform(platform), hour }
}

#[test]
fn the_counter_drains_per_broadcast_what_concurrent_pulls_recorded() {
    let counter = Arc::new(ReachCounter::new());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let counter = Arc::clone(&counter);
            std::thread::spawn(move || {
                for uid in 0..2_000 {
                    // Every thread sees every uid: four workers' worth of repeats.
                    let platform = if uid % 2 == 0 { Some(Platform::Ios) } else { None };
                    counter.record(
                        uid,
                        [key(1, ReachKind::Delivered, platform, 10), key(2, ReachKind::Read, platform, 11)],
                    );
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread");
    }
    let events = counter.drain();
    assert!(counter.is_empty());
    assert_eq!(events.iter().map(|event| event.broadcast_id).collect::<Vec<_>>(), [1, 2]);
    let first = &events[0];
    assert_eq!(first.cells.len(), 2, "ios and unknown");
    let total: u64 =
        first.cells.iter().map(|cell| ReachSketch::from_bytes(&cell.sketch).expect("sketch").estimate()).sum();
    assert_eq!(total, 2_000);
    assert!(counter.drain().is_empty(), "drained");
}

#[test]
fn the_counter_gives_the_sketch_of_its_uids_below_and_above_the_exact_limit() {
    for users in [10, counter::EXACT_LIMIT as i64 * SHARDS_FOR_TEST] {
        let counter = ReachCounter::new();
        for uid in (0..users).chain(0..users / 2) {
            counter.record(uid, [key(1, ReachKind::Delivered, None, 1)]);
        }
        let events = counter.drain();
        let sketch = ReachSketch::from_bytes(&events[0].cells[0].sketch).expect("sketch");
        assert_eq!(sketch, sketch_of(0..users), "{users} users");
    }
}

/// Enough users that every shard's cell passes the exact limit.
const SHARDS_FOR_TEST: i64 = 80;

#[test]
fn stats_are_unions_by_platform_and_hour_with_a_cumulative_line() {
    let cells = [
        (key(1, ReachKind::Delivered, Some(Platform::Ios), 100), sketch_of(1..=10)),
        // Users 6..=10 again, on another platform and in the next hour.
        (key(1, ReachKind::Delivered, Some(Platform::Android), 101), sketch_of(6..=15)),
        (key(1, ReachKind::Delivered, None, 101), sketch_of([100])),
        (key(1, ReachKind::Read, Some(Platform::Ios), 101), sketch_of(1..=4)),
    ];
    let stats = ReachStats::from_sketches(cells.iter().map(|(key, sketch)| (key, sketch)));
    assert_eq!(stats.delivered.total, 16);
    let by_platform: Vec<(&str, u64)> =
        stats.delivered.by_platform.iter().map(|(platform, users)| (platform.as_str(), *users)).collect();
    assert_eq!(by_platform, [("unknown", 1), ("ios", 10), ("android", 10)]);
    assert_eq!(
        stats.delivered.by_hour,
        [
            HourStats { hour_start: 360_000, users: 10, cumulative: 10 },
            HourStats { hour_start: 363_600, users: 11, cumulative: 16 },
        ]
    );
    assert_eq!(stats.read.total, 4);
    assert_eq!(stats.read.by_hour, [HourStats { hour_start: 363_600, users: 4, cumulative: 4 }]);
}

#[test]
fn platforms_read_back_from_their_words() {
    for platform in Platform::ALL.map(Some).into_iter().chain([None]) {
        let reach = ReachPlatform(platform);
        assert_eq!(reach.as_str().parse::<ReachPlatform>(), Ok(reach));
    }
    assert!("beos".parse::<ReachPlatform>().is_err());
    let mut sorted = ReachPlatform::ALL;
    sorted.sort();
    assert_eq!(sorted, ReachPlatform::ALL, "ALL is in key order");
    for kind in ReachKind::ALL {
        assert_eq!(kind.as_str().parse::<ReachKind>(), Ok(kind));
    }
    assert_eq!(ReachKey::hour_of(7_199), 1);
    assert_eq!(ReachKey::hour_of(-1), -1);
}
