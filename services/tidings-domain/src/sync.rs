//! The merged pull: a private page and public entries under one opaque cursor.

use crate::message::StoredMessage;
use crate::{AppId, BroadcastId, FieldError, MsgId, PublicSeq, Uid};

/// Where a pulled message lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    Private,
    Public,
    /// Not a message: an instruction to the client about messages it holds.
    Command,
}

/// What a command entry tells the client to do (docs/design.md#recall).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Drop these messages: they were recalled.
    Delete { msg_ids: Vec<MsgId> },
}

/// One message of a pull, private or public, with every field of the seed's section 4.3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxEntry {
    pub msg_id: MsgId,
    pub source: Source,
    pub from_uid: Uid,
    pub to_uid: Uid,
    pub contacter: Uid,
    /// Unix microseconds.
    pub create_time: i64,
    /// Unix seconds after which it is gone; 0 means never.
    pub expire: i64,
    pub is_read: bool,
    pub category: i32,
    pub kind: i32,
    pub priority: i32,
    pub business_type: i32,
    pub app_id: AppId,
    pub msgkey: String,
    pub content: String,
    /// Set on public entries, and on commands about a broadcast.
    pub broadcast_id: Option<BroadcastId>,
    /// Set on command entries only.
    pub command: Option<Command>,
}

impl MailboxEntry {
    /// A row of the private timeline: a message, or the delete command a recall left in
    /// its place (docs/design.md#recall).
    pub fn from_private(message: &StoredMessage) -> Self {
        let body = &message.body;
        let (source, command) = match message.recalls {
            Some(recalled) => (Source::Command, Some(Command::Delete { msg_ids: vec![recalled] })),
            None => (Source::Private, None),
        };
        Self {
            msg_id: message.msg_id,
            source,
            from_uid: body.from_uid,
            to_uid: body.to_uid,
            contacter: body.contacter,
            create_time: message.create_time_us,
            expire: body.expire_at_s,
            is_read: false,
            category: body.category,
            kind: body.kind,
            priority: body.priority,
            business_type: body.business_type,
            app_id: message.mailbox.app_id,
            msgkey: body.msgkey.clone(),
            content: body.content.clone(),
            broadcast_id: None,
            command,
        }
    }

    /// Whether a sync from `cursor` hands this private row out: a message always; a
    /// private delete command only to a client whose cursor shows it synced the recalled
    /// message (the private timeline is consumed as a prefix, so `private_after ≥ m` means
    /// a page delivered `m`); one who never had it gets nothing.
    fn is_due_from(&self, cursor: SyncCursor) -> bool {
        match &self.command {
            Some(Command::Delete { msg_ids }) => msg_ids.iter().any(|recalled| *recalled <= cursor.private_after),
            None => true,
        }
    }

    pub fn is_expired(&self, now_s: i64) -> bool {
        self.expire != 0 && now_s >= self.expire
    }

    fn order_key(&self) -> (MsgId, Source, Option<BroadcastId>) {
        (self.msg_id, self.source, self.broadcast_id)
    }
}

/// How far a client has synced: private and public positions apart, so a broadcast that
/// becomes visible late (with a `msg_id` below what the client has) is still delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SyncCursor {
    /// The last private `msg_id` delivered.
    pub private_after: MsgId,
    /// The last public position delivered.
    pub public_after: PublicSeq,
}

impl SyncCursor {
    const PREFIX: &'static str = "c1";
    /// Exactly the strings [`SyncCursor::decode`] accepts, as a regular expression, for API
    /// documents.
    pub const PATTERN: &'static str =
        r"^(c1\.(0|[1-9a-f][0-9a-f]{0,14}|[1-7][0-9a-f]{15})\.(0|[1-9a-f][0-9a-f]{0,14}|[1-7][0-9a-f]{15}))?$";

    /// The opaque form handed to clients.
    pub fn encode(&self) -> String {
        format!("{}.{:x}.{:x}", Self::PREFIX, self.private_after, self.public_after)
    }

