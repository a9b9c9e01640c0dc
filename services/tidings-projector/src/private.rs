//! The private projection: deliveries, recalls, read marks, deletions, hidden broadcasts and
//! attributes, into each user's mailbox. A delivery's `msg_id` is stamped from the mailbox
//! head in log order, and one whose dedupe key the mailbox already holds is a duplicate. A
//! recall removes the delivered message and stamps a delete command in its place
//! (docs/design.md#recall), keyed by a dedupe key of its own so a repeat is a duplicate.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures_util::{StreamExt, TryStreamExt, stream};
use tidings_domain::MsgId;
use tidings_domain::event::{Delivery, MailboxEvent, NotifySignal};
use tidings_domain::message::{Mailbox, MessageBody, StoredMessage, stamp_msg_id};
use tidings_domain::time::now_us;
use tidings_ports::{IndexedSend, MailboxChange, StoreError};

use crate::telemetry::{EVENTS_TOTAL, LATENCY_SECONDS};
use crate::{BatchOutcome, Projector};

/// Store reads in flight at once while a batch is read for stamping.
const READS_IN_FLIGHT: usize = 64;

/// What the store holds about one recall, read before the batch is folded.
struct RecallState {
    /// The recall's own command is there: it was projected already.
    already_recalled: bool,
    /// The recalled delivery's `msg_id`.
    delivered: Option<MsgId>,
}

/// What stamping a batch needs from the store.
struct StampingState {
    heads: HashMap<Mailbox, Option<MsgId>>,
    /// For each delivery in batch order: whether the mailbox holds its dedupe key.
    already_delivered: Vec<bool>,
    /// For each recall in batch order.
    recalls: Vec<RecallState>,
}

impl Projector {
    /// Stamps the batch's new deliveries and delete commands, skipping duplicates, indexes
    /// sends for recall, applies every mailbox change in one store call and signals the
    /// newest message of each mailbox written to.
    pub(crate) async fn project_mailbox_events(
        &self,
        events: &[MailboxEvent],
        outcome: &mut BatchOutcome,
    ) -> Result<(), StoreError> {
        let StampingState { mut heads, already_delivered, recalls } = self.read_stamping_state(events).await?;
        let mut already_delivered = already_delivered.into_iter();
        let mut recalls = recalls.into_iter();
        let mut delivered_in_batch: HashMap<(Mailbox, &str), MsgId> = HashMap::new();
        let mut recalled_in_batch: HashSet<(Mailbox, &str)> = HashSet::new();
        let mut latest: BTreeMap<Mailbox, MsgId> = BTreeMap::new();
        let mut changes = Vec::with_capacity(events.len());
        let mut sends = Vec::new();
        let mut create_times = Vec::new();
        let (mut projected, mut duplicates) = (0, 0);
        let mut stamp = |mailbox: Mailbox, time_us: i64| {
            let msg_id = stamp_msg_id(heads.get(&mailbox).copied().flatten(), time_us);
            heads.insert(mailbox, Some(msg_id));
            latest.insert(mailbox, msg_id);
            msg_id
        };
        for event in events {
            let mailbox = event.mailbox();
            match event {
                MailboxEvent::Delivered(delivery) => {
                    if let Some(send) = &delivery.send {
                        sends.push(IndexedSend {
                            app_id: mailbox.app_id,
                            request_key: Delivery::request_key(&send.request_id),
                            dedupe_key: delivery.dedupe_key.clone(),
                            recipients: send.recipients.clone(),
                        });
                    }
                    let dedupe = (mailbox, delivery.dedupe_key.as_str());
                    let in_store = already_delivered.next().expect("one answer per delivery");
                    if in_store || delivered_in_batch.contains_key(&dedupe) {
                        duplicates += 1;
                        continue;
                    }
                    let msg_id = stamp(mailbox, delivery.create_time_us);
                    delivered_in_batch.insert(dedupe, msg_id);
                    create_times.push(delivery.create_time_us);
                    changes.push(MailboxChange::Insert(StoredMessage {
                        mailbox,
                        msg_id,
                        create_time_us: delivery.create_time_us,
                        dedupe_key: delivery.dedupe_key.clone(),
                        body: delivery.body.clone(),
                        recalls: None,
                    }));
                }
                MailboxEvent::Recalled { dedupe_key, at_us, .. } => {
                    let stored = recalls.next().expect("one answer per recall");
                    let key = (mailbox, dedupe_key.as_str());
                    // One of a message this mailbox never got (a msgkey's other sends)
                    // changes nothing.
                    let Some(recalled) = delivered_in_batch.get(&key).copied().or(stored.delivered) else {
                        duplicates += 1;
                        continue;
                    };
                    if stored.already_recalled || !recalled_in_batch.insert(key) {
                        // A repeat. The row is deleted again all the same: a crash may have
                        // left a command without its delete (a call's writes can be split).
                        changes.push(MailboxChange::Delete { mailbox, msg_id: recalled });
                        duplicates += 1;
                        continue;
                    }
                    let msg_id = stamp(mailbox, *at_us);
                    changes.push(MailboxChange::Delete { mailbox, msg_id: recalled });
                    changes.push(MailboxChange::Insert(delete_command(mailbox, msg_id, *at_us, dedupe_key, recalled)));
                }
                MailboxEvent::ReadUpTo { up_to, .. } => {
                    changes.push(MailboxChange::MarkReadUpTo { mailbox, up_to: *up_to })
                }
                MailboxEvent::MessageDeleted { msg_id, .. } => {
                    changes.push(MailboxChange::Delete { mailbox, msg_id: *msg_id })
                }
                MailboxEvent::BroadcastHidden { broadcast_id, .. } => {
                    changes.push(MailboxChange::HideBroadcast { mailbox, broadcast_id: *broadcast_id })
                }
                MailboxEvent::AttributesReplaced { attributes, .. } => {
                    changes.push(MailboxChange::ReplaceAttributes { mailbox, attributes: attributes.clone() })
                }
            }
            projected += 1;
        }
        if !sends.is_empty() {
            self.store.index_sends(&sends).await?;
        }
        if !changes.is_empty() {
            self.store.apply_mailbox_changes(&changes).await?;
        }
        let now_us = now_us();
        for created in create_times {
            metrics::histogram!(LATENCY_SECONDS).record((now_us - created).max(0) as f64 / 1e6);
        }
        let topic = self.topics.mailbox.clone();
        metrics::counter!(EVENTS_TOTAL, "topic" => topic.clone(), "outcome" => "projected").increment(projected as u64);
        metrics::counter!(EVENTS_TOTAL, "topic" => topic, "outcome" => "duplicate").increment(duplicates as u64);
        outcome.projected += projected;
        outcome.duplicates += duplicates;
        outcome.notify.extend(
            latest.into_iter().map(|(mailbox, latest_msg_id)| NotifySignal::Mailbox { mailbox, latest_msg_id }),
        );
        Ok(())
    }

