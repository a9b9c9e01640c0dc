//! The projector: consumes the mailbox and broadcast topics and projects them into the store.
//!
//! At-least-once consumption plus idempotent projection gives an exactly-once effect
//! (invariant 2): a polled batch is projected, its effects are made durable, notify signals
//! and dead letters are appended, and only then are the offsets committed. A crash anywhere
//! in between replays the batch, and replay changes nothing:
//! - a delivery whose dedupe key the mailbox already holds is a duplicate and is skipped;
//! - `msg_id`s are stamped from the mailbox head in log order ([`stamp_msg_id`]), so a
//!   replay of the same log stamps the same ids (invariant 3);
//! - broadcast events are folded by [`apply_broadcast_event`], which rejects an event
//!   already applied.
//!
//! Records that can't be decoded or break a rule go to the dead-letter topic and
//! consumption goes on (invariant 7).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use futures_util::{StreamExt, TryStreamExt, stream};
use tidings_domain::broadcast::Broadcast;
use tidings_domain::event::{BroadcastChange, BroadcastEvent, MailboxEvent, NotifySignal};
use tidings_domain::message::{Mailbox, StoredMessage, stamp_msg_id};
use tidings_domain::public::{PublicState, apply_broadcast_event};
use tidings_domain::time::now_us;
use tidings_domain::{AppId, BroadcastId, MsgId, PublicSeq};
use tidings_events::{DeadLetter, EventCodec};
use tidings_ports::{
    EventLog, LogError, LogRecord, MailboxChange, OutgoingRecord, RecordPosition, Store, StoreError, Subscription,
    Topics,
};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// How the projector consumes.
#[derive(Debug, Clone)]
pub struct ProjectorSettings {
    /// The consumer group; every projector instance of a deployment shares it.
    pub group: String,
    /// The most records projected (and committed) at once.
    pub batch_size: usize,
    /// How long a poll waits for records before the loop looks at shutdown again.
    pub poll_wait: Duration,
}

impl Default for ProjectorSettings {
    fn default() -> Self {
        Self { group: "tidings-projector".into(), batch_size: 512, poll_wait: Duration::from_millis(200) }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectorError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ProjectorError {
    fn is_retriable(&self) -> bool {
        match self {
            ProjectorError::Log(error) => error.is_retriable(),
            ProjectorError::Store(error) => error.is_retriable(),
        }
    }
}

/// What projecting one batch produced besides the store writes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub projected: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub notify: Vec<NotifySignal>,
    pub dead_letters: Vec<DeadLetter>,
}

/// The projector service.
#[derive(Debug, Clone)]
pub struct Projector {
    log: Arc<dyn EventLog>,
    store: Arc<dyn Store>,
    codec: EventCodec,
    topics: Topics,
    settings: ProjectorSettings,
}

/// Store reads in flight at once while a batch is read for stamping.
const READS_IN_FLIGHT: usize = 64;

/// Metric names, described once in [`describe_metrics`].
const EVENTS_TOTAL: &str = "tidings_projector_events_total";
const BATCH_SECONDS: &str = "tidings_projector_batch_duration_seconds";
const LAG_RECORDS: &str = "tidings_projector_consumer_lag_records";
const LATENCY_SECONDS: &str = "tidings_projector_projection_latency_seconds";

pub fn describe_metrics() {
    metrics::describe_counter!(EVENTS_TOTAL, "events consumed, by topic and outcome");
    metrics::describe_histogram!(BATCH_SECONDS, metrics::Unit::Seconds, "time to project and commit one batch");
    metrics::describe_gauge!(LAG_RECORDS, "records appended but not yet committed by this projector");
    metrics::describe_histogram!(
        LATENCY_SECONDS,
        metrics::Unit::Seconds,
        "from ingest accepting a delivery to its projection being durable"
    );
}

impl Projector {
    pub fn new(
        log: Arc<dyn EventLog>,
        store: Arc<dyn Store>,
        codec: EventCodec,
        topics: Topics,
        settings: ProjectorSettings,
    ) -> Self {
        Self { log, store, codec, topics, settings }
    }

