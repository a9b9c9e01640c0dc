//! The private projection: deliveries, read marks, deletions and hidden broadcasts, into
//! each user's mailbox. A delivery's `msg_id` is stamped from the mailbox head in log
//! order, and one whose dedupe key the mailbox already holds is a duplicate.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures_util::{StreamExt, TryStreamExt, stream};
use tidings_domain::MsgId;
use tidings_domain::event::{MailboxEvent, NotifySignal};
use tidings_domain::message::{Mailbox, StoredMessage, stamp_msg_id};
use tidings_domain::time::now_us;
use tidings_ports::{MailboxChange, StoreError};

use crate::telemetry::{EVENTS_TOTAL, LATENCY_SECONDS};
use crate::{BatchOutcome, Projector};

/// Store reads in flight at once while a batch is read for stamping.
const READS_IN_FLIGHT: usize = 64;

impl Projector {
    /// Stamps the batch's new deliveries, skipping duplicates, applies every mailbox change
    /// in one store call and signals the newest message of each mailbox delivered to.
    pub(crate) async fn project_mailbox_events(
        &self,
        events: &[MailboxEvent],
        outcome: &mut BatchOutcome,
    ) -> Result<(), StoreError> {
        let (mut heads, already_delivered) = self.read_stamping_state(events).await?;
        let mut already_delivered = already_delivered.into_iter();
        let mut delivered_in_batch: HashMap<(Mailbox, &str), MsgId> = HashMap::new();
        let mut latest: BTreeMap<Mailbox, MsgId> = BTreeMap::new();
        let mut changes = Vec::with_capacity(events.len());
        let mut create_times = Vec::new();
        let mut duplicates = 0;
        for event in events {
            let mailbox = event.mailbox();
            let change = match event {
                MailboxEvent::Delivered(delivery) => {
                    let dedupe = (mailbox, delivery.dedupe_key.as_str());
                    let in_store = already_delivered.next().expect("one answer per delivery");
                    if in_store || delivered_in_batch.contains_key(&dedupe) {
                        duplicates += 1;
                        continue;
                    }
                    let head = heads.get(&mailbox).copied().flatten();
                    let msg_id = stamp_msg_id(head, delivery.create_time_us);
                    heads.insert(mailbox, Some(msg_id));
                    delivered_in_batch.insert(dedupe, msg_id);
                    latest.insert(mailbox, msg_id);
                    create_times.push(delivery.create_time_us);
                    MailboxChange::Insert(StoredMessage {
                        mailbox,
                        msg_id,
                        create_time_us: delivery.create_time_us,
                        dedupe_key: delivery.dedupe_key.clone(),
                        body: delivery.body.clone(),
                    })
                }
                MailboxEvent::ReadUpTo { up_to, .. } => MailboxChange::MarkReadUpTo { mailbox, up_to: *up_to },
                MailboxEvent::MessageDeleted { msg_id, .. } => MailboxChange::Delete { mailbox, msg_id: *msg_id },
                MailboxEvent::BroadcastHidden { broadcast_id, .. } => {
                    MailboxChange::HideBroadcast { mailbox, broadcast_id: *broadcast_id }
                }
            };
            changes.push(change);
        }
        if !changes.is_empty() {
            self.store.apply_mailbox_changes(&changes).await?;
        }
        let now_us = now_us();
        for created in create_times {
            metrics::histogram!(LATENCY_SECONDS).record((now_us - created).max(0) as f64 / 1e6);
        }
        let topic = self.topics.mailbox.clone();
        metrics::counter!(EVENTS_TOTAL, "topic" => topic.clone(), "outcome" => "projected")
            .increment(changes.len() as u64);
        metrics::counter!(EVENTS_TOTAL, "topic" => topic, "outcome" => "duplicate").increment(duplicates as u64);
        outcome.projected += changes.len();
        outcome.duplicates += duplicates;
        outcome.notify.extend(
            latest.into_iter().map(|(mailbox, latest_msg_id)| NotifySignal::Mailbox { mailbox, latest_msg_id }),
        );
        Ok(())
    }

    /// Reads what stamping the batch's deliveries needs, many reads in flight at once (one
    /// after the other, a remote store would cap projection at one event per two round
    /// trips): the head of each mailbox delivered to, and, for each delivery in batch order,
    /// whether the store already holds its dedupe key.
    async fn read_stamping_state(
        &self,
        events: &[MailboxEvent],
    ) -> Result<(HashMap<Mailbox, Option<MsgId>>, Vec<bool>), StoreError> {
        let deliveries: Vec<(Mailbox, String)> = events
            .iter()
            .filter_map(|event| match event {
                MailboxEvent::Delivered(delivery) => Some((event.mailbox(), delivery.dedupe_key.clone())),
                _ => None,
            })
            .collect();
        let mailboxes: HashSet<Mailbox> = deliveries.iter().map(|(mailbox, _)| *mailbox).collect();
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
        tokio::try_join!(heads, delivered)
    }
}
