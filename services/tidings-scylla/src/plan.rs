//! What one `apply_mailbox_changes` call does to each mailbox, folded from its changes in
//! order into the writes that leave the same end state, with no two writes of one batch
//! touching the same row (inside one CQL batch every write gets the same timestamp, so
//! their order is lost; the fold applies it beforehand).

use std::collections::{BTreeMap, BTreeSet};

use tidings_domain::message::{Attributes, Mailbox, StoredMessage};
use tidings_domain::{BroadcastId, MsgId};
use tidings_ports::MailboxChange;

/// The net effect of one call's changes on one mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MailboxPlan<'a> {
    pub mailbox: Mailbox,
    /// Every `msg_id` inserted by the call, ascending, with the row to write (`None` when a
    /// later change of the same call deleted it) and the dedupe keys that point at it.
    pub inserts: BTreeMap<MsgId, Insert<'a>>,
    /// Rows to delete: never one that `inserts` writes.
    pub deletes: BTreeSet<MsgId>,
    /// The largest read mark of the call.
    pub read_up_to: Option<MsgId>,
    pub hidden_broadcasts: BTreeSet<BroadcastId>,
    /// The last attributes the call sets.
    pub attributes: Option<&'a Attributes>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Insert<'a> {
    pub row: Option<&'a StoredMessage>,
    pub dedupe_keys: BTreeSet<&'a str>,
}

impl<'a> MailboxPlan<'a> {
    fn new(mailbox: Mailbox) -> Self {
        Self {
            mailbox,
            inserts: BTreeMap::new(),
            deletes: BTreeSet::new(),
            read_up_to: None,
            hidden_broadcasts: BTreeSet::new(),
            attributes: None,
        }
    }

    fn fold(&mut self, change: &'a MailboxChange) {
        match change {
            MailboxChange::Insert(message) => {
                self.deletes.remove(&message.msg_id);
                let insert = self
                    .inserts
                    .entry(message.msg_id)
                    .or_insert_with(|| Insert { row: None, dedupe_keys: BTreeSet::new() });
                insert.row = Some(message);
                insert.dedupe_keys.insert(&message.dedupe_key);
            }
            MailboxChange::Delete { msg_id, .. } => {
                if let Some(insert) = self.inserts.get_mut(msg_id) {
                    insert.row = None;
                }
                self.deletes.insert(*msg_id);
            }
            MailboxChange::MarkReadUpTo { up_to, .. } => {
                self.read_up_to = Some(self.read_up_to.map_or(*up_to, |mark| mark.max(*up_to)));
            }
            MailboxChange::HideBroadcast { broadcast_id, .. } => {
                self.hidden_broadcasts.insert(*broadcast_id);
            }
            MailboxChange::ReplaceAttributes { attributes, .. } => self.attributes = Some(attributes),
        }
    }

    /// Splits the plan into pieces whose inserted rows weigh at most `max_bytes` each (one
    /// insert at least), inserts ascending by `msg_id`; the last piece carries the deletes,
    /// the read mark, the hidden broadcasts and the attributes. Applied in order, the pieces keep the no missed pull invariant (docs/design.md#no-missed-pull)
    /// (a larger id is never visible before a smaller one of the same call), and each piece
    /// keeps its rows, dedupe keys and head together.
    pub fn into_pieces(self, max_bytes: usize) -> Vec<MailboxPlan<'a>> {
        let Self { mailbox, inserts, deletes, read_up_to, hidden_broadcasts, attributes } = self;
        let mut pieces = vec![MailboxPlan::new(mailbox)];
        let mut weight = 0;
        for (msg_id, insert) in inserts {
            let insert_weight = insert.weight();
            let current = pieces.last_mut().expect("at least one piece");
            if !current.inserts.is_empty() && weight + insert_weight > max_bytes {
                pieces.push(MailboxPlan::new(mailbox));
                weight = 0;
            }
            weight += insert_weight;
            pieces.last_mut().expect("at least one piece").inserts.insert(msg_id, insert);
        }
        let last = pieces.last_mut().expect("at least one piece");
        last.deletes = deletes;
        last.read_up_to = read_up_to;
        last.hidden_broadcasts = hidden_broadcasts;
        last.attributes = attributes;
        pieces
    }

    /// The head this plan raises the mailbox to: its largest inserted `msg_id`.
    pub fn head(&self) -> Option<MsgId> {
        self.inserts.keys().next_back().copied()
    }
}

impl Insert<'_> {
    /// Roughly the bytes the insert adds to a batch.
    fn weight(&self) -> usize {
        const FIXED_COLUMNS: usize = 160;
        let row = self.row.map_or(0, |message| {
            FIXED_COLUMNS + message.dedupe_key.len() + message.body.msgkey.len() + message.body.content.len()
        });
        row + self.dedupe_keys.iter().map(|key| key.len() + 48).sum::<usize>()
    }
}