    /// Consumes until `shutdown` is cancelled. Retriable engine errors are retried with
    /// backoff on the same batch; others end the run (a restart resumes from the last commit).
    pub async fn run(&self, shutdown: CancellationToken) -> Result<(), ProjectorError> {
        let topics = [self.topics.mailbox.clone(), self.topics.broadcast.clone()];
        let mut subscription = self.log.subscribe(&self.settings.group, &topics).await?;
        info!(group = %self.settings.group, "projector started");
        let mut lag_reported = Instant::now() - LAG_REPORT_INTERVAL;
        loop {
            let polled = tokio::select! {
                () = shutdown.cancelled() => break,
                polled = subscription.poll(self.settings.batch_size, self.settings.poll_wait) => polled,
            };
            let records = match polled {
                Ok(records) => records,
                Err(error) if error.is_retriable() => {
                    warn!(%error, "poll failed, retrying");
                    tokio::time::sleep(POLL_RETRY_DELAY).await;
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            if records.is_empty() {
                // The lag is a metric: asking the log for it costs round trips, so not on
                // every idle poll, and a failure to learn it stops nothing.
                if lag_reported.elapsed() >= LAG_REPORT_INTERVAL {
                    lag_reported = Instant::now();
                    match subscription.lag().await {
                        Ok(lag) => metrics::gauge!(LAG_RECORDS).set(lag as f64),
                        Err(error) => debug!(%error, "consumer lag unknown"),
                    }
                }
                continue;
            }
            let started = Instant::now();
            let outcome = (|| self.project_and_publish(&records))
                .retry(retry_policy())
                .when(ProjectorError::is_retriable)
                .notify(|error, delay| warn!(%error, ?delay, "projection failed, retrying"))
                .await?;
            let positions: Vec<_> = records.iter().map(|r| r.position.clone()).collect();
            commit_with_retry(subscription.as_mut(), &positions).await?;
            metrics::histogram!(BATCH_SECONDS).record(started.elapsed().as_secs_f64());
            debug!(
                records = records.len(),
                projected = outcome.projected,
                duplicates = outcome.duplicates,
                "batch committed"
            );
        }
        info!("projector stopped");
        Ok(())
    }

    /// Projects a batch and appends its notify signals and dead letters: everything that
    /// must be durable before the batch's offsets are committed.
    pub async fn project_and_publish(&self, records: &[LogRecord]) -> Result<BatchOutcome, ProjectorError> {
        let outcome = self.project(records).await?;
        let mut appends: Vec<OutgoingRecord> = outcome
            .dead_letters
            .iter()
            .map(|letter| OutgoingRecord {
                topic: self.topics.dead_letter.clone(),
                key: letter.key.clone(),
                payload: self.codec.encode_dead_letter(letter),
            })
            .collect();
        appends.extend(outcome.notify.iter().map(|signal| OutgoingRecord {
            topic: self.topics.notify.clone(),
            key: notify_key(signal).into_bytes(),
            payload: self.codec.encode_notify(signal),
        }));
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
        for record in records {
            let topic = &record.position.topic;
            let decoded = if *topic == self.topics.mailbox {
                self.codec
                    .decode_mailbox(&record.payload)
                    .map_err(|e| e.to_string())
                    .and_then(|event| validate_mailbox_event(&event).map(|()| event))
                    .map(|event| mailbox_events.push(event))
            } else if *topic == self.topics.broadcast {
                self.codec
                    .decode_broadcast(&record.payload)
                    .map_err(|e| e.to_string())
                    .and_then(|event| validate_broadcast_event(&event).map(|()| event))
                    .map(|event| broadcast_events.push(event))
            } else {
                Err(format!("the projector does not consume topic {topic}"))
            };
            if let Err(reason) = decoded {
                warn!(topic = %topic, partition = record.position.partition, offset = record.position.offset, %reason, "dead-lettering record");
                metrics::counter!(EVENTS_TOTAL, "topic" => topic.clone(), "outcome" => "dead_letter").increment(1);
                outcome.dead_letters.push(dead_letter(record, reason));
            }
        }
        self.project_mailbox_events(&mailbox_events, &mut outcome).await?;
        self.project_broadcast_events(&broadcast_events, &mut outcome).await?;
        Ok(outcome)
    }

    async fn project_mailbox_events(
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

    async fn project_broadcast_events(
        &self,
        events: &[BroadcastEvent],
        outcome: &mut BatchOutcome,
    ) -> Result<(), StoreError> {
        let mut states: HashMap<AppId, PublicState> = HashMap::new();
        let mut broadcasts: HashMap<(AppId, BroadcastId), Option<Broadcast>> = HashMap::new();
        let mut public_seqs: BTreeMap<AppId, (PublicSeq, PublicSeq)> = BTreeMap::new();
        let topic = self.topics.broadcast.clone();
        for event in events {
            let app_id = event.app_id;
            let state = match states.get(&app_id) {
                Some(state) => state.clone(),
                None => self.store.public_state(app_id).await?,
            };
            let broadcast_id = changed_broadcast(&event.change);
            let current = match broadcast_id {
                Some(id) => match broadcasts.get(&(app_id, id)) {
                    Some(known) => known.clone(),
                    None => self.store.broadcast(app_id, id).await?,
                },
                None => None,
            };
            match apply_broadcast_event(current.as_ref(), &state, event) {
                Ok(effect) => {
                    self.store.apply_public_change(app_id, effect.broadcast.as_ref(), &effect.state).await?;
                    public_seqs.entry(app_id).or_insert((state.last_seq, state.last_seq)).1 = effect.state.last_seq;
                    if let Some(broadcast) = effect.broadcast {
                        broadcasts.insert((app_id, broadcast.broadcast_id), Some(broadcast));
                    }
                    states.insert(app_id, effect.state);
                    outcome.projected += 1;
                    metrics::counter!(EVENTS_TOTAL, "topic" => topic.clone(), "outcome" => "projected").increment(1);
                }
                Err(rejection) => {
                    // A redelivered event, or two operators racing: ingest checked the
                    // transition against the state it saw, the log decides who was first.
                    info!(app_id, ?broadcast_id, %rejection, "broadcast event changes nothing");
                    states.insert(app_id, state);
                    if let Some(id) = broadcast_id {
                        broadcasts.insert((app_id, id), current);
                    }
                    outcome.rejected += 1;
                    metrics::counter!(EVENTS_TOTAL, "topic" => topic.clone(), "outcome" => "rejected").increment(1);
                }
            }
        }
        outcome.notify.extend(
            public_seqs
                .into_iter()
                .filter(|(_, (before, after))| after > before)
                .map(|(app_id, (_, seq))| NotifySignal::Public { app_id, seq }),
        );
        Ok(())
    }
}

/// Commits, retrying what the log says may pass later: committing the same positions
/// again is harmless.
async fn commit_with_retry(subscription: &mut dyn Subscription, positions: &[RecordPosition]) -> Result<(), LogError> {
    let mut delays = retry_policy().build();
    loop {
        match subscription.commit(positions).await {
            Err(error) if error.is_retriable() => {
                let delay = delays.next().unwrap_or(Duration::from_secs(5));
                warn!(%error, ?delay, "commit failed, retrying");
                tokio::time::sleep(delay).await;
            }
            result => return result,
        }
    }
}

const LAG_REPORT_INTERVAL: Duration = Duration::from_secs(1);
const POLL_RETRY_DELAY: Duration = Duration::from_millis(500);

fn retry_policy() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(5))
        .with_max_times(usize::MAX)
}

fn changed_broadcast(change: &BroadcastChange) -> Option<BroadcastId> {
    match change {
        BroadcastChange::Created { broadcast_id, .. }
        | BroadcastChange::Modified { broadcast_id, .. }
        | BroadcastChange::Lifecycle { broadcast_id, .. } => Some(*broadcast_id),
        BroadcastChange::WhitelistReplaced { .. } => None,
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

fn dead_letter(record: &LogRecord, reason: String) -> DeadLetter {
    DeadLetter {
        source_topic: record.position.topic.clone(),
        partition: record.position.partition,
        offset: record.position.offset,
        key: record.key.clone(),
        payload: record.payload.clone(),
        reason,
        at_us: now_us(),
    }
}

fn notify_key(signal: &NotifySignal) -> String {
    match signal {
        NotifySignal::Mailbox { mailbox, .. } => mailbox.log_key(),
        NotifySignal::Public { app_id, .. } => tidings_domain::event::broadcast_log_key(*app_id),
    }
}
