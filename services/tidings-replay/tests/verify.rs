//! `verify` on two embedded stores: equal projections pass, and each kind of difference is
//! found and named.

use std::sync::Arc;

use tempfile::TempDir;
use tidings_domain::audit::{Actor, AuditAction, AuditEntry, AuditSubject};
use tidings_domain::message::{Mailbox, MessageBody, StoredMessage};
use tidings_domain::public::PublicState;
use tidings_embedded::EmbeddedStore;
use tidings_ports::{AuditStore, MailboxChange, ReplayStore, Store};
use tidings_replay::verify::verify;

fn store() -> (Arc<EmbeddedStore>, TempDir) {
    let dir = TempDir::new().expect("temporary directory");
    (EmbeddedStore::open(dir.path()).expect("open"), dir)
}

fn message(mailbox: Mailbox, msg_id: i64, content: &str) -> StoredMessage {
    StoredMessage {
        mailbox,
        msg_id,
        create_time_us: msg_id,
        dedupe_key: format!("k:{msg_id}"),
        body: MessageBody { to_uid: mailbox.uid, content: content.into(), ..MessageBody::default() },
        recalls: None,
    }
}

/// The same projection in both stores: two mailboxes, a read mark, a deletion, an app.
async fn fill(store: &dyn Store) {
    let (first, second) = (Mailbox::new(1, 10), Mailbox::new(1, 11));
    let changes = [
        MailboxChange::Insert(message(first, 100, "a")),
        MailboxChange::Insert(message(first, 101, "b")),
        MailboxChange::Insert(message(second, 100, "c")),
        MailboxChange::MarkReadUpTo { mailbox: first, up_to: 100 },
        MailboxChange::Delete { mailbox: second, msg_id: 100 },
    ];
    store.apply_mailbox_changes(&changes).await.expect("apply");
    store.apply_public_change(1, None, &PublicState { last_seq: 2, ..PublicState::default() }).await.expect("apply");
}

async fn differences(live: &dyn ReplayStore, rebuilt: &dyn ReplayStore) -> Vec<String> {
    verify(live, rebuilt, 20, &|| ()).await.expect("verify").differences.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn equal_projections_have_no_difference_and_are_counted() {
    let ((live, _a), (rebuilt, _b)) = (store(), store());
    fill(live.as_ref()).await;
    fill(rebuilt.as_ref()).await;
    let report = verify(live.as_ref(), rebuilt.as_ref(), 20, &|| ()).await.expect("verify");
    assert_eq!((report.mailboxes, report.messages, report.deliveries, report.apps), (2, 2, 3, 1));
    assert!(report.differences.is_empty(), "{:?}", report.differences);
}

#[tokio::test]
async fn a_missing_row_an_extra_mailbox_and_a_public_state_are_named() {
    let ((live, _a), (rebuilt, _b)) = (store(), store());
    fill(live.as_ref()).await;
    fill(rebuilt.as_ref()).await;
    let (first, extra) = (Mailbox::new(1, 10), Mailbox::new(2, 99));
    // The rebuilt projection has a row 102 more, and a mailbox the live one never had; the
    // public states differ.
    rebuilt.apply_mailbox_changes(&[MailboxChange::Insert(message(first, 102, "new"))]).await.unwrap();
    rebuilt.apply_mailbox_changes(&[MailboxChange::Insert(message(extra, 5, "stray"))]).await.unwrap();
    rebuilt.apply_public_change(1, None, &PublicState { last_seq: 3, ..PublicState::default() }).await.unwrap();

    let found = differences(live.as_ref(), rebuilt.as_ref()).await;
    let has = |needle: &str| found.iter().any(|difference| difference.contains(needle));
    assert!(has("mailbox (app 1, uid 10): head: live Some(101), rebuilt Some(102)"), "{found:#?}");
    assert!(
        has("mailbox (app 1, uid 10): msg_ids after None: live has [] that rebuilt lacks, rebuilt has [102]"),
        "{found:#?}"
    );
    assert!(has("mailbox (app 1, uid 10): dedupe keys (2 live, 3 rebuilt)"), "{found:#?}");
    assert!(has("mailbox (app 2, uid 99): live absent, rebuilt present"), "{found:#?}");
    assert!(has("app 1: public state"), "{found:#?}");
}

#[tokio::test]
async fn a_row_that_differs_in_a_field_is_named_with_both_values() {
    let ((live, _a), (rebuilt, _b)) = (store(), store());
    let mailbox = Mailbox::new(3, 30);
    live.apply_mailbox_changes(&[MailboxChange::Insert(message(mailbox, 7, "live text"))]).await.unwrap();
    rebuilt.apply_mailbox_changes(&[MailboxChange::Insert(message(mailbox, 7, "rebuilt text"))]).await.unwrap();
    let found = differences(live.as_ref(), rebuilt.as_ref()).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].starts_with("mailbox (app 3, uid 30): message 7: live StoredMessage"), "{found:#?}");
    assert!(found[0].contains("live text") && found[0].contains("rebuilt text"), "{found:#?}");
}

#[tokio::test]
async fn an_audit_entry_that_differs_or_is_missing_is_named() {
    let ((live, _a), (rebuilt, _b)) = (store(), store());
    fill(live.as_ref()).await;
    fill(rebuilt.as_ref()).await;
    let entry = |revision, actor: &str| AuditEntry {
        app_id: 1,
        subject: AuditSubject::Broadcast(5),
        revision,
        action: AuditAction::Modified,
        actor: Some(Actor::Operator(actor.into())),
        at_us: 100 + i64::from(revision),
    };
    for store in [&live, &rebuilt] {
        store.record_audit(&entry(1, "alice")).await.unwrap();
    }
    assert!(differences(live.as_ref(), rebuilt.as_ref()).await.is_empty(), "equal trails");

    live.record_audit(&entry(2, "alice")).await.unwrap();
    rebuilt.record_audit(&entry(2, "mallory")).await.unwrap();
    let found = differences(live.as_ref(), rebuilt.as_ref()).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].starts_with("app 1: audit entry 0 (newest first)"), "{found:#?}");
    assert!(found[0].contains("alice") && found[0].contains("mallory"), "{found:#?}");

    // The same key rewritten: the trails agree again, then the live one has an older entry
    // more.
    rebuilt.record_audit(&entry(2, "alice")).await.unwrap();
    live.record_audit(&entry(0, "alice")).await.unwrap();
    let found = differences(live.as_ref(), rebuilt.as_ref()).await;
    assert!(found.iter().any(|d| d.starts_with("app 1: audit entries: live 3, rebuilt 2")), "{found:#?}");
}
