//! Byte encodings of the keys, chosen so that fjall's byte order is the order we read in.
//! The layout is described in the crate docs.

use tidings_domain::audit::AuditSubject;
use tidings_domain::message::Mailbox;
use tidings_domain::{AppId, BroadcastId, MsgId, Uid};

/// An `i64` as 8 bytes whose byte order is the numeric order: big-endian with the sign bit
/// flipped, so negative numbers sort before positive ones.
pub(crate) fn sortable_i64(value: i64) -> [u8; 8] {
    ((value as u64) ^ (1 << 63)).to_be_bytes()
}

pub(crate) fn i64_from_sortable(bytes: [u8; 8]) -> i64 {
    (u64::from_be_bytes(bytes) ^ (1 << 63)) as i64
}

/// A string as a big-endian `u16` length and its bytes: no encoded string is a prefix of
/// another, so what follows it in a key can't be mistaken for part of it.
/// Callers keep strings under 64 KiB (names are checked on entry).
fn push_str(key: &mut Vec<u8>, value: &str) {
    let length = u16::try_from(value.len()).unwrap_or(u16::MAX);
    key.extend_from_slice(&length.to_be_bytes());
    key.extend_from_slice(&value.as_bytes()[..usize::from(length)]);
}

/// FNV-1a (32 bits) of a record key: stable across builds and processes, unlike std's
/// randomized hasher, so a key stays in its partition after a restart.
pub(crate) fn partition_of(record_key: &[u8], partitions: u32) -> u32 {
    let hash =
        record_key.iter().fold(0x811c_9dc5_u32, |hash, byte| (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193));
    hash % partitions.max(1)
}

// --- event log -------------------------------------------------------------------------

/// The records of one partition: `topic, partition`.
pub(crate) fn partition_prefix(topic: &str, partition: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(2 + topic.len() + 4 + 8);
    push_str(&mut key, topic);
    key.extend_from_slice(&partition.to_be_bytes());
    key
}

/// The topic and partition of a [`partition_prefix`].
pub(crate) fn split_partition_prefix(key: &[u8]) -> Option<(String, u32)> {
    let (length, rest) = key.split_first_chunk::<2>()?;
    let (topic, partition) = rest.split_at_checked(usize::from(u16::from_be_bytes(*length)))?;
    let partition: [u8; 4] = partition.try_into().ok()?;
    Some((String::from_utf8(topic.to_vec()).ok()?, u32::from_be_bytes(partition)))
}

/// One record: `topic, partition, offset` (offset big-endian, so key order = offset order).
pub(crate) fn record_key(topic: &str, partition: u32, offset: u64) -> Vec<u8> {
    let mut key = partition_prefix(topic, partition);
    key.extend_from_slice(&offset.to_be_bytes());
    key
}

/// The offset at the end of a record key.
pub(crate) fn offset_of_record_key(key: &[u8]) -> Option<u64> {
    let tail = key.len().checked_sub(8).map(|start| &key[start..])?;
    Some(u64::from_be_bytes(tail.try_into().ok()?))
}

/// A record's value: the record key's length (`u32` big-endian), the key, the payload.
pub(crate) fn record_value(record_key: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(4 + record_key.len() + payload.len());
    value.extend_from_slice(&(record_key.len() as u32).to_be_bytes());
    value.extend_from_slice(record_key);
    value.extend_from_slice(payload);
    value
}

/// The record key and payload of a record's value.
pub(crate) fn split_record_value(value: &[u8]) -> Option<(&[u8], &[u8])> {
    let (length, rest) = value.split_first_chunk::<4>()?;
    let length = usize::try_from(u32::from_be_bytes(*length)).ok()?;
    (length <= rest.len()).then(|| rest.split_at(length))
}

/// A group's committed position in one partition: `group, topic, partition`.
pub(crate) fn committed_key(group: &str, topic: &str, partition: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(2 + group.len() + 2 + topic.len() + 4);
    push_str(&mut key, group);
    push_str(&mut key, topic);
    key.extend_from_slice(&partition.to_be_bytes());
    key
}

// --- store -----------------------------------------------------------------------------

/// A mailbox: `app_id, uid`; the key of its state, and the prefix of its messages and
/// deliveries.
pub(crate) fn mailbox_key(mailbox: Mailbox) -> Vec<u8> {
    let mut key = Vec::with_capacity(16 + 8);
    key.extend_from_slice(&sortable_i64(mailbox.app_id));
    key.extend_from_slice(&sortable_i64(mailbox.uid));
    key
}

/// A message: `app_id, uid, msg_id`.
pub(crate) fn message_key(mailbox: Mailbox, msg_id: MsgId) -> Vec<u8> {
    let mut key = mailbox_key(mailbox);
    key.extend_from_slice(&sortable_i64(msg_id));
    key
}

