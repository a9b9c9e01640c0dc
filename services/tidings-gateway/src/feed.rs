//! The notify topic, read whole by this gateway process into its sessions.

use std::sync::Arc;
use std::time::Duration;

use tidings_events::EventCodec;
use tidings_ports::log::TopicName;
use tidings_ports::{EventLog, LogError};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use tidings_domain::event::NotifySignal;

use crate::Sessions;
use crate::waves::Announcements;

/// Why the feed stopped.
#[derive(Debug, thiserror::Error)]
#[error("the notify feed stopped: {0}")]
pub struct FeedError(#[from] LogError);

const BATCH: usize = 512;
const POLL_WAIT: Duration = Duration::from_millis(100);
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Polls the notify topic in `group`: a mailbox's signal is marked pending for its
/// sessions at once (nobody connected: it costs nothing), an app's public one is announced
/// to the broadcast waves. Positions are committed right after
/// delivery: notifies are hints, and a restarted gateway's clients resync on login anyway.
pub(crate) async fn run(
    log: Arc<dyn EventLog>,
    topic: TopicName,
    group: &str,
    codec: EventCodec,
    sessions: &Sessions,
    announcements: &Announcements,
    stop: CancellationToken,
) -> Result<(), FeedError> {
    let mut subscription = log.subscribe(group, std::slice::from_ref(&topic)).await?;
    loop {
        let polled = tokio::select! {
            () = stop.cancelled() => return Ok(()),
            polled = subscription.poll(BATCH, POLL_WAIT) => polled,
        };
        let records = match polled {
            Ok(records) => records,
            Err(error) if error.is_retriable() => {
                warn!(%error, "notify feed poll failed; retrying");
                tokio::time::sleep(RETRY_AFTER).await;
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        for record in &records {
            match codec.decode_notify(&record.payload) {
                Ok(NotifySignal::Mailbox { mailbox, latest_msg_id }) => {
                    sessions.deliver_private(mailbox, latest_msg_id)
                }
                Ok(NotifySignal::Public { app_id, seq }) => announcements.announce(app_id, seq),
                Err(error) => warn!(%error, offset = record.position.offset, "undecodable notify skipped"),
            }
        }
        let positions: Vec<_> = records.iter().map(|record| record.position.clone()).collect();
        if !positions.is_empty()
            && let Err(error) = subscription.commit(&positions).await
        {
            warn!(%error, "notify feed commit failed; the next commit covers it");
        }
    }
}
