//! How the projector waits out engine errors that may pass: exponential backoff from 50 ms
//! to 5 s, without a limit on attempts.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tidings_ports::{LogError, RecordPosition, Subscription};
use tracing::warn;

pub(crate) fn retry_policy() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(5))
        .with_max_times(usize::MAX)
}

/// Commits, retrying what the log says may pass later: committing the same positions
/// again is harmless.
pub(crate) async fn commit_with_retry(
    subscription: &mut dyn Subscription,
    positions: &[RecordPosition],
) -> Result<(), LogError> {
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