    /// Parses what [`SyncCursor::encode`] made; an empty string is the beginning.
    pub fn decode(text: &str) -> Result<Self, FieldError> {
        if text.is_empty() {
            return Ok(Self::default());
        }
        let invalid = || FieldError::new("cursor", "is not a cursor this server handed out");
        let mut parts = text.split('.');
        if parts.next() != Some(Self::PREFIX) {
            return Err(invalid());
        }
        // Only what `encode` writes: lowercase hex, no sign, no leading zero, so that
        // `PATTERN` says exactly what decodes. Up to 16 digits, any non-negative i64 (the
        // parse refuses more): a msg_id is a create time a business server may set in its own
        // events, so the fuzzer's 2^60 (15 digits were the limit) can be handed out.
        let canonical = |p: &str| p.len() <= 16 && (p == "0" || !p.starts_with('0'));
        let mut number = || {
            parts
                .next()
                .filter(|p| canonical(p) && p.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
                .and_then(|p| i64::from_str_radix(p, 16).ok())
                .ok_or_else(invalid)
        };
        let cursor = Self { private_after: number()?, public_after: number()? };
        match parts.next() {
            None => Ok(cursor),
            Some(_) => Err(invalid()),
        }
    }
}

/// A sync answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPage {
    /// In `msg_id` order.
    pub messages: Vec<MailboxEntry>,
    pub cursor: SyncCursor,
    pub has_more: bool,
}

/// Merges what is new since `cursor`.
///
/// `private` holds the mailbox's messages after `cursor.private_after` in `msg_id` order,
/// and `private_exhausted` says whether the store had none beyond them; expired ones are
/// stepped over (the cursor passes them) without counting against `limit`. `public` holds
/// [`crate::public::PublicMailbox::sync_candidates`] (in position order, all of them);
/// `public_seq` is the snapshot's position. Each list is consumed as a prefix, so the
/// cursor's two positions can never step over an entry that was not delivered.
pub fn merge_sync(
    private: Vec<MailboxEntry>,
    private_exhausted: bool,
    public: Vec<(PublicSeq, MailboxEntry)>,
    public_seq: PublicSeq,
    cursor: SyncCursor,
    limit: usize,
    now_s: i64,
) -> SyncPage {
    let mut private = private.into_iter().peekable();
    let mut public = public.into_iter().peekable();
    let mut messages = Vec::with_capacity(limit);
    let mut next = cursor;
    while messages.len() < limit {
        let take_private = match (private.peek(), public.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(p), Some((_, q))) => p.order_key() <= q.order_key(),
        };
        if take_private {
            let entry = private.next().expect("peeked");
            next.private_after = entry.msg_id;
            if !entry.is_expired(now_s) && entry.is_due_from(cursor) {
                messages.push(entry);
            }
        } else {
            let (seq, entry) = public.next().expect("peeked");
            next.public_after = seq;
            messages.push(entry);
        }
    }
    let public_left = public.peek().is_some();
    if !public_left {
        // Whatever lies between the last delivered position and the snapshot's is not for
        // this viewer: step over it so it is not examined again.
        next.public_after = next.public_after.max(public_seq);
    }
    let has_more = public_left || private.peek().is_some() || !private_exhausted;
    messages.sort_by_key(MailboxEntry::order_key);
    SyncPage { messages, cursor: next, has_more }
}

/// Which way a history page goes from its anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryDirection {
    /// Messages with `msg_id` below the anchor, newest first.
    Before(MsgId),
    /// Messages with `msg_id` above the anchor, oldest first.
    After(MsgId),
}

impl HistoryDirection {
    pub fn admits(&self, msg_id: MsgId) -> bool {
        match self {
            HistoryDirection::Before(anchor) => msg_id < *anchor,
            HistoryDirection::After(anchor) => msg_id > *anchor,
        }
    }
}

/// A history answer: `messages` in `msg_id` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    pub messages: Vec<MailboxEntry>,
    pub has_more: bool,
}

