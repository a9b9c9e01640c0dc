//! Independent writes run side by side, a bounded number at once.

use std::future::Future;

use tidings_ports::StoreError;
use tokio::task::JoinSet;

/// Runs every write, at most `limit` at once, and returns the first error (after all of
/// them ended, so none is left running behind the caller's back).
pub async fn run_bounded<W>(writes: impl IntoIterator<Item = W>, limit: usize) -> Result<(), StoreError>
where
    W: Future<Output = Result<(), StoreError>> + Send + 'static,
{
    let mut in_flight = JoinSet::new();
    let mut outcome = Ok(());
    for write in writes {
        if in_flight.len() >= limit.max(1) {
            outcome = outcome.and(joined(in_flight.join_next().await));
        }
        in_flight.spawn(write);
    }
    while let Some(done) = in_flight.join_next().await {
        outcome = outcome.and(joined(Some(done)));
    }
    outcome
}

fn joined(done: Option<Result<Result<(), StoreError>, tokio::task::JoinError>>) -> Result<(), StoreError> {
    match done {
        Some(Ok(outcome)) => outcome,
        Some(Err(join_error)) => Err(StoreError::Unavailable(format!("a write task failed: {join_error}"))),
        None => Ok(()),
    }
}
