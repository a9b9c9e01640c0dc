//! One polled batch: decoded, projected into the store, and followed by the notify signals
//! and dead letters it produced.

use tidings_domain::event::NotifySignal;
use tidings_events::DeadLetter;
use tidings_ports::{LogRecord, OutgoingRecord, StoreError};

use crate::dead_letter::dead_letter;
use crate::decode::Decoded;
use crate::{Projector, ProjectorError};

/// What projecting one batch produced besides the store writes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub projected: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub notify: Vec<NotifySignal>,
    pub dead_letters: Vec<DeadLetter>,
}

impl Projector {
    /// Projects a batch and appends its notify signals and dead letters: everything that
    /// must be durable before the batch's offsets are committed.
    pub async fn project_and_publish(&self, records: &[LogRecord]) -> Result<BatchOutcome, ProjectorError> {
        let outcome = self.project(records).await?;
        let mut appends: Vec<OutgoingRecord> =
            outcome.dead_letters.iter().map(|letter| self.dead_letter_record(letter)).collect();
        appends.extend(outcome.notify.iter().map(|signal| self.notify_record(signal)));
        if !appends.is_empty() {
            self.log.append(appends).await?;
        }
        Ok(outcome)
    }

    /// Projects a batch into the store (durable on return) and says what came of it.
    pub async fn project(&self, records: &[LogRecord]) -> Result<BatchOutcome, StoreError> {
        let mut outcome = BatchOutcome::default();
        let mut mailbox_events = Vec::new();
        let mut broadcast_events = Vec::new();
        let (mut reach_sketches, mut reach_events) = (Vec::new(), 0);
        for record in records {
            match self.decode(record) {
                Ok(Decoded::Mailbox(event)) => mailbox_events.push(event),
                Ok(Decoded::Broadcast(event)) => broadcast_events.push(event),
                Ok(Decoded::Reach(sketches)) => {
                    reach_sketches.extend(sketches);
                    reach_events += 1;
                }
                Err(reason) => outcome.dead_letters.push(dead_letter(record, reason)),
            }
        }
        self.project_mailbox_events(&mailbox_events, &mut outcome).await?;
        self.project_broadcast_events(&broadcast_events, &mut outcome).await?;
        self.project_reach(reach_sketches, reach_events, &mut outcome).await?;
        Ok(outcome)
    }
}
