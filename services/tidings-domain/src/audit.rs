//! The audit trail: who made each change to an app's public mailbox, and when. The actor
//! travels inside every [`BroadcastEvent`], so the trail is a projection of the log like
//! every other table (docs/design.md#recovery-is-replay).

use std::fmt;

use crate::broadcast::LifecycleAction;
use crate::event::{BroadcastChange, BroadcastEvent};
use crate::{AppId, BroadcastId, FieldError};

/// Who asked for a change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Actor {
    /// An operator, by their account name (an operator token's `sub`).
    Operator(String),
    /// A business server, by its app token's `sub`.
    App(String),
}

impl Actor {
    /// `operator` or `app`.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Operator(_) => "operator",
            Actor::App(_) => "app",
        }
    }

    /// The operator's name or the app token's subject.
    pub fn name(&self) -> &str {
        match self {
            Actor::Operator(name) | Actor::App(name) => name,
        }
    }

    /// The text form used on the wire and in stores: `<kind>:<name>`.
    pub fn to_text(&self) -> String {
        format!("{}:{}", self.kind(), self.name())
    }

    /// Parses [`Actor::to_text`]'s form; the error names the field `actor`.
    pub fn from_text(text: &str) -> Result<Self, FieldError> {
        match text.split_once(':') {
            Some(("operator", name)) => Ok(Actor::Operator(name.to_owned())),
            Some(("app", name)) => Ok(Actor::App(name.to_owned())),
            _ => Err(FieldError::new("actor", format!("{text:?} is not operator:<name> or app:<subject>"))),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// What an audit entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuditSubject {
    Broadcast(BroadcastId),
    /// The app's whitelist of pre-publication testers.
    Whitelist,
}

impl AuditSubject {
    /// `broadcast:<id>` or `whitelist`: the text stores key entries by.
    pub fn to_text(&self) -> String {
        match self {
            AuditSubject::Broadcast(id) => format!("broadcast:{id}"),
            AuditSubject::Whitelist => "whitelist".to_owned(),
        }
    }

    pub fn from_text(text: &str) -> Option<Self> {
        match text {
            "whitelist" => Some(AuditSubject::Whitelist),
            _ => text.strip_prefix("broadcast:")?.parse().ok().map(AuditSubject::Broadcast),
        }
    }
}

/// The kind of change an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    Created,
    Modified,
    Lifecycle(LifecycleAction),
    WhitelistReplaced,
}

impl AuditAction {
    /// `created`, `modified`, a lifecycle action's name (`publish`, …) or
    /// `whitelist_replaced`.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuditAction::Created => "created",
            AuditAction::Modified => "modified",
            AuditAction::Lifecycle(action) => action.as_str(),
            AuditAction::WhitelistReplaced => "whitelist_replaced",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "created" => Some(AuditAction::Created),
            "modified" => Some(AuditAction::Modified),
            "whitelist_replaced" => Some(AuditAction::WhitelistReplaced),
            other => LifecycleAction::ALL.into_iter().find(|a| a.as_str() == other).map(AuditAction::Lifecycle),
        }
    }
}

/// One accepted change: identified by `(app_id, subject, revision)`, the revision the
/// change created (a new draft is revision 1), so projecting the same event again finds
/// the same entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub app_id: AppId,
    pub subject: AuditSubject,
    pub revision: i32,
    pub action: AuditAction,
    /// `None` for events written before the actor was recorded (broadcast_event v1).
    pub actor: Option<Actor>,
    /// Unix microseconds at which ingest accepted the change.
    pub at_us: i64,
}

impl AuditEntry {
    /// The entry for `event`, as the projector records it once the event is applied.
    pub fn of(event: &BroadcastEvent) -> Self {
        let (subject, revision, action) = match &event.change {
            BroadcastChange::Created { broadcast_id, .. } => {
                (AuditSubject::Broadcast(*broadcast_id), crate::broadcast::FIRST_REVISION, AuditAction::Created)
            }
            BroadcastChange::Modified { broadcast_id, revision, .. } => {
                (AuditSubject::Broadcast(*broadcast_id), *revision, AuditAction::Modified)
            }
            BroadcastChange::Lifecycle { broadcast_id, revision, action } => {
                (AuditSubject::Broadcast(*broadcast_id), *revision, AuditAction::Lifecycle(*action))
            }
            BroadcastChange::WhitelistReplaced { revision, .. } => {
                (AuditSubject::Whitelist, *revision, AuditAction::WhitelistReplaced)
            }
        };
        Self { app_id: event.app_id, subject, revision, action, actor: event.actor.clone(), at_us: event.at_us }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_round_trip_and_bad_ones_name_the_field() {
        for actor in [Actor::Operator("alice".into()), Actor::App("billing:svc".into()), Actor::App(String::new())] {
            assert_eq!(Actor::from_text(&actor.to_text()).unwrap(), actor);
        }
        assert_eq!(Actor::from_text("root").unwrap_err().field, "actor");
        assert_eq!(Actor::from_text("user:5").unwrap_err().field, "actor");
        for subject in [AuditSubject::Broadcast(-3), AuditSubject::Broadcast(i64::MAX), AuditSubject::Whitelist] {
            assert_eq!(AuditSubject::from_text(&subject.to_text()), Some(subject));
        }
        assert_eq!(AuditSubject::from_text("broadcast:x"), None);
        let actions = [AuditAction::Created, AuditAction::Modified, AuditAction::WhitelistReplaced]
            .into_iter()
            .chain(LifecycleAction::ALL.map(AuditAction::Lifecycle));
        for action in actions {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(AuditAction::parse("launched"), None);
    }

    #[test]
    fn an_entry_names_the_revision_its_event_creates() {
        let event = |change| BroadcastEvent { app_id: 3, at_us: 9, change, actor: Some(Actor::App("srv".into())) };
        let created = AuditEntry::of(&event(BroadcastChange::Created { broadcast_id: 5, content: Default::default() }));
        assert_eq!(
            (created.subject, created.revision, created.action),
            (AuditSubject::Broadcast(5), 1, AuditAction::Created)
        );
        let whitelist = AuditEntry::of(&event(BroadcastChange::WhitelistReplaced { revision: 4, uids: vec![1] }));
        assert_eq!((whitelist.subject, whitelist.revision), (AuditSubject::Whitelist, 4));
        assert_eq!(whitelist.actor, Some(Actor::App("srv".into())));
        assert_eq!(whitelist.at_us, 9);
    }
}
