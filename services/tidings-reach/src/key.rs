//! What a sketch counts ([`ReachKey`]) and the event that carries sketches ([`ReachEvent`]).

use std::fmt;
use std::str::FromStr;

use tidings_domain::client::Platform;
use tidings_domain::{AppId, BroadcastId};

/// What happened to a broadcast for a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReachKind {
    /// A pull (a sync) returned it to the user.
    Delivered,
    /// A read mark of the user covered it.
    Read,
}

impl ReachKind {
    pub const ALL: [ReachKind; 2] = [ReachKind::Delivered, ReachKind::Read];

    pub fn as_str(&self) -> &'static str {
        match self {
            ReachKind::Delivered => "delivered",
            ReachKind::Read => "read",
        }
    }
}

impl FromStr for ReachKind {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        ReachKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
            .ok_or_else(|| format!("unknown reach kind {value:?}"))
    }
}

impl fmt::Display for ReachKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The word for a client that did not say its platform, in events and answers.
pub const UNKNOWN_PLATFORM: &str = "unknown";

/// A viewer's platform as reach counts it: one of [`Platform`], or none said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReachPlatform(pub Option<Platform>);

impl ReachPlatform {
    /// Every value, in order: unknown first, then [`Platform::ALL`].
    pub const ALL: [ReachPlatform; 7] = [
        ReachPlatform(None),
        ReachPlatform(Some(Platform::Ios)),
        ReachPlatform(Some(Platform::Android)),
        ReachPlatform(Some(Platform::Win)),
        ReachPlatform(Some(Platform::Mac)),
        ReachPlatform(Some(Platform::Linux)),
        ReachPlatform(Some(Platform::Web)),
    ];

    pub fn as_str(&self) -> &'static str {
        self.0.as_ref().map_or(UNKNOWN_PLATFORM, Platform::as_str)
    }
}

impl fmt::Display for ReachPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReachPlatform {
    type Err = tidings_domain::client::UnknownPlatform;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        if value == UNKNOWN_PLATFORM { Ok(ReachPlatform(None)) } else { value.parse().map(|p| ReachPlatform(Some(p))) }
    }
}

/// Seconds in an hour: reach is kept per unix hour (`unix seconds / 3600`).
pub const HOUR_S: i64 = 3600;

/// The cell one sketch counts: one broadcast, one kind, one platform, one hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReachKey {
    pub app_id: AppId,
    pub broadcast_id: BroadcastId,
    pub kind: ReachKind,
    pub platform: ReachPlatform,
    /// The unix hour of the pull or read mark: unix seconds / [`HOUR_S`].
    pub hour: i64,
}

impl ReachKey {
    /// The unix hour that holds `unix_s`.
    pub fn hour_of(unix_s: i64) -> i64 {
        unix_s.div_euclid(HOUR_S)
    }

    /// The event-log key of the broadcast's reach events, `r:<app_id>:<broadcast_id>`: one
    /// partition, so one projector, folds a broadcast's sketches at a time.
    pub fn log_key(app_id: AppId, broadcast_id: BroadcastId) -> String {
        format!("r:{app_id}:{broadcast_id}")
    }
}

/// One sketch of a [`ReachEvent`]: its cell within the event's broadcast, and its bytes
/// ([`crate::ReachSketch::to_bytes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachCell {
    pub kind: ReachKind,
    pub platform: ReachPlatform,
    pub hour: i64,
    pub sketch: Vec<u8>,
}

/// What one pull worker counted for one broadcast since its last flush: merged into the
/// stored sketches by the projector (`schemas/avro/reach_event`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachEvent {
    pub app_id: AppId,
    pub broadcast_id: BroadcastId,
    pub cells: Vec<ReachCell>,
}

impl ReachEvent {
    /// The cell's full key.
    pub fn key_of(&self, cell: &ReachCell) -> ReachKey {
        ReachKey {
            app_id: self.app_id,
            broadcast_id: self.broadcast_id,
            kind: cell.kind,
            platform: cell.platform,
            hour: cell.hour,
        }
    }
}
