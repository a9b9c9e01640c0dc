//! From librdkafka's errors to the port's [`LogError`].

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tidings_ports::LogError;

/// Classifies an error of `what` (e.g. "append to topic x"). librdkafka already retries
/// what it can (reconnects, leader changes, the idempotent producer's resends), so an error
/// that reaches us is either the cluster staying unreachable, a request it will never
/// accept, or a client broken for good.
pub(crate) fn log_error(what: &str, error: &KafkaError) -> LogError {
    let message = format!("{what}: {error}");
    match error.rdkafka_error_code() {
        Some(code) if is_rejection(code) => LogError::Rejected(message),
        Some(RDKafkaErrorCode::Fatal | RDKafkaErrorCode::BadMessage | RDKafkaErrorCode::InvalidMessage) => {
            LogError::Corrupt(message)
        }
        _ => match error {
            KafkaError::ClientConfig(..) | KafkaError::ClientCreation(_) | KafkaError::AdminOpCreation(_) => {
                LogError::Rejected(message)
            }
            _ => LogError::Unavailable(message),
        },
    }
}

/// Errors the same request would get again.
fn is_rejection(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        code,
        InvalidArgument
            | InvalidTopic
            | MessageSizeTooLarge
            | InvalidMessageSize
            | MessageBatchTooLarge
            | InvalidRecord
            | InvalidRequiredAcks
            | InvalidPartitions
            | InvalidReplicationFactor
            | InvalidConfig
            | PolicyViolation
            | InvalidGroupId
            | UnsupportedVersion
            | UnsupportedForMessageFormat
            | TopicAuthorizationFailed
            | GroupAuthorizationFailed
            | ClusterAuthorizationFailed
    )
}

/// Errors of a commit refused because the group moved on (a rebalance took or is taking
/// this member's partitions): the new owner gets the records again, so such a commit is
/// ignored, as the contract allows.
pub(crate) fn is_stale_membership(error: &KafkaError) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        error.rdkafka_error_code(),
        Some(
            IllegalGeneration
                | UnknownMemberId
                | RebalanceInProgress
                | FencedInstanceId
                | StaleMemberEpoch
                | AssignmentLost
                | FencedMemberEpoch
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_retriable_and_oversized_records_are_not() {
        let timed_out = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert!(log_error("append", &timed_out).is_retriable());
        let too_large = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        assert!(matches!(log_error("append", &too_large), LogError::Rejected(_)));
    }

    #[test]
    fn generation_errors_mean_the_partitions_moved() {
        assert!(is_stale_membership(&KafkaError::ConsumerCommit(RDKafkaErrorCode::IllegalGeneration)));
        assert!(!is_stale_membership(&KafkaError::ConsumerCommit(RDKafkaErrorCode::AllBrokersDown)));
    }
}
