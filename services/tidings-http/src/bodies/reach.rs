//! A broadcast's reach (docs/design.md#reach), as `GET /v1/apps/{app_id}/broadcasts/{id}`
//! shows it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tidings_reach::{HourStats, KindStats, ReachStats};
use utoipa::ToSchema;

/// Distinct users the broadcast was delivered to (a sync returned it) and read by (a read
/// mark covered it). Estimates from HyperLogLog++ sketches: exact up to a few thousand
/// users, within about 1 % (2 % at worst) beyond; late by up to the pull workers'
/// `puller.reach_flush_interval_ms`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reach {
    pub delivered: ReachCounts,
    pub read: ReachCounts,
}

/// Distinct users of one kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReachCounts {
    /// Over every platform and hour (a user counted on two platforms is one user here).
    pub total: u64,
    /// Per client platform (`ios`, `android`, `win`, `mac`, `linux`, `web`, or `unknown`
    /// for clients that did not say); only platforms with users.
    pub by_platform: BTreeMap<String, u64>,
    /// Per hour, oldest first; only hours with users.
    pub by_hour: Vec<ReachHour>,
}

/// One hour of [`ReachCounts::by_hour`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReachHour {
    /// Unix seconds at which the hour starts.
    pub hour_start: i64,
    /// Distinct users in this hour.
    pub users: u64,
    /// Distinct users in this hour and every earlier one.
    pub cumulative: u64,
}

impl From<ReachStats> for Reach {
    fn from(stats: ReachStats) -> Self {
        Self { delivered: stats.delivered.into(), read: stats.read.into() }
    }
}

impl From<KindStats> for ReachCounts {
    fn from(stats: KindStats) -> Self {
        Self {
            total: stats.total,
            by_platform: stats.by_platform.into_iter().map(|(platform, users)| (platform.to_string(), users)).collect(),
            by_hour: stats.by_hour.into_iter().map(ReachHour::from).collect(),
        }
    }
}

impl From<HourStats> for ReachHour {
    fn from(hour: HourStats) -> Self {
        Self { hour_start: hour.hour_start, users: hour.users, cumulative: hour.cumulative }
    }
}
