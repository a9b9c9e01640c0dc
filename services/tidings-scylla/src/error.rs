//! Driver errors as [`StoreError`]s: what may pass by itself (a node down, a timeout, an
//! overloaded replica, a broken connection) is [`StoreError::Unavailable`], which callers
//! retry; everything else (a rejected statement, a missing table, an undecodable row) is
//! [`StoreError::Corrupt`], which they don't.

use std::fmt::Display;

use scylla::errors::{
    DbError, ExecutionError, IntoRowsResultError, NewSessionError, PrepareError, RequestAttemptError, RowsError,
    UseKeyspaceError,
};
use tidings_ports::StoreError;

/// A failed request, in the words `what` gives it.
pub fn execution(what: &str, error: ExecutionError) -> StoreError {
    classify(what, transient_execution(&error), error)
}

/// A statement that failed to prepare, in the words `what` gives it.
pub fn prepare(what: &str, error: PrepareError) -> StoreError {
    classify(what, transient_prepare(&error), error)
}

pub(crate) fn new_session(nodes: &[String], error: NewSessionError) -> StoreError {
    let transient = match &error {
        NewSessionError::FailedToResolveAnyHostname(_) | NewSessionError::MetadataError(_) => true,
        NewSessionError::UseKeyspaceError(error) => transient_use_keyspace(error),
        _ => false,
    };
    classify(&format!("failed to connect to the cql cluster at {}", nodes.join(", ")), transient, error)
}

pub(crate) fn use_keyspace(keyspace: &str, error: UseKeyspaceError) -> StoreError {
    classify(&format!("failed to use keyspace {keyspace}"), transient_use_keyspace(&error), error)
}

/// A result that isn't the rows it should be.
pub(crate) fn rows(what: &str, error: impl Into<RowsProblem>) -> StoreError {
    StoreError::Corrupt(format!("{what}: {}", error.into().0))
}

/// Anything that makes rows unreadable, as text.
pub(crate) struct RowsProblem(String);

impl From<IntoRowsResultError> for RowsProblem {
    fn from(error: IntoRowsResultError) -> Self {
        RowsProblem(error.to_string())
    }
}

impl From<RowsError> for RowsProblem {
    fn from(error: RowsError) -> Self {
        RowsProblem(error.to_string())
    }
}

impl From<scylla::deserialize::DeserializationError> for RowsProblem {
    fn from(error: scylla::deserialize::DeserializationError) -> Self {
        RowsProblem(error.to_string())
    }
}

impl From<String> for RowsProblem {
    fn from(problem: String) -> Self {
        RowsProblem(problem)
    }
}

fn classify(what: &str, transient: bool, error: impl Display) -> StoreError {
    let message = format!("{what}: {error}");
    if transient { StoreError::Unavailable(message) } else { StoreError::Corrupt(message) }
}

fn transient_execution(error: &ExecutionError) -> bool {
    match error {
        ExecutionError::EmptyPlan
        | ExecutionError::ConnectionPoolError(_)
        | ExecutionError::RequestTimeout(_)
        | ExecutionError::SchemaAgreementError(_)
        | ExecutionError::MetadataError(_) => true,
        ExecutionError::LastAttemptError(attempt) => transient_attempt(attempt),
        ExecutionError::PrepareError(error) => transient_prepare(error),
        ExecutionError::UseKeyspaceError(error) => transient_use_keyspace(error),
        _ => false,
    }
}

fn transient_prepare(error: &PrepareError) -> bool {
    match error {
        PrepareError::ConnectionPoolError(_) => true,
        PrepareError::AllAttemptsFailed { first_attempt } => transient_attempt(first_attempt),
        _ => false,
    }
}

fn transient_use_keyspace(error: &UseKeyspaceError) -> bool {
    match error {
        UseKeyspaceError::RequestError(attempt) => transient_attempt(attempt),
        UseKeyspaceError::RequestTimeout(_) => true,
        _ => false,
    }
}

fn transient_attempt(error: &RequestAttemptError) -> bool {
    match error {
        RequestAttemptError::UnableToAllocStreamId | RequestAttemptError::BrokenConnectionError(_) => true,
        RequestAttemptError::DbError(db_error, _) => transient_db(db_error),
        _ => false,
    }
}

/// Server answers that say "not now" rather than "never".
fn transient_db(error: &DbError) -> bool {
    matches!(
        error,
        DbError::Unavailable { .. }
            | DbError::Overloaded
            | DbError::IsBootstrapping
            | DbError::ReadTimeout { .. }
            | DbError::WriteTimeout { .. }
            | DbError::ReadFailure { .. }
            | DbError::WriteFailure { .. }
            | DbError::TruncateError
            | DbError::RateLimitReached { .. }
            | DbError::Unprepared { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use scylla::statement::Consistency;

    #[test]
    fn timeouts_and_unavailable_replicas_are_retriable_and_bad_statements_are_not() {
        let unavailable = RequestAttemptError::DbError(
            DbError::Unavailable { consistency: Consistency::LocalQuorum, required: 2, alive: 1 },
            "cannot achieve consistency level".into(),
        );
        assert!(execution("write", ExecutionError::LastAttemptError(unavailable)).is_retriable());
        let timeout = ExecutionError::RequestTimeout(std::time::Duration::from_secs(1));
        assert!(execution("write", timeout).is_retriable());

        let invalid = RequestAttemptError::DbError(DbError::Invalid, "unconfigured table messages".into());
        let error = execution("read mailbox", ExecutionError::LastAttemptError(invalid));
        assert!(!error.is_retriable());
        assert!(error.to_string().contains("read mailbox"), "{error}");
        assert!(error.to_string().contains("unconfigured table messages"), "{error}");
    }
}
