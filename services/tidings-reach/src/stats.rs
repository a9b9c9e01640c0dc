//! [`ReachStats`]: what a read of a broadcast's reach shows, computed from its stored
//! sketches (one per kind, platform and hour) as unions, so a user counted on two platforms
//! or in two hours is one user of the total.

use std::collections::BTreeMap;

use crate::key::{HOUR_S, ReachKey, ReachKind, ReachPlatform};
use crate::sketch::ReachSketch;

/// Distinct users of one kind (delivered or read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindStats {
    /// Over every platform and hour.
    pub total: u64,
    /// Per platform (`unknown` for clients that did not say), over every hour.
    pub by_platform: BTreeMap<ReachPlatform, u64>,
    /// Per hour, in time order; only hours with users.
    pub by_hour: Vec<HourStats>,
}

/// One hour of [`KindStats::by_hour`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourStats {
    /// Unix seconds at which the hour starts.
    pub hour_start: i64,
    /// Distinct users in this hour.
    pub users: u64,
    /// Distinct users in this hour and every earlier one (a reach chart's line).
    pub cumulative: u64,
}

/// A broadcast's reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReachStats {
    pub delivered: KindStats,
    pub read: KindStats,
}

impl ReachStats {
    /// From the broadcast's stored sketches (keys of other broadcasts must not be among them).
    pub fn from_sketches<'a>(sketches: impl IntoIterator<Item = (&'a ReachKey, &'a ReachSketch)>) -> ReachStats {
        let mut delivered = Vec::new();
        let mut read = Vec::new();
        for (key, sketch) in sketches {
            match key.kind {
                ReachKind::Delivered => delivered.push((key, sketch)),
                ReachKind::Read => read.push((key, sketch)),
            }
        }
        ReachStats { delivered: kind_stats(&delivered), read: kind_stats(&read) }
    }
}

fn kind_stats(sketches: &[(&ReachKey, &ReachSketch)]) -> KindStats {
    let mut total = ReachSketch::new();
    let mut platforms: BTreeMap<ReachPlatform, ReachSketch> = BTreeMap::new();
    let mut hours: BTreeMap<i64, ReachSketch> = BTreeMap::new();
    for (key, sketch) in sketches {
        total.merge(sketch);
        platforms.entry(key.platform).or_default().merge(sketch);
        hours.entry(key.hour).or_default().merge(sketch);
    }
    let mut so_far = ReachSketch::new();
    let by_hour = hours
        .into_iter()
        .map(|(hour, sketch)| {
            so_far.merge(&sketch);
            HourStats { hour_start: hour * HOUR_S, users: sketch.estimate(), cumulative: so_far.estimate() }
        })
        .collect();
    KindStats {
        total: total.estimate(),
        by_platform: platforms.into_iter().map(|(platform, sketch)| (platform, sketch.estimate())).collect(),
        by_hour,
    }
}