/// One plan per mailbox the changes touch, in the order each mailbox first appears.
pub(crate) fn plan_by_mailbox(changes: &[MailboxChange]) -> Vec<MailboxPlan<'_>> {
    let mut positions: BTreeMap<Mailbox, usize> = BTreeMap::new();
    let mut plans: Vec<MailboxPlan<'_>> = Vec::new();
    for change in changes {
        let mailbox = change.mailbox();
        let position = *positions.entry(mailbox).or_insert_with(|| {
            plans.push(MailboxPlan::new(mailbox));
            plans.len() - 1
        });
        plans[position].fold(change);
    }
    plans
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidings_domain::message::MessageBody;

    const MAILBOX: Mailbox = Mailbox { app_id: 1, uid: 2 };

    fn message(msg_id: MsgId, content_len: usize) -> StoredMessage {
        StoredMessage {
            mailbox: MAILBOX,
            msg_id,
            create_time_us: msg_id,
            dedupe_key: format!("d-{msg_id}"),
            body: MessageBody { content: "x".repeat(content_len), ..MessageBody::default() },
            recalls: None,
        }
    }

    fn insert(message: &StoredMessage) -> MailboxChange {
        MailboxChange::Insert(message.clone())
    }

    fn delete(msg_id: MsgId) -> MailboxChange {
        MailboxChange::Delete { mailbox: MAILBOX, msg_id }
    }

    #[test]
    fn a_delete_after_an_insert_keeps_the_dedupe_key_and_head_but_not_the_row() {
        let (five, seven) = (message(5, 1), message(7, 1));
        let changes = [insert(&five), insert(&seven), delete(7), delete(3)];
        let plans = plan_by_mailbox(&changes);
        assert_eq!(plans.len(), 1);
        let plan = &plans[0];
        assert_eq!(plan.inserts[&5].row, Some(&five));
        assert_eq!(plan.inserts[&7].row, None);
        assert_eq!(plan.inserts[&7].dedupe_keys, BTreeSet::from(["d-7"]));
        assert_eq!(plan.deletes, BTreeSet::from([3, 7]));
        assert_eq!(plan.head(), Some(7));
    }

    #[test]
    fn an_insert_after_a_delete_of_the_same_id_wins() {
        let five = message(5, 1);
        let changes = [delete(5), insert(&five)];
        let plan = &plan_by_mailbox(&changes)[0];
        assert_eq!(plan.inserts[&5].row, Some(&five));
        assert!(plan.deletes.is_empty());
    }

    #[test]
    fn marks_keep_their_maximum_attributes_the_last_and_plans_follow_first_appearance() {
        let other = Mailbox { app_id: 1, uid: 3 };
        let changes = [
            MailboxChange::MarkReadUpTo { mailbox: other, up_to: 4 },
            MailboxChange::MarkReadUpTo { mailbox: MAILBOX, up_to: 9 },
            MailboxChange::MarkReadUpTo { mailbox: MAILBOX, up_to: 2 },
            MailboxChange::HideBroadcast { mailbox: MAILBOX, broadcast_id: 8 },
            MailboxChange::HideBroadcast { mailbox: MAILBOX, broadcast_id: 8 },
            MailboxChange::ReplaceAttributes { mailbox: MAILBOX, attributes: [("a".into(), "1".into())].into() },
            MailboxChange::ReplaceAttributes { mailbox: MAILBOX, attributes: Attributes::new() },
        ];
        let plans = plan_by_mailbox(&changes);
        assert_eq!(plans.iter().map(|plan| plan.mailbox).collect::<Vec<_>>(), [other, MAILBOX]);
        assert_eq!(plans[1].read_up_to, Some(9));
        assert_eq!(plans[1].hidden_broadcasts, BTreeSet::from([8]));
        assert_eq!(plans[1].attributes, Some(&Attributes::new()), "the last replacement wins");
        assert_eq!(plans[1].head(), None);
    }

    #[test]
    fn pieces_split_ascending_by_weight_and_the_last_one_carries_the_rest() {
        let messages: Vec<StoredMessage> = [30, 10, 20, 40].into_iter().map(|id| message(id, 1_000)).collect();
        let mut changes: Vec<MailboxChange> = messages.iter().map(insert).collect();
        changes.push(delete(99));
        changes.push(MailboxChange::MarkReadUpTo { mailbox: MAILBOX, up_to: 20 });
        let plan = plan_by_mailbox(&changes).remove(0);

        let pieces = plan.clone().into_pieces(2_500);
        let ids: Vec<Vec<MsgId>> = pieces.iter().map(|piece| piece.inserts.keys().copied().collect()).collect();
        assert_eq!(ids, [vec![10, 20], vec![30, 40]]);
        assert!(pieces[0].deletes.is_empty() && pieces[0].read_up_to.is_none());
        assert_eq!((pieces[1].deletes.clone(), pieces[1].read_up_to), (BTreeSet::from([99]), Some(20)));
        assert_eq!(pieces.iter().map(MailboxPlan::head).collect::<Vec<_>>(), [Some(20), Some(40)]);

        // One oversized insert still makes a piece; a plan without inserts is one piece.
        assert_eq!(plan.into_pieces(10).len(), 4);
        let marks_only = [MailboxChange::MarkReadUpTo { mailbox: MAILBOX, up_to: 1 }];
        assert_eq!(plan_by_mailbox(&marks_only).remove(0).into_pieces(10).len(), 1);
    }
}
