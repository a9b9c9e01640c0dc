//! Reach counting on the pull path (docs/design.md#reach): each broadcast a sync returns
//! counts as delivered to the viewer, each broadcast a read mark newly covers as read, in a
//! [`ReachCounter`] that [`run_reach_flush`] drains onto the reach topic every interval and
//! once more at shutdown.

use std::sync::Arc;
use std::time::Duration;

use tidings_domain::client::Viewer;
use tidings_domain::message::Mailbox;
use tidings_domain::sync::{MailboxEntry, Source};
use tidings_events::EventCodec;
use tidings_ports::{EventLog, OutgoingRecord, Topics};
use tidings_reach::{ReachCounter, ReachEvent, ReachKey, ReachKind, ReachPlatform};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

pub(crate) const FLUSHES_TOTAL: &str = "tidings_puller_reach_flushes_total";
pub(crate) const EVENTS_APPENDED_TOTAL: &str = "tidings_puller_reach_events_appended_total";

pub(crate) fn describe_metrics() {
    metrics::describe_counter!(FLUSHES_TOTAL, "reach flushes that had sketches to append, by outcome");
    metrics::describe_counter!(EVENTS_APPENDED_TOTAL, "reach events appended to the log (one per broadcast and flush)");
}

/// Counts `uid` as `kind` for each public entry among `entries` (private ones and
/// commands are skipped).
pub(crate) fn record(
    counter: &ReachCounter,
    mailbox: Mailbox,
    viewer: &Viewer,
    kind: ReachKind,
    entries: impl IntoIterator<Item = impl std::borrow::Borrow<MailboxEntry>>,
    now_s: i64,
) {
    let (platform, hour) = (ReachPlatform(viewer.version.platform), ReachKey::hour_of(now_s));
    let keys = entries.into_iter().filter_map(|entry| {
        let entry = entry.borrow();
        let broadcast_id = entry.broadcast_id.filter(|_| entry.source == Source::Public)?;
        Some(ReachKey { app_id: mailbox.app_id, broadcast_id, kind, platform, hour })
    });
    counter.record(mailbox.uid, keys);
}

/// The log records of drained reach events.
fn records(codec: &EventCodec, topics: &Topics, events: &[ReachEvent]) -> Vec<OutgoingRecord> {
    events
        .iter()
        .map(|event| OutgoingRecord {
            topic: topics.reach.clone(),
            key: ReachKey::log_key(event.app_id, event.broadcast_id).into_bytes(),
            payload: codec.encode_reach(event),
        })
        .collect()
}

/// Drains `counter` every `interval` and appends what it counted, one reach event per
/// broadcast, to `topics.reach`; at `shutdown`, once more. A failed append is kept and tried
/// again at the next flush (merging makes a repeated event harmless), so counts are only
/// lost if the process dies before the log takes them.
pub async fn run_reach_flush(
    counter: Arc<ReachCounter>,
    log: Arc<dyn EventLog>,
    codec: EventCodec,
    topics: Topics,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut pending: Vec<OutgoingRecord> = Vec::new();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        let stopping = tokio::select! {
            () = shutdown.cancelled() => true,
            _ = ticks.tick() => false,
        };
        pending.extend(records(&codec, &topics, &counter.drain()));
        if !pending.is_empty() {
            let events = pending.len();
            match log.append(pending.clone()).await {
                Ok(()) => {
                    metrics::counter!(FLUSHES_TOTAL, "outcome" => "appended").increment(1);
                    metrics::counter!(EVENTS_APPENDED_TOTAL).increment(events as u64);
                    debug!(events, "reach flushed");
                    pending.clear();
                }
                Err(error) => {
                    metrics::counter!(FLUSHES_TOTAL, "outcome" => "failed").increment(1);
                    warn!(events, %error, "reach flush failed, keeping the sketches for the next one");
                }
            }
        }
        if stopping {
            if !pending.is_empty() {
                warn!(events = pending.len(), "reach sketches not flushed at shutdown");
            }
            return;
        }
    }
}
