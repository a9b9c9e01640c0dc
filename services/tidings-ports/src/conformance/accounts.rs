//! Checks of the [`OperatorStore`] and [`AuditStore`] contracts.

use std::sync::Arc;

use tidings_domain::audit::{Actor, AuditAction, AuditEntry, AuditSubject};
use tidings_domain::broadcast::LifecycleAction;

use crate::accounts::{AuditStore, Operator, OperatorStore};
use crate::conformance::unique_id;

fn operator(app_id: i64, name: &str, hash: &str) -> Operator {
    Operator { app_id, name: name.to_owned(), password_hash: hash.to_owned(), created_at_us: 1_700_000_000_000_001 }
}

pub async fn operators_are_put_replaced_and_listed_by_name(store: Arc<dyn OperatorStore>) {
    let app_id = unique_id();
    assert_eq!(store.operator(app_id, "alice").await.expect("read"), None);
    assert!(store.list_operators(app_id).await.expect("list").is_empty());
    let bob = operator(app_id, "bob", "$argon2id$bob");
    let alice = operator(app_id, "alice", "$argon2id$first");
    store.put_operator(&bob).await.expect("put");
    store.put_operator(&alice).await.expect("put");
    store.put_operator(&operator(app_id + 1, "alice", "$argon2id$other-app")).await.expect("put");
    assert_eq!(store.operator(app_id, "alice").await.expect("read"), Some(alice.clone()));
    assert_eq!(store.operator(app_id, "Alice").await.expect("read"), None, "names are case-sensitive");

    let replaced = Operator { password_hash: "$argon2id$second".into(), created_at_us: 5, ..alice };
    store.put_operator(&replaced).await.expect("replace");
    assert_eq!(store.operator(app_id, "alice").await.expect("read"), Some(replaced.clone()));
    assert_eq!(store.list_operators(app_id).await.expect("list"), [replaced, bob]);
}

fn entry(app_id: i64, subject: AuditSubject, revision: i32, action: AuditAction, at_us: i64) -> AuditEntry {
    AuditEntry { app_id, subject, revision, action, actor: Some(Actor::Operator("alice".into())), at_us }
}

pub async fn audit_entries_are_idempotent_and_listed_newest_first(store: Arc<dyn AuditStore>) {
    let app_id = unique_id();
    let broadcast = AuditSubject::Broadcast(unique_id());
    let other = AuditSubject::Broadcast(unique_id());
    let created = entry(app_id, broadcast, 1, AuditAction::Created, 100);
    let whitelist = AuditEntry {
        actor: Some(Actor::App("billing".into())),
        ..entry(app_id, AuditSubject::Whitelist, 1, AuditAction::WhitelistReplaced, 150)
    };
    let other_created = AuditEntry { actor: None, ..entry(app_id, other, 1, AuditAction::Created, 160) };
    let published = entry(app_id, broadcast, 2, AuditAction::Lifecycle(LifecycleAction::Publish), 200);
    let elsewhere = entry(unique_id(), broadcast, 3, AuditAction::Modified, 300);
    for entry in [&created, &whitelist, &other_created, &published, &elsewhere, &published, &created] {
        store.record_audit(entry).await.expect("record");
    }
    let all = store.audit(app_id, None, 100).await.expect("audit");
    assert_eq!(all, [published.clone(), other_created, whitelist.clone(), created.clone()], "once each, newest first");
    assert_eq!(store.audit(app_id, None, 2).await.expect("audit").len(), 2);
    assert_eq!(store.audit(app_id, Some(broadcast), 100).await.expect("audit"), [published.clone(), created]);
    assert_eq!(store.audit(app_id, Some(broadcast), 1).await.expect("audit"), [published]);
    assert_eq!(store.audit(app_id, Some(AuditSubject::Whitelist), 100).await.expect("audit"), [whitelist]);
    assert!(store.audit(unique_id(), None, 100).await.expect("audit").is_empty());
}
