//! The audit trail of an app's broadcasts and whitelist.

use serde::{Deserialize, Serialize};
use tidings_domain::BroadcastId;
use tidings_domain::audit as domain;
use tidings_domain::broadcast::LifecycleAction as DomainAction;
use utoipa::ToSchema;

/// Whether an actor is an operator or a business server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    /// An operator, named by the `sub` of their operator token.
    Operator,
    /// A business server, named by the `sub` of its app token.
    App,
}

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Actor {
    pub kind: ActorKind,
    pub name: String,
}

/// What an audit entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuditSubject {
    /// One broadcast, named by `broadcast_id`.
    Broadcast,
    /// The app's whitelist of pre-publication testers.
    Whitelist,
}

/// The change an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Created,
    Modified,
    #[serde(rename = "prepublish")]
    PrePublish,
    Publish,
    Stop,
    Recall,
    Delete,
    WhitelistReplaced,
}

impl From<domain::AuditAction> for AuditAction {
    fn from(action: domain::AuditAction) -> Self {
        match action {
            domain::AuditAction::Created => AuditAction::Created,
            domain::AuditAction::Modified => AuditAction::Modified,
            domain::AuditAction::Lifecycle(DomainAction::PrePublish) => AuditAction::PrePublish,
            domain::AuditAction::Lifecycle(DomainAction::Publish) => AuditAction::Publish,
            domain::AuditAction::Lifecycle(DomainAction::Stop) => AuditAction::Stop,
            domain::AuditAction::Lifecycle(DomainAction::Recall) => AuditAction::Recall,
            domain::AuditAction::Lifecycle(DomainAction::Delete) => AuditAction::Delete,
            domain::AuditAction::WhitelistReplaced => AuditAction::WhitelistReplaced,
        }
    }
}

/// One accepted change to the app's public mailbox, as the projection recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub subject: AuditSubject,
    /// Set when `subject` is `broadcast`.
    pub broadcast_id: Option<BroadcastId>,
    /// The revision of the broadcast (or of the whitelist) that the change created.
    pub revision: i32,
    pub action: AuditAction,
    /// Who asked for it; null for changes made before actors were recorded.
    pub actor: Option<Actor>,
    /// Unix microseconds at which ingest accepted the change.
    pub at_us: i64,
}

impl From<domain::AuditEntry> for AuditEntry {
    fn from(entry: domain::AuditEntry) -> Self {
        let (subject, broadcast_id) = match entry.subject {
            domain::AuditSubject::Broadcast(id) => (AuditSubject::Broadcast, Some(id)),
            domain::AuditSubject::Whitelist => (AuditSubject::Whitelist, None),
        };
        let actor = entry.actor.map(|actor| match actor {
            domain::Actor::Operator(name) => Actor { kind: ActorKind::Operator, name },
            domain::Actor::App(name) => Actor { kind: ActorKind::App, name },
        });
        Self { subject, broadcast_id, revision: entry.revision, action: entry.action.into(), actor, at_us: entry.at_us }
    }
}

/// Audit entries, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditList {
    pub entries: Vec<AuditEntry>,
}
