//! From a consumed record to a valid event, or the reason to dead-letter it.

use tidings_domain::Uid;
use tidings_domain::event::{BroadcastEvent, MailboxEvent, SendRecord, broadcast_log_key};
use tidings_domain::message::validate_attributes;
use tidings_ports::LogRecord;
use tidings_reach::{ReachEvent, ReachKey, ReachSketch};

use crate::Projector;

/// An event of one of the consumed topics, decoded and valid.
pub(crate) enum Decoded {
    Mailbox(MailboxEvent),
    Broadcast(BroadcastEvent),
    /// A reach event's sketches, each read and checked.
    Reach(Vec<(ReachKey, ReachSketch)>),
}

impl Projector {
    /// Decodes a record by its topic and checks what the schema can't; the error is the
    /// reason the record is dead-lettered.
    pub(crate) fn decode(&self, record: &LogRecord) -> Result<Decoded, String> {
        let topic = &record.position.topic;
        if *topic == self.topics.mailbox {
            let event = self.codec.decode_mailbox(&record.payload).map_err(|e| e.to_string())?;
            validate_mailbox_event(&event)?;
            check_key(record, &event.mailbox().log_key())?;
            Ok(Decoded::Mailbox(event))
        } else if *topic == self.topics.broadcast {
            let event = self.codec.decode_broadcast(&record.payload).map_err(|e| e.to_string())?;
            validate_broadcast_event(&event)?;
            check_key(record, &broadcast_log_key(event.app_id))?;
            Ok(Decoded::Broadcast(event))
        } else if *topic == self.topics.reach {
            let event = self.codec.decode_reach(&record.payload).map_err(|e| e.to_string())?;
            check_key(record, &ReachKey::log_key(event.app_id, event.broadcast_id))?;
            Ok(Decoded::Reach(reach_sketches(&event)?))
        } else {
            Err(format!("the projector does not consume topic {topic}"))
        }
    }
}

/// Create times at or beyond 2^53 µs (year 2255) are refused: `msg_id`s are stamped from
/// them, and JavaScript clients read ids as doubles, exact only below 2^53.
const MAX_CREATE_TIME_US: i64 = 1 << 53;

/// A record is keyed by its event's mailbox (or app): the key picks the partition, and one
/// partition's single consumer is what keeps a mailbox's stamping in order
/// (docs/design.md#no-missed-pull). A record under another key could be projected by two
/// projectors at once, so it is refused.
fn check_key(record: &LogRecord, expected: &str) -> Result<(), String> {
    if record.key == expected.as_bytes() {
        return Ok(());
    }
    Err(format!(
        "record key {:?} is not its event's key {expected:?} (docs/producing-events.md)",
        String::from_utf8_lossy(&record.key)
    ))
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
        MailboxEvent::Delivered(delivery) if delivery.create_time_us >= MAX_CREATE_TIME_US => {
            Err(format!("delivery has a create_time_us of {} µs, at or past 2^53", delivery.create_time_us))
        }
        MailboxEvent::MessageDeleted { msg_id, .. } if *msg_id <= 0 => Err("deletion of a non-positive msg_id".into()),
        MailboxEvent::Delivered(delivery) => match &delivery.send {
            Some(send) => validate_send(send, mailbox.uid),
            None => Ok(()),
        },
        MailboxEvent::Recalled { dedupe_key, .. } if dedupe_key.is_empty() => {
            Err("recall has an empty dedupe_key".into())
        }
        // A command's own key: recalling a recall is not a thing.
        MailboxEvent::Recalled { dedupe_key, .. } if dedupe_key.starts_with("x:") => {
            Err(format!("recall of {dedupe_key:?}, the key of a delete command"))
        }
        // The command's msg_id is stamped from it, like a delivery's from its create time.
        MailboxEvent::Recalled { at_us, .. } if *at_us <= 0 || *at_us >= MAX_CREATE_TIME_US => {
            Err(format!("recall has an at_us of {at_us} µs, outside 1 to 2^53"))
        }
        MailboxEvent::AttributesReplaced { attributes, .. } => {
            validate_attributes(attributes).map_err(|error| format!("attributes: {error}"))
        }
        _ => Ok(()),
    }
}

/// The most recipients a send's record may name: far above any batch ingest takes, a bound
/// on what one producer's event can put in the recall index.
const MAX_SEND_RECIPIENTS: usize = 100_000;

/// A send's record indexes its recipients for recall: they must be real mailboxes, the
/// delivering one among them.
fn validate_send(send: &SendRecord, uid: Uid) -> Result<(), String> {
    if send.request_id.is_empty() {
        return Err("send record has an empty request_id".into());
    }
    if send.recipients.is_empty() || send.recipients.len() > MAX_SEND_RECIPIENTS {
        return Err(format!("send record names {} recipients, not 1 to {MAX_SEND_RECIPIENTS}", send.recipients.len()));
    }
    if let Some(bad) = send.recipients.iter().find(|recipient| **recipient <= 0) {
        return Err(format!("send record names a non-positive recipient {bad}"));
    }
    if !send.recipients.contains(&uid) {
        return Err(format!("send record does not name the mailbox it is delivered to (uid {uid})"));
    }
    Ok(())
}

/// The event's cells as keys and sketches; a sketch that doesn't read, or ids that can't
/// be a broadcast's, dead-letter the whole event.
fn reach_sketches(event: &ReachEvent) -> Result<Vec<(ReachKey, ReachSketch)>, String> {
    if event.app_id <= 0 || event.broadcast_id <= 0 {
        return Err(format!("reach event for app {} broadcast {}: non-positive ids", event.app_id, event.broadcast_id));
    }
    event
        .cells
        .iter()
        .map(|cell| {
            let sketch = ReachSketch::from_bytes(&cell.sketch).map_err(|error| format!("reach sketch: {error}"))?;
            Ok((event.key_of(cell), sketch))
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use tidings_domain::event::Delivery;
    use tidings_domain::message::{Mailbox, MessageBody};

    use super::*;

    fn delivered_to(uid: Uid, send: Option<SendRecord>) -> MailboxEvent {
        MailboxEvent::Delivered(Delivery {
            mailbox: Mailbox::new(1, uid),
            dedupe_key: "r:1a-2b".into(),
            create_time_us: 1_700_000_000_000_000,
            body: MessageBody::default(),
            send,
        })
    }

    #[test]
    fn a_send_record_must_name_real_mailboxes_and_its_own() {
        let send =
            |request_id: &str, recipients: Vec<Uid>| Some(SendRecord { request_id: request_id.into(), recipients });
        assert_eq!(validate_mailbox_event(&delivered_to(4, send("1a-2b", vec![4, 5]))), Ok(()));
        assert_eq!(validate_mailbox_event(&delivered_to(4, None)), Ok(()));
        for refused in [send("", vec![4]), send("1a-2b", vec![]), send("1a-2b", vec![4, 0]), send("1a-2b", vec![5])] {
            assert!(validate_mailbox_event(&delivered_to(4, refused.clone())).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn a_recall_of_a_delete_command_is_refused() {
        let recall = |dedupe_key: &str| MailboxEvent::Recalled {
            mailbox: Mailbox::new(1, 4),
            dedupe_key: dedupe_key.into(),
            at_us: 1_700_000_000_000_000,
        };
        assert_eq!(validate_mailbox_event(&recall("k:9:order-1")), Ok(()));
        assert!(validate_mailbox_event(&recall("x:k:9:order-1")).is_err());
        assert!(validate_mailbox_event(&recall("")).is_err());
    }
}
