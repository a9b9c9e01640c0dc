//! Records the projector can't apply go to the dead-letter topic, byte for byte, and
//! consumption goes on (docs/design.md#bad-input-changes-nothing).

use tidings_domain::time::now_us;
use tidings_events::DeadLetter;
use tidings_ports::{LogRecord, OutgoingRecord};
use tracing::warn;

use crate::Projector;
use crate::telemetry::EVENTS_TOTAL;

/// Logs and counts a record that won't be projected, and keeps it with where it came from
/// and why.
pub(crate) fn dead_letter(record: &LogRecord, reason: String) -> DeadLetter {
    let position = &record.position;
    warn!(topic = %position.topic, partition = position.partition, offset = position.offset, %reason, "dead-lettering record");
    metrics::counter!(EVENTS_TOTAL, "topic" => position.topic.clone(), "outcome" => "dead_letter").increment(1);
    DeadLetter {
        source_topic: position.topic.clone(),
        partition: position.partition,
        offset: position.offset,
        key: record.key.clone(),
        payload: record.payload.clone(),
        reason,
        at_us: now_us(),
    }
}

impl Projector {
    /// The dead letter as a record of the dead-letter topic, under the original key.
    pub(crate) fn dead_letter_record(&self, letter: &DeadLetter) -> OutgoingRecord {
        OutgoingRecord {
            topic: self.topics.dead_letter.clone(),
            key: letter.key.clone(),
            payload: self.codec.encode_dead_letter(letter),
        }
    }
}