    /// Reads what stamping the batch needs, many reads in flight at once (one after the
    /// other, a remote store would cap projection at one event per two round trips): the
    /// head of each mailbox delivered or recalled to, whether the store already holds each
    /// delivery's dedupe key, and what each recall finds.
    async fn read_stamping_state(&self, events: &[MailboxEvent]) -> Result<StampingState, StoreError> {
        // Owned keys: the futures below must not borrow from `events` (a spawned projector's
        // future has to be valid for any lifetime of its batch).
        let deliveries: Vec<(Mailbox, String)> = events
            .iter()
            .filter_map(|event| match event {
                MailboxEvent::Delivered(delivery) => Some((event.mailbox(), delivery.dedupe_key.clone())),
                _ => None,
            })
            .collect();
        let recalled: Vec<(Mailbox, String)> = events
            .iter()
            .filter_map(|event| match event {
                MailboxEvent::Recalled { mailbox, dedupe_key, .. } => Some((*mailbox, dedupe_key.clone())),
                _ => None,
            })
            .collect();
        let mailboxes: HashSet<Mailbox> = deliveries.iter().chain(&recalled).map(|(mailbox, _)| *mailbox).collect();
        let store = &self.store;
        let heads = stream::iter(mailboxes)
            .map(|mailbox| async move { Ok::<_, StoreError>((mailbox, store.mailbox_state(mailbox).await?.head)) })
            .buffer_unordered(READS_IN_FLIGHT)
            .try_collect();
        let delivered =
            stream::iter(deliveries)
                .map(|(mailbox, key)| async move {
                    Ok::<_, StoreError>(store.find_delivery(mailbox, &key).await?.is_some())
                })
                .buffered(READS_IN_FLIGHT)
                .try_collect();
        let recalls = stream::iter(recalled)
            .map(|(mailbox, key)| async move { self.read_recall_state(mailbox, &key).await })
            .buffered(READS_IN_FLIGHT)
            .try_collect();
        let (heads, already_delivered, recalls) = tokio::try_join!(heads, delivered, recalls)?;
        Ok(StampingState { heads, already_delivered, recalls })
    }

    async fn read_recall_state(&self, mailbox: Mailbox, dedupe_key: &str) -> Result<RecallState, StoreError> {
        let command_key = Delivery::recall_dedupe_key(dedupe_key);
        let (command, delivered) = tokio::try_join!(
            self.store.find_delivery(mailbox, &command_key),
            self.store.find_delivery(mailbox, dedupe_key)
        )?;
        Ok(RecallState { already_recalled: command.is_some(), delivered })
    }
}

/// The row a recall leaves at `msg_id`: the owner and the recalled `msg_id`, nothing of the
/// message. Made from the event alone, so a replay makes the same row whatever happened to
/// the message's row meanwhile (deleted by its owner, expired); a command about an expired
/// copy is one a device ignores.
fn delete_command(mailbox: Mailbox, msg_id: MsgId, at_us: i64, dedupe_key: &str, recalled: MsgId) -> StoredMessage {
    StoredMessage {
        mailbox,
        msg_id,
        create_time_us: at_us,
        dedupe_key: Delivery::recall_dedupe_key(dedupe_key),
        body: MessageBody { to_uid: mailbox.uid, ..MessageBody::default() },
        recalls: Some(recalled),
    }
}
