//! The Jepsen-style checker: from what clients did and saw during a run, and what the
//! mailboxes hold once the faults healed, counts every breach of invariants 1 (nothing
//! acknowledged is lost), 2 (exactly-once effect) and 3 (no pull ever misses a message).
//! Pure: the unit tests below feed it synthetic histories.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// One business send (a batch to `recipients`), retried with its msgkey; times are since
/// the run started.
#[derive(Debug, Clone)]
pub struct SendRecord {
    pub msgkey: String,
    pub recipients: Vec<i64>,
    /// When ingest first answered 2xx; none when it never did before the run ended.
    pub acked_at: Option<Duration>,
    /// Attempts answered by a timeout, a 5xx or a connection error (each retried).
    pub indeterminate_attempts: u32,
}

/// A message row as a pull returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub msg_id: i64,
    pub msgkey: String,
}

/// A row a syncing client received, and when.
#[derive(Debug, Clone)]
pub struct Seen {
    pub row: Row,
    pub at: Duration,
}

/// One user's mailbox: what its client received by following the sync cursor through the
/// faults, and what a full sync returns at the end.
#[derive(Debug, Clone)]
pub struct MailboxHistory {
    pub uid: i64,
    pub followed: Vec<Seen>,
    pub last: Vec<Row>,
}

/// What a run came to, in messages (one per recipient of a send).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    pub sent: u64,
    pub acked: u64,
    /// Messages of sends that got at least one indeterminate answer (and were retried).
    pub indeterminate: u64,
    /// Acknowledged messages missing at the end, and rows a client received that are gone.
    pub lost: u64,
    /// Rows beyond one per sent message: a msgkey twice in a mailbox, a row in a mailbox
    /// nobody sent to, a msg_id a following client received twice.
    pub duplicated: u64,
    /// Rows at the end that the following client never received.
    pub skipped: u64,
    /// Neighbouring rows at the end whose msg_ids don't strictly increase.
    pub misordered: u64,
    /// The longest time from an acknowledgement to the message in its client's hands.
    pub longest_lag: Option<Duration>,
    /// From `healed_at` until every message acknowledged before it was in its client's
    /// hands (zero when all were already); none when one never arrived.
    pub recovered_after: Option<Duration>,
}

impl Verdict {
    pub fn breaches(&self) -> u64 {
        self.lost + self.duplicated + self.skipped + self.misordered
    }
}

