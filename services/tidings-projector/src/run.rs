//! The consume loop: poll a batch, project and publish it (retrying what may pass), commit
//! its offsets, and report the lag when idle.

use std::time::{Duration, Instant};

use backon::Retryable;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::retry::{commit_with_retry, retry_policy};
use crate::telemetry::{BATCH_SECONDS, LAG_RECORDS};
use crate::{Projector, ProjectorError};

const LAG_REPORT_INTERVAL: Duration = Duration::from_secs(1);
const POLL_RETRY_DELAY: Duration = Duration::from_millis(500);

impl Projector {
    /// Consumes until `shutdown` is cancelled, then projects one last batch of what is
    /// already there (e.g. a pull worker's reach flush at shutdown) without waiting. Retriable
    /// engine errors are retried with backoff on the same batch; others end the run (a
    /// restart resumes from the last commit).
    pub async fn run(&self, shutdown: CancellationToken) -> Result<(), ProjectorError> {
        let topics = [self.topics.mailbox.clone(), self.topics.broadcast.clone(), self.topics.reach.clone()];
        let mut subscription = self.log.subscribe(&self.settings.group, &topics).await?;
        info!(group = %self.settings.group, "projector started");
        let mut lag_reported = Instant::now() - LAG_REPORT_INTERVAL;
        let mut last = false;
        loop {
            if last {
                break;
            }
            let polled = tokio::select! {
                () = shutdown.cancelled() => {
                    last = true;
                    subscription.poll(self.settings.batch_size, Duration::ZERO).await
                }
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
}
