//! Records of operators' accounts (`store_operators`) and of the audit trail
//! (`store_audit`).

use serde::{Deserialize, Serialize};
use tidings_domain::audit::{Actor, AuditAction, AuditEntry, AuditSubject};
use tidings_domain::broadcast::LifecycleAction;
use tidings_domain::{AppId, BroadcastId};
use tidings_ports::Operator;

use super::Stored;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OperatorRecord {
    app_id: AppId,
    name: String,
    password_hash: String,
    created_at_us: i64,
}

impl Stored for Operator {
    type Record = OperatorRecord;
    const WHAT: &'static str = "operator";
}

impl From<&Operator> for OperatorRecord {
    fn from(operator: &Operator) -> Self {
        Self {
            app_id: operator.app_id,
            name: operator.name.clone(),
            password_hash: operator.password_hash.clone(),
            created_at_us: operator.created_at_us,
        }
    }
}

impl From<OperatorRecord> for Operator {
    fn from(record: OperatorRecord) -> Self {
        Self {
            app_id: record.app_id,
            name: record.name,
            password_hash: record.password_hash,
            created_at_us: record.created_at_us,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AuditRecord {
    app_id: AppId,
    subject: SubjectRecord,
    revision: i32,
    action: ActionRecord,
    actor: Option<ActorRecord>,
    at_us: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum SubjectRecord {
    Broadcast { broadcast_id: BroadcastId },
    Whitelist,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ActionRecord {
    Created,
    Modified,
    PrePublish,
    Publish,
    Stop,
    Recall,
    Delete,
    WhitelistReplaced,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
enum ActorRecord {
    Operator(String),
    App(String),
}

impl Stored for AuditEntry {
    type Record = AuditRecord;
    const WHAT: &'static str = "audit entry";
}

impl From<&AuditEntry> for AuditRecord {
    fn from(entry: &AuditEntry) -> Self {
        let subject = match entry.subject {
            AuditSubject::Broadcast(broadcast_id) => SubjectRecord::Broadcast { broadcast_id },
            AuditSubject::Whitelist => SubjectRecord::Whitelist,
        };
        let action = match entry.action {
            AuditAction::Created => ActionRecord::Created,
            AuditAction::Modified => ActionRecord::Modified,
            AuditAction::Lifecycle(LifecycleAction::PrePublish) => ActionRecord::PrePublish,
            AuditAction::Lifecycle(LifecycleAction::Publish) => ActionRecord::Publish,
            AuditAction::Lifecycle(LifecycleAction::Stop) => ActionRecord::Stop,
            AuditAction::Lifecycle(LifecycleAction::Recall) => ActionRecord::Recall,
            AuditAction::Lifecycle(LifecycleAction::Delete) => ActionRecord::Delete,
            AuditAction::WhitelistReplaced => ActionRecord::WhitelistReplaced,
        };
        let actor = entry.actor.as_ref().map(|actor| match actor {
            Actor::Operator(name) => ActorRecord::Operator(name.clone()),
            Actor::App(name) => ActorRecord::App(name.clone()),
        });
        Self { app_id: entry.app_id, subject, revision: entry.revision, action, actor, at_us: entry.at_us }
    }
}

impl From<AuditRecord> for AuditEntry {
    fn from(record: AuditRecord) -> Self {
        let subject = match record.subject {
            SubjectRecord::Broadcast { broadcast_id } => AuditSubject::Broadcast(broadcast_id),
            SubjectRecord::Whitelist => AuditSubject::Whitelist,
        };
        let action = match record.action {
            ActionRecord::Created => AuditAction::Created,
            ActionRecord::Modified => AuditAction::Modified,
            ActionRecord::PrePublish => AuditAction::Lifecycle(LifecycleAction::PrePublish),
            ActionRecord::Publish => AuditAction::Lifecycle(LifecycleAction::Publish),
            ActionRecord::Stop => AuditAction::Lifecycle(LifecycleAction::Stop),
            ActionRecord::Recall => AuditAction::Lifecycle(LifecycleAction::Recall),
            ActionRecord::Delete => AuditAction::Lifecycle(LifecycleAction::Delete),
            ActionRecord::WhitelistReplaced => AuditAction::WhitelistReplaced,
        };
        let actor = record.actor.map(|actor| match actor {
            ActorRecord::Operator(name) => Actor::Operator(name),
            ActorRecord::App(name) => Actor::App(name),
        });
        Self { app_id: record.app_id, subject, revision: record.revision, action, actor, at_us: record.at_us }
    }
}

/// These guard the stored format: changing what they expect needs a new layout version and
/// a migration of the data already stored.
#[cfg(test)]
mod tests {
    use super::super::{decode, encode};
    use super::*;

    fn encoded(value: &impl Stored) -> String {
        String::from_utf8(encode(value).unwrap()).unwrap()
    }

    #[test]
    fn stored_operator_format_is_stable() {
        const STORED: &str = r#"{"app_id":7,"name":"alice","password_hash":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA","created_at_us":1700000000000001}"#;
        let operator = Operator {
            app_id: 7,
            name: "alice".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            created_at_us: 1_700_000_000_000_001,
        };
        assert_eq!(encoded(&operator), STORED);
        assert_eq!(decode::<Operator>(STORED.as_bytes()).unwrap(), operator);
    }

    #[test]
    fn stored_audit_entry_format_is_stable() {
        let published = AuditEntry {
            app_id: 7,
            subject: AuditSubject::Broadcast(5),
            revision: 3,
            action: AuditAction::Lifecycle(LifecycleAction::PrePublish),
            actor: Some(Actor::Operator("alice".into())),
            at_us: 1_700_000_000_000_002,
        };
        const PUBLISHED: &str = r#"{"app_id":7,"subject":{"kind":"broadcast","broadcast_id":5},"revision":3,"action":"pre_publish","actor":{"kind":"operator","name":"alice"},"at_us":1700000000000002}"#;
        let whitelist = AuditEntry {
            subject: AuditSubject::Whitelist,
            action: AuditAction::WhitelistReplaced,
            actor: Some(Actor::App("svc".into())),
            ..published.clone()
        };
        const WHITELIST: &str = r#"{"app_id":7,"subject":{"kind":"whitelist"},"revision":3,"action":"whitelist_replaced","actor":{"kind":"app","name":"svc"},"at_us":1700000000000002}"#;
        let anonymous = AuditEntry { action: AuditAction::Created, actor: None, ..published.clone() };
        const ANONYMOUS: &str = r#"{"app_id":7,"subject":{"kind":"broadcast","broadcast_id":5},"revision":3,"action":"created","actor":null,"at_us":1700000000000002}"#;
        for (entry, stored) in [(published, PUBLISHED), (whitelist, WHITELIST), (anonymous, ANONYMOUS)] {
            assert_eq!(encoded(&entry), stored);
            assert_eq!(decode::<AuditEntry>(stored.as_bytes()).unwrap(), entry);
        }
        assert!(decode::<AuditEntry>(PUBLISHED.replace("pre_publish", "launch").as_bytes()).is_err());
    }
}