/// Checks a run whose faults healed at `healed_at`.
pub fn check(sends: &[SendRecord], mailboxes: &[MailboxHistory], healed_at: Duration) -> Verdict {
    let mut verdict = Verdict::default();
    // uid -> msgkey -> when acknowledged, for every message sent.
    let mut expected: HashMap<i64, HashMap<&str, Option<Duration>>> = HashMap::new();
    for send in sends {
        let messages = send.recipients.len() as u64;
        verdict.sent += messages;
        if send.acked_at.is_some() {
            verdict.acked += messages;
        }
        if send.indeterminate_attempts > 0 {
            verdict.indeterminate += messages;
        }
        for uid in &send.recipients {
            expected.entry(*uid).or_default().insert(send.msgkey.as_str(), send.acked_at);
        }
    }
    let mut recovered_after = Some(Duration::ZERO);
    for mailbox in mailboxes {
        let sent_here = expected.remove(&mailbox.uid).unwrap_or_default();
        let mut copies: HashMap<&str, u64> = HashMap::new();
        for row in &mailbox.last {
            *copies.entry(row.msgkey.as_str()).or_default() += 1;
        }
        for (msgkey, count) in &copies {
            verdict.duplicated += if sent_here.contains_key(msgkey) { count - 1 } else { *count };
        }
        verdict.misordered += mailbox.last.windows(2).filter(|pair| pair[0].msg_id >= pair[1].msg_id).count() as u64;

        let mut received: HashMap<i64, Duration> = HashMap::new();
        let mut first_seen: HashMap<&str, Duration> = HashMap::new();
        for seen in &mailbox.followed {
            if received.insert(seen.row.msg_id, seen.at).is_some() {
                verdict.duplicated += 1;
            }
            first_seen.entry(seen.row.msgkey.as_str()).or_insert(seen.at);
        }
        let at_end: HashSet<i64> = mailbox.last.iter().map(|row| row.msg_id).collect();
        verdict.skipped += at_end.iter().filter(|msg_id| !received.contains_key(msg_id)).count() as u64;
        verdict.lost += received.keys().filter(|msg_id| !at_end.contains(msg_id)).count() as u64;

        for (msgkey, acked_at) in &sent_here {
            let Some(acked_at) = acked_at else { continue };
            if !copies.contains_key(msgkey) {
                verdict.lost += 1;
            }
            match first_seen.get(msgkey) {
                Some(seen_at) => {
                    verdict.longest_lag = verdict.longest_lag.max(Some(seen_at.saturating_sub(*acked_at)));
                    if *acked_at <= healed_at {
                        recovered_after = recovered_after.map(|after| after.max(seen_at.saturating_sub(healed_at)));
                    }
                }
                None if *acked_at <= healed_at => recovered_after = None,
                None => {}
            }
        }
    }
    // What is left was sent to mailboxes nobody read: the acknowledged part is lost to
    // the checker too.
    let unread = expected.values().flat_map(HashMap::values).filter(|acked_at| acked_at.is_some()).count();
    verdict.lost += unread as u64;
    if unread > 0 {
        recovered_after = None;
    }
    verdict.recovered_after = recovered_after;
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn send(msgkey: &str, recipients: &[i64], acked_at: Option<u64>) -> SendRecord {
        SendRecord {
            msgkey: msgkey.into(),
            recipients: recipients.to_vec(),
            acked_at: acked_at.map(secs),
            indeterminate_attempts: u32::from(acked_at.is_none()),
        }
    }

    fn row(msg_id: i64, msgkey: &str) -> Row {
        Row { msg_id, msgkey: msgkey.into() }
    }

    /// A mailbox whose client received every final row at `at` seconds.
    fn followed_all(uid: i64, rows: &[Row], at: u64) -> MailboxHistory {
        let followed = rows.iter().map(|row| Seen { row: row.clone(), at: secs(at) }).collect();
        MailboxHistory { uid, followed, last: rows.to_vec() }
    }

    fn sends() -> Vec<SendRecord> {
        vec![send("a", &[1, 2], Some(1)), send("b", &[1], Some(2)), send("c", &[2], None)]
    }

    #[test]
    fn a_clean_history_passes_with_its_lag_and_recovery() {
        let mailboxes =
            [followed_all(1, &[row(10, "a"), row(11, "b")], 5), followed_all(2, &[row(10, "a"), row(12, "c")], 5)];
        let verdict = check(&sends(), &mailboxes, secs(3));
        assert_eq!(verdict.breaches(), 0, "{verdict:?}");
        assert_eq!((verdict.sent, verdict.acked, verdict.indeterminate), (4, 3, 1));
        assert_eq!(verdict.longest_lag, Some(secs(4)));
        assert_eq!(verdict.recovered_after, Some(secs(2)));
    }

    #[test]
    fn an_indeterminate_send_may_be_missing() {
        let mailboxes = [followed_all(1, &[row(10, "a"), row(11, "b")], 3), followed_all(2, &[row(10, "a")], 3)];
        assert_eq!(check(&sends(), &mailboxes, secs(3)).breaches(), 0);
    }

    #[test]
    fn a_lost_acknowledged_message_is_found() {
        let mailboxes = [followed_all(1, &[row(10, "a")], 3), followed_all(2, &[row(10, "a")], 3)];
        let verdict = check(&sends(), &mailboxes, secs(3));
        assert_eq!((verdict.lost, verdict.breaches()), (1, 1));
        assert_eq!(verdict.recovered_after, None, "b never arrived");
    }

    #[test]
    fn a_row_received_then_gone_is_lost() {
        let mut mailbox = followed_all(2, &[row(10, "a")], 3);
        mailbox.followed.push(Seen { row: row(12, "c"), at: secs(3) });
        let verdict = check(&sends(), &[followed_all(1, &[row(10, "a"), row(11, "b")], 3), mailbox], secs(3));
        assert_eq!((verdict.lost, verdict.breaches()), (1, 1));
    }

    #[test]
    fn a_duplicate_is_found_in_the_mailbox_and_in_what_a_client_received() {
        let twice = [row(10, "a"), row(11, "b"), row(13, "b")];
        let verdict = check(&sends(), &[followed_all(1, &twice, 3), followed_all(2, &[row(10, "a")], 3)], secs(3));
        assert_eq!((verdict.duplicated, verdict.breaches()), (1, 1));

        let mut received_twice = followed_all(1, &[row(10, "a"), row(11, "b")], 3);
        received_twice.followed.push(Seen { row: row(11, "b"), at: secs(4) });
        let verdict = check(&sends(), &[received_twice, followed_all(2, &[row(10, "a")], 3)], secs(3));
        assert_eq!((verdict.duplicated, verdict.breaches()), (1, 1));
    }

    #[test]
    fn a_message_in_the_wrong_mailbox_is_a_duplicate() {
        let stray = [row(10, "a"), row(11, "b"), row(12, "c")];
        let verdict = check(&sends(), &[followed_all(1, &stray, 3), followed_all(2, &[row(10, "a")], 3)], secs(3));
        assert_eq!((verdict.duplicated, verdict.breaches()), (1, 1));
    }

    #[test]
    fn a_skipped_message_is_found() {
        let mut mailbox = followed_all(1, &[row(10, "a"), row(11, "b")], 3);
        mailbox.followed.retain(|seen| seen.row.msgkey != "a");
        let verdict = check(&sends(), &[mailbox, followed_all(2, &[row(10, "a")], 3)], secs(3));
        assert_eq!((verdict.skipped, verdict.breaches()), (1, 1));
    }

    #[test]
    fn ids_that_do_not_increase_are_found() {
        let backwards = [row(11, "a"), row(11, "b")];
        let verdict = check(&sends(), &[followed_all(1, &backwards, 3), followed_all(2, &[row(10, "a")], 3)], secs(3));
        assert_eq!(verdict.misordered, 1);
    }

    #[test]
    fn a_mailbox_nobody_read_loses_its_acknowledged_messages() {
        let verdict = check(&sends(), &[followed_all(1, &[row(10, "a"), row(11, "b")], 3)], secs(3));
        assert_eq!(verdict.lost, 1);
    }
}