/// A delivery: `app_id, uid, dedupe_key` (the dedupe key's bytes run to the end).
pub(crate) fn delivery_key(mailbox: Mailbox, dedupe_key: &str) -> Vec<u8> {
    let mut key = mailbox_key(mailbox);
    key.extend_from_slice(dedupe_key.as_bytes());
    key
}

/// A recipient of a send in the recall index: `app_id, str send key, uid`; without the uid,
/// the prefix of every recipient under that key.
pub(crate) fn send_key(app_id: AppId, send_key: &str, uid: Option<Uid>) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + 2 + send_key.len() + 8);
    key.extend_from_slice(&sortable_i64(app_id));
    push_str(&mut key, send_key);
    if let Some(uid) = uid {
        key.extend_from_slice(&sortable_i64(uid));
    }
    key
}

/// An app: `app_id`; the key of its public state and the prefix of its broadcasts.
pub(crate) fn app_key(app_id: AppId) -> [u8; 8] {
    sortable_i64(app_id)
}

/// A broadcast: `app_id, broadcast_id`.
pub(crate) fn broadcast_key(app_id: AppId, broadcast_id: BroadcastId) -> Vec<u8> {
    let mut key = app_key(app_id).to_vec();
    key.extend_from_slice(&sortable_i64(broadcast_id));
    key
}

/// An operator account: `app_id, str name`.
pub(crate) fn operator_key(app_id: AppId, name: &str) -> Vec<u8> {
    let mut key = app_key(app_id).to_vec();
    push_str(&mut key, name);
    key
}

/// An audit entry: `app_id, i64↑ at_us, subject (0 and an i64↑ broadcast_id, or 1 for the
/// whitelist), i32↑ revision`: an app's entries in time order, then by subject and revision.
pub(crate) fn audit_key(app_id: AppId, at_us: i64, subject: AuditSubject, revision: i32) -> Vec<u8> {
    let mut key = app_key(app_id).to_vec();
    key.extend_from_slice(&sortable_i64(at_us));
    match subject {
        AuditSubject::Broadcast(id) => {
            key.push(0);
            key.extend_from_slice(&sortable_i64(id));
        }
        AuditSubject::Whitelist => key.push(1),
    }
    key.extend_from_slice(&((revision as u32) ^ (1 << 31)).to_be_bytes());
    key
}

/// The app of an app or broadcast key.
pub(crate) fn app_of_key(key: &[u8]) -> Option<AppId> {
    Some(i64_from_sortable(*key.first_chunk::<8>()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_i64_orders_bytes_like_numbers() {
        let numbers = [i64::MIN, -70_000, -1, 0, 1, 255, 256, 65_536, i64::MAX];
        for pair in numbers.windows(2) {
            assert!(sortable_i64(pair[0]) < sortable_i64(pair[1]), "{pair:?}");
        }
        for number in numbers {
            assert_eq!(i64_from_sortable(sortable_i64(number)), number);
        }
    }

    #[test]
    fn record_keys_sort_by_offset_within_a_partition() {
        assert!(record_key("t", 1, 255) < record_key("t", 1, 256));
        assert!(record_key("t", 1, u64::MAX) < record_key("t", 2, 0));
        assert_eq!(offset_of_record_key(&record_key("t", 3, 77)), Some(77));
        // A topic is never a prefix of another topic's keys.
        assert!(!record_key("ab", 0, 0).starts_with(&partition_prefix("a", 0)));
        assert_eq!(split_partition_prefix(&partition_prefix("t.mailbox", 7)), Some(("t.mailbox".into(), 7)));
    }

    #[test]
    fn record_values_round_trip() {
        let value = record_value(b"key", b"payload");
        assert_eq!(split_record_value(&value), Some((&b"key"[..], &b"payload"[..])));
        assert_eq!(split_record_value(&value[..5]), None);
    }

    #[test]
    fn partition_hash_is_fnv1a_and_stable() {
        // Published FNV-1a test vectors.
        assert_eq!(partition_of(b"", u32::MAX), 0x811c_9dc5);
        assert_eq!(partition_of(b"a", u32::MAX), 0xe40c_292c);
        assert_eq!(partition_of(b"foobar", u32::MAX), 0xbf9c_f968);
        assert!(partition_of(b"m:1:42", 8) < 8);
    }

    #[test]
    fn message_keys_sort_numerically_within_a_mailbox() {
        let mailbox = Mailbox::new(1, 2);
        assert!(message_key(mailbox, -5) < message_key(mailbox, 3));
        assert!(message_key(mailbox, 255) < message_key(mailbox, 256));
        assert!(message_key(mailbox, i64::MAX) < mailbox_key(Mailbox::new(1, 3)));
        assert_eq!(app_of_key(&broadcast_key(-9, 4)), Some(-9));
    }
}
