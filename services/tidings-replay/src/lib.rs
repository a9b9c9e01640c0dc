//! Recovery by replay (docs/design.md#recovery-is-replay): the projections are derived
//! from the event log, so a wrong one is rebuilt from it.
//!
//! - [`plan`]: what a rebuild into a target would read, per partition of the replayed
//!   topics, and a refusal when the log no longer holds its beginning.
//! - [`rebuild`]: the projector's own code ([`tidings_projector::Projector::project`]) over
//!   the planned records into the target store, batch after batch, each followed by the
//!   target's own checkpoint: a killed rebuild resumes where it stopped, and re-projecting a
//!   batch changes nothing (docs/design.md#exactly-once-effect). It reads the log outside
//!   any consumer group, so the live projectors never notice, and appends nothing.
//! - [`verify`]: compares two projections mailbox by mailbox (rows and ids, heads, read
//!   marks, hidden broadcasts, dedupe keys) and app by app (broadcasts, public state);
//!   [`positions`] checks both reflect the same log positions first.
//! - [`offsets`]: where a consumer group would move (earliest, latest, a time), and the move.
//!
//! Engines are the ports' [`LogHistory`](tidings_ports::LogHistory) and
//! [`ReplayStore`](tidings_ports::ReplayStore); the `tidings replay` command opens them.

pub mod offsets;
pub mod plan;
pub mod positions;
pub mod rebuild;
pub mod verify;

use tidings_ports::Topics;
use tidings_ports::log::TopicName;

/// The topics a rebuild replays: the ones the projector consumes.
pub fn replayed_topics(topics: &Topics) -> [TopicName; 3] {
    [topics.mailbox.clone(), topics.broadcast.clone(), topics.reach.clone()]
}
