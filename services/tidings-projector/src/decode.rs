//! From a consumed record to a valid event, or the reason to dead-letter it.

use tidings_domain::event::{BroadcastEvent, MailboxEvent};
use tidings_ports::LogRecord;

use crate::Projector;

/// An event of one of the consumed topics, decoded and valid.
pub(crate) enum Decoded {
    Mailbox(MailboxEvent),
    Broadcast(BroadcastEvent),
}

impl Projector {
    /// Decodes a record by its topic and checks what the schema can't; the error is the
    /// reason the record is dead-lettered.
    pub(crate) fn decode(&self, record: &LogRecord) -> Result<Decoded, String> {
        let topic = &record.position.topic;
        if *topic == self.topics.mailbox {
            self.codec
                .decode_mailbox(&record.payload)
                .map_err(|e| e.to_string())
                .and_then(|event| validate_mailbox_event(&event).map(|()| Decoded::Mailbox(event)))
        } else if *topic == self.topics.broadcast {
            self.codec
                .decode_broadcast(&record.payload)
                .map_err(|e| e.to_string())
                .and_then(|event| validate_broadcast_event(&event).map(|()| Decoded::Broadcast(event)))
        } else {
            Err(format!("the projector does not consume topic {topic}"))
        }
    }
}

fn validate_mailbox_event(event: &MailboxEvent) -> Result<(), String> {
    let mailbox = event.mailbox();
    if mailbox.app_id <= 0 || mailbox.uid <= 0 {
        return Err(format!("mailbox ({}, {}) has a non-positive app_id or uid", mailbox.app_id, mailbox.uid));
    }
    match event {
        MailboxEvent::Delivered(delivery) if delivery.dedupe_key.is_empty() => {
            Err("delivery has an empty dedupe_key".into())
        }
        MailboxEvent::Delivered(delivery) if delivery.create_time_us <= 0 => {
            Err("delivery has a non-positive create_time_us".into())
        }
        MailboxEvent::MessageDeleted { msg_id, .. } if *msg_id <= 0 => Err("deletion of a non-positive msg_id".into()),
        _ => Ok(()),
    }
}

fn validate_broadcast_event(event: &BroadcastEvent) -> Result<(), String> {
    if event.app_id <= 0 {
        return Err(format!("broadcast event for non-positive app_id {}", event.app_id));
    }
    if event.at_us <= 0 {
        return Err("broadcast event with a non-positive at_us".into());
    }
    Ok(())
}
