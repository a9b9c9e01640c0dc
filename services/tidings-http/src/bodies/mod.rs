//! The JSON bodies of the v1 API and their OpenAPI schemas: the HTTP contract's own types.
//!
//! Handlers convert them from and to the domain's types and the services' commands at the
//! edge, so the contract changes only here: renaming a field of the domain or of a stored
//! record can't change what clients read or write. Doc comments are the schemas'
//! descriptions in `/openapi.json`. Enums are spelled as the domain spells them
//! (`as_str`), which a test checks.

mod audit;
mod broadcasts;
mod mailbox;
mod messages;
mod reach;

pub use audit::{Actor, ActorKind, AuditAction, AuditEntry, AuditList, AuditSubject};
pub use broadcasts::{
    Audience, Broadcast, BroadcastContent, BroadcastDraftRequest, BroadcastList, BroadcastPatchRequest, BroadcastState,
    ContentFormat, LifecycleAction, Platform, WhitelistBody,
};
pub use mailbox::{Accepted, CommandKind, HistoryResponse, MailboxEntry, ReadRequest, Source, SyncResponse};
pub use messages::{AttributesBody, RecallAccepted, RecallByMsgkeyRequest, SendAccepted, SendMode, SendRequest};
pub use reach::{Reach, ReachCounts, ReachHour};

/// Converts between a wire enum and the domain's, variant by variant, both ways.
macro_rules! mirror_enum {
    ($wire:ident <=> $domain:ty { $($variant:ident),+ $(,)? }) => {
        impl From<$domain> for $wire {
            fn from(value: $domain) -> Self {
                match value {
                    $(<$domain>::$variant => $wire::$variant,)+
                }
            }
        }

        impl From<$wire> for $domain {
            fn from(value: $wire) -> Self {
                match value {
                    $($wire::$variant => <$domain>::$variant,)+
                }
            }
        }
    };
}
pub(crate) use mirror_enum;

#[cfg(test)]
mod tests {
    use tidings_domain::audit::AuditAction as DomainAudit;
    use tidings_domain::broadcast::BroadcastState as DomainState;
    use tidings_domain::client::Platform as DomainPlatform;
    use tidings_domain::message::SendMode as DomainMode;

    use super::*;

    fn spelled(value: impl serde::Serialize) -> String {
        serde_json::to_value(value).unwrap().as_str().unwrap().to_owned()
    }

    #[test]
    fn wire_enums_are_spelled_as_the_domain_spells_them() {
        for platform in DomainPlatform::ALL {
            assert_eq!(spelled(Platform::from(platform)), platform.as_str());
        }
        use DomainState::*;
        for state in [Draft, PrePublished, Published, Stopped, Recalled, Deleted] {
            assert_eq!(spelled(BroadcastState::from(state)), state.as_str());
        }
        for mode in [DomainMode::Unicast, DomainMode::Batch, DomainMode::Private] {
            assert_eq!(spelled(SendMode::from(mode)), mode.as_str());
        }
        let actions = [DomainAudit::Created, DomainAudit::Modified, DomainAudit::WhitelistReplaced]
            .into_iter()
            .chain(tidings_domain::broadcast::LifecycleAction::ALL.map(DomainAudit::Lifecycle));
        for action in actions {
            assert_eq!(spelled(AuditAction::from(action)), action.as_str());
        }
    }
}
