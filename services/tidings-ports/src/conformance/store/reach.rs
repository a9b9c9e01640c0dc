//! Checks of reach sketches: merges are unions, so repeating or reordering them changes
//! nothing, and a broadcast's sketches read back in key order, apart from others'.

use std::sync::Arc;

use tidings_domain::client::Platform;
use tidings_reach::{ReachKey, ReachKind, ReachPlatform, ReachSketch};

use crate::conformance::unique_id;
use crate::store::Store;

fn sketch(uids: std::ops::Range<i64>) -> ReachSketch {
    let mut sketch = ReachSketch::new();
    uids.for_each(|uid| sketch.insert_uid(uid));
    sketch
}

fn key(app_id: i64, broadcast_id: i64, kind: ReachKind, platform: Option<Platform>, hour: i64) -> ReachKey {
    ReachKey { app_id, broadcast_id, kind, platform: ReachPlatform(platform), hour }
}

pub async fn a_broadcast_never_counted_has_no_reach(store: Arc<dyn Store>) {
    assert!(store.reach(unique_id(), 1).await.expect("reach").is_empty());
}

pub async fn reach_merges_are_unions_that_repeats_and_order_do_not_change(store: Arc<dyn Store>) {
    let app_id = unique_id();
    let delivered = key(app_id, 5, ReachKind::Delivered, Some(Platform::Ios), 470_000);
    let read = key(app_id, 5, ReachKind::Read, None, 470_001);
    let (first, second) = (sketch(0..300), sketch(200..3_000));
    store.merge_reach(&[(delivered, first.clone()), (read, sketch(0..3))]).await.expect("merge");
    store.merge_reach(&[(delivered, second.clone())]).await.expect("merge");
    // Redelivered, in the other order, one of them twice in one call.
    store.merge_reach(&[(delivered, second.clone()), (delivered, first.clone())]).await.expect("merge");
    store.merge_reach(&[(read, sketch(0..3))]).await.expect("merge");

    let stored = store.reach(app_id, 5).await.expect("reach");
    assert_eq!(stored, vec![(delivered, sketch(0..3_000)), (read, sketch(0..3))], "in key order, each the union");
    assert_eq!(stored[0].1.estimate(), 3_000);
}

pub async fn reach_of_broadcasts_and_apps_is_kept_apart(store: Arc<dyn Store>) {
    let (app_id, other_app) = (unique_id(), unique_id());
    let cells = [
        (key(app_id, 1, ReachKind::Delivered, Some(Platform::Web), 10), sketch(0..4)),
        (key(app_id, 1, ReachKind::Delivered, Some(Platform::Android), 10), sketch(0..2)),
        (key(app_id, 1, ReachKind::Delivered, Some(Platform::Android), 11), sketch(0..1)),
        (key(app_id, 2, ReachKind::Delivered, Some(Platform::Web), 10), sketch(0..9)),
        (key(other_app, 1, ReachKind::Delivered, Some(Platform::Web), 10), sketch(0..7)),
    ];
    store.merge_reach(&cells).await.expect("merge");
    let mut expected = cells[..3].to_vec();
    expected.sort_by_key(|(key, _)| *key);
    assert_eq!(store.reach(app_id, 1).await.expect("reach"), expected);
    assert_eq!(store.reach(app_id, 2).await.expect("reach"), cells[3..4]);
    assert_eq!(store.reach(other_app, 1).await.expect("reach"), cells[4..]);
}
