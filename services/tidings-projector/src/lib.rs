//! The projector: consumes the mailbox, broadcast and reach topics and projects them into the store.
//!
//! At-least-once consumption plus idempotent projection gives an exactly-once effect
//! (docs/design.md#exactly-once-effect): a polled batch is projected, its effects are made durable, notify signals
//! and dead letters are appended, and only then are the offsets committed. A crash anywhere
//! in between replays the batch, and replay changes nothing:
//! - a delivery whose dedupe key the mailbox already holds is a duplicate and is skipped;
//! - `msg_id`s are stamped from the mailbox head in log order ([`stamp_msg_id`]), so a
//!   replay of the same log stamps the same ids (docs/design.md#no-missed-pull);
//! - broadcast events are folded by [`apply_broadcast_event`], which rejects an event
//!   already applied;
//! - reach sketches are merged into the stored ones (a union: repeats change nothing).
//!
//! Records that can't be decoded or break a rule go to the dead-letter topic and
//! consumption goes on (docs/design.md#bad-input-changes-nothing).
//!
//! # Layout
//!
//! - `run`: the consume loop, polling, projecting and committing batch after batch;
//!   `retry`: its backoff.
//! - `batch`: one batch, from records to [`BatchOutcome`]; `decode` turns a record into a
//!   valid event, `private`, `public` and `reach` are the three projections, `dead_letter` and
//!   `notify` what a batch appends to the log besides.
//! - `settings`, `error`, `telemetry`: [`ProjectorSettings`], [`ProjectorError`] and the
//!   metrics ([`describe_metrics`]).
//!
//! [`stamp_msg_id`]: tidings_domain::message::stamp_msg_id
//! [`apply_broadcast_event`]: tidings_domain::public::apply_broadcast_event

mod batch;
mod dead_letter;
mod decode;
mod error;
mod notify;
mod private;
mod public;
mod reach;
mod retry;
mod run;
mod settings;
mod telemetry;

use std::sync::Arc;

use tidings_events::EventCodec;
use tidings_ports::{EventLog, Store, Topics};

pub use batch::BatchOutcome;
pub use error::ProjectorError;
pub use settings::ProjectorSettings;
pub use telemetry::describe_metrics;

/// The projector service.
#[derive(Debug, Clone)]
pub struct Projector {
    log: Arc<dyn EventLog>,
    store: Arc<dyn Store>,
    codec: EventCodec,
    topics: Topics,
    settings: ProjectorSettings,
}

impl Projector {
    pub fn new(
        log: Arc<dyn EventLog>,
        store: Arc<dyn Store>,
        codec: EventCodec,
        topics: Topics,
        settings: ProjectorSettings,
    ) -> Self {
        Self { log, store, codec, topics, settings }
    }
}