/// Merges a history page. `private` holds the store's page in the direction's order (up to
/// `limit + 1` rows: more than `limit` means more exist), of which expired rows and delete
/// commands are left out (history shows messages); `public` every visible public entry in
/// `msg_id` order.
pub fn merge_history(
    private: Vec<MailboxEntry>,
    public: Vec<MailboxEntry>,
    direction: HistoryDirection,
    limit: usize,
    now_s: i64,
) -> HistoryPage {
    let more_private = private.len() > limit;
    // Past the last row read, private rows may be missing from this page: a public entry
    // there waits for a later page, or the private rows before it would be skipped (the
    // next anchor would pass them).
    let reach = private.last().map(|e| e.msg_id).filter(|_| more_private);
    let within = |msg_id: MsgId| match (direction, reach) {
        (_, None) => true,
        (HistoryDirection::Before(_), Some(last)) => msg_id >= last,
        (HistoryDirection::After(_), Some(last)) => msg_id <= last,
    };
    let mut merged: Vec<MailboxEntry> = private
        .into_iter()
        .filter(|e| e.command.is_none() && !e.is_expired(now_s))
        .chain(public.into_iter().filter(|e| direction.admits(e.msg_id) && within(e.msg_id)))
        .collect();
    merged.sort_by_key(MailboxEntry::order_key);
    if matches!(direction, HistoryDirection::Before(_)) {
        merged.reverse();
    }
    let has_more = merged.len() > limit || more_private;
    merged.truncate(limit);
    merged.sort_by_key(MailboxEntry::order_key);
    HistoryPage { messages: merged, has_more }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Mailbox, MessageBody};
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn private(msg_id: MsgId) -> MailboxEntry {
        MailboxEntry::from_private(&StoredMessage {
            mailbox: Mailbox::new(1, 1),
            msg_id,
            create_time_us: msg_id,
            dedupe_key: String::new(),
            body: MessageBody::default(),
            recalls: None,
        })
    }

    fn public(msg_id: MsgId, broadcast_id: BroadcastId) -> MailboxEntry {
        MailboxEntry { source: Source::Public, broadcast_id: Some(broadcast_id), ..private(msg_id) }
    }

    #[test]
    fn cursor_round_trips_and_rejects_junk() {
        let cursor = SyncCursor { private_after: 1_679_757_323_320_865, public_after: 42 };
        assert_eq!(SyncCursor::decode(&cursor.encode()).unwrap(), cursor);
        assert_eq!(SyncCursor::decode("").unwrap(), SyncCursor::default());
        let (too_large, too_long) = ("c1.8000000000000000.0", "c1.10000000000000000.0");
        let junk = ["x", "c1.zz.1", "c1.1", "c1.1.2.3", "c2.1.2", "c1.05.1", "c1.+5.1", "c1.-0.1", "c1.A.1"];
        for junk in junk.into_iter().chain([too_large, too_long]) {
            assert_eq!(SyncCursor::decode(junk).unwrap_err().field, "cursor", "{junk}");
        }
    }

    /// Found by the fuzzer (tidings-fuzz `handed_out_cursors_decode_to_themselves`): a
    /// position of 2^60 or more was handed out, then refused.
    #[test]
    fn every_non_negative_position_round_trips() {
        for position in [1 << 60, i64::MAX] {
            let cursor = SyncCursor { private_after: position, public_after: position };
            assert_eq!(SyncCursor::decode(&cursor.encode()), Ok(cursor));
        }
    }

    #[test]
    fn late_visible_broadcast_with_small_msg_id_is_delivered() {
        let cursor = SyncCursor { private_after: 500, public_after: 3 };
        let page = merge_sync(vec![], true, vec![(4, public(100, 9))], 4, cursor, 10, 0);
        assert_eq!(page.messages.len(), 1);
        assert_eq!(page.cursor, SyncCursor { private_after: 500, public_after: 4 });
        assert!(!page.has_more);
    }

    #[test]
    fn expired_private_messages_are_passed_over_not_counted() {
        let expired = |msg_id| MailboxEntry { expire: 50, ..private(msg_id) };
        let rows = vec![expired(1), expired(2), private(3)];
        let page = merge_sync(rows, true, vec![], 0, SyncCursor::default(), 1, 60);
        assert_eq!(page.messages.iter().map(|m| m.msg_id).collect::<Vec<_>>(), vec![3]);
        assert_eq!(page.cursor.private_after, 3);
        let rows = vec![expired(1), expired(2)];
        let page = merge_sync(rows, false, vec![], 0, SyncCursor::default(), 1, 60);
        assert!(page.messages.is_empty() && page.has_more);
        assert_eq!(page.cursor.private_after, 2, "the cursor moves past expired rows");
    }

    /// A private delete command reaches the clients that synced the recalled message, once,
    /// and never a client that didn't; history never shows it.
    #[test]
    fn a_private_delete_command_reaches_only_who_synced_the_message() {
        let command = |msg_id, recalls| {
            MailboxEntry::from_private(&StoredMessage {
                mailbox: Mailbox::new(1, 1),
                msg_id,
                create_time_us: msg_id,
                dedupe_key: format!("x:r:{recalls}"),
                body: MessageBody::default(),
                recalls: Some(recalls),
            })
        };
        // Message 2 was recalled: its row is gone, the command sits at 5.
        let rows_after = |after: MsgId| {
            [private(1), private(3), command(5, 2), private(6)].into_iter().filter(|e| e.msg_id > after).collect()
        };
        let ids = |page: &SyncPage| page.messages.iter().map(|m| (m.msg_id, m.source)).collect::<Vec<_>>();
        let synced_it = SyncCursor { private_after: 2, public_after: 0 };
        let page = merge_sync(rows_after(2), true, vec![], 0, synced_it, 10, 0);
        assert_eq!(ids(&page), [(3, Source::Private), (5, Source::Command), (6, Source::Private)]);
        assert_eq!(page.messages[1].command, Some(Command::Delete { msg_ids: vec![2] }));
        let again = merge_sync(rows_after(page.cursor.private_after), true, vec![], 0, page.cursor, 10, 0);
        assert!(again.messages.is_empty(), "once");

        let never_had_it = SyncCursor { private_after: 1, public_after: 0 };
        let page = merge_sync(rows_after(1), true, vec![], 0, never_had_it, 2, 0);
        assert_eq!(ids(&page), [(3, Source::Private), (6, Source::Private)], "stepped over, not counted");
        // The one inexact case (docs/design.md#recall): a page cut between the recalled
        // message and its command leaves a cursor that looks like it synced the message.
        let cut = merge_sync(rows_after(1), true, vec![], 0, never_had_it, 1, 0);
        let after_cut = merge_sync(rows_after(3), true, vec![], 0, cut.cursor, 1, 0);
        assert_eq!(ids(&after_cut), [(5, Source::Command)]);
        let first_sync = merge_sync(rows_after(0), true, vec![], 0, SyncCursor::default(), 10, 0);
        assert_eq!(ids(&first_sync), [(1, Source::Private), (3, Source::Private), (6, Source::Private)]);

        let history = merge_history(rows_after(0), vec![], HistoryDirection::After(0), 10, 0);
        assert_eq!(history.messages.iter().map(|m| m.msg_id).collect::<Vec<_>>(), [1, 3, 6]);
    }

    /// Rows left out of a page (a delete command, an expired message) don't let public
    /// entries from past the last row read take their places: the private rows beyond it
    /// would be skipped by the next anchor.
    #[test]
    fn public_entries_past_the_rows_read_wait_for_the_next_page() {
        let command = MailboxEntry { command: Some(Command::Delete { msg_ids: vec![1] }), ..private(9) };
        // Read backward from 10, limit 2: rows 9 (a command), 8, 7; row 5 is unread.
        let rows = vec![command, private(8), private(7)];
        let page = merge_history(rows, vec![public(6, 1), public(3, 2)], HistoryDirection::Before(10), 2, 0);
        assert_eq!(page.messages.iter().map(|m| m.msg_id).collect::<Vec<_>>(), [7, 8]);
        assert!(page.has_more, "row 5 and the broadcasts at 6 and 3 come next");
        let next = merge_history(vec![private(5)], vec![public(6, 1), public(3, 2)], HistoryDirection::Before(7), 2, 0);
        assert_eq!(next.messages.iter().map(|m| m.msg_id).collect::<Vec<_>>(), [5, 6]);
    }

    #[test]
    fn history_pages_backward_and_forward() {
        let private_desc = vec![private(5), private(3), private(1)];
        let page = merge_history(private_desc, vec![public(4, 1), public(9, 2)], HistoryDirection::Before(6), 3, 0);
        let ids: Vec<_> = page.messages.iter().map(|m| m.msg_id).collect();
        assert_eq!(ids, vec![3, 4, 5]);
        assert!(page.has_more);
        let page = merge_history(vec![private(5)], vec![public(4, 1), public(9, 2)], HistoryDirection::After(4), 3, 0);
        let ids: Vec<_> = page.messages.iter().map(|m| m.msg_id).collect();
        assert_eq!(ids, vec![5, 9]);
        assert!(!page.has_more);
    }

    /// A step of the model world that a syncing client races against.
    #[derive(Debug, Clone)]
    enum Step {
        /// A private message arrives; ids grow, as the projector stamps them.
        Private,
        /// A broadcast becomes visible at the next position, with a msg_id that may lie
        /// below what the client has already seen.
        Publish { msg_id_lag: i64 },
        /// The client syncs with its current cursor.
        Sync { limit: usize },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            Just(Step::Private),
            (0i64..50).prop_map(|msg_id_lag| Step::Publish { msg_id_lag }),
            (1usize..5).prop_map(|limit| Step::Sync { limit }),
        ]
    }

    proptest! {
        #[test]
        fn syncing_with_returned_cursors_never_skips_or_repeats(steps in proptest::collection::vec(step(), 1..80)) {
            let mut private_rows: Vec<MsgId> = vec![];
            let mut public_rows: Vec<(PublicSeq, MsgId, BroadcastId)> = vec![];
            let mut clock = 100;
            let mut cursor = SyncCursor::default();
            let mut received: Vec<(Source, MsgId, Option<BroadcastId>)> = vec![];
            let sync = |cursor: SyncCursor, limit: usize, private_rows: &[MsgId], public_rows: &[(PublicSeq, MsgId, BroadcastId)]| {
                let page_rows: Vec<MailboxEntry> = private_rows.iter().filter(|id| **id > cursor.private_after).take(limit + 1).map(|id| private(*id)).collect();
                let exhausted = page_rows.len() <= limit;
                let page_rows: Vec<_> = page_rows.into_iter().take(limit).collect();
                let candidates: Vec<_> = public_rows.iter().filter(|(seq, ..)| *seq > cursor.public_after).map(|(seq, id, b)| (*seq, public(*id, *b))).collect();
                let seq = public_rows.last().map(|r| r.0).unwrap_or(0);
                merge_sync(page_rows, exhausted, candidates, seq, cursor, limit, 0)
            };
            for step in steps {
                match step {
                    Step::Private => { clock += 1; private_rows.push(clock); }
                    Step::Publish { msg_id_lag } => {
                        clock += 1;
                        let seq = public_rows.len() as PublicSeq + 1;
                        public_rows.push((seq, clock - msg_id_lag, seq));
                    }
                    Step::Sync { limit } => {
                        let page = sync(cursor, limit, &private_rows, &public_rows);
                        prop_assert!(page.messages.len() <= limit);
                        prop_assert!(page.messages.windows(2).all(|w| w[0].order_key() <= w[1].order_key()));
                        received.extend(page.messages.iter().map(|m| (m.source, m.msg_id, m.broadcast_id)));
                        cursor = page.cursor;
                    }
                }
            }
            // Drain: sync until nothing more, then everything was received exactly once.
            loop {
                let page = sync(cursor, 3, &private_rows, &public_rows);
                received.extend(page.messages.iter().map(|m| (m.source, m.msg_id, m.broadcast_id)));
                cursor = page.cursor;
                if !page.has_more { break; }
            }
            let unique: BTreeSet<_> = received.iter().copied().collect();
            prop_assert_eq!(unique.len(), received.len(), "a message was delivered twice");
            let expected: BTreeSet<_> = private_rows.iter().map(|id| (Source::Private, *id, None))
                .chain(public_rows.iter().map(|(_, id, b)| (Source::Public, *id, Some(*b))))
                .collect();
            prop_assert_eq!(unique, expected, "a message was skipped");
        }
    }
}
