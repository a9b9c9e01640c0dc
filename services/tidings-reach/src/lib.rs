//! Reach statistics per broadcast (docs/design.md#reach): the distinct users a broadcast
//! was delivered to (a sync returned it) and read by (a read mark covered it), in total, by
//! platform and per hour. No I/O.
//!
//! - [`sketch`]: [`ReachSketch`], a HyperLogLog++ sketch with a pinned hash and a stable
//!   encoding; merging is idempotent and order-free, so several pull workers, a redelivered
//!   event or a replay never inflate a count.
//! - [`key`]: [`ReachKey`] (broadcast, kind, platform, hour) and [`ReachEvent`], what a pull
//!   worker flushes to the log.
//! - [`counter`]: [`ReachCounter`], the sharded in-memory counter of the pull path.
//! - [`stats`]: [`ReachStats`], the unions a read of a broadcast shows.

pub mod counter;
pub mod key;
pub mod sketch;
pub mod stats;
#[cfg(test)]
mod tests;

pub use counter::ReachCounter;
pub use key::{HOUR_S, ReachCell, ReachEvent, ReachKey, ReachKind, ReachPlatform, UNKNOWN_PLATFORM};
pub use sketch::{ReachSketch, SketchError, uid_hash};
pub use stats::{HourStats, KindStats, ReachStats};
