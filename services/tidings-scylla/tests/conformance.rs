//! The store conformance suite, and what only this adapter has (migrations, TTL, split
//! batches), against a real CQL server: `TIDINGS_TEST_CQL` (`host:port`, default
//! `127.0.0.1:9042`); `infra/cassandra/start.sh` starts one. Without a server every test
//! fails, none is skipped.
//!
//! The suite's checks use fresh ids, so they share one keyspace per test run, created and
//! migrated by the first test that needs it. Keyspaces of runs older than an hour are
//! dropped then, so a long-lived test server doesn't fill up.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use scylla::client::session::Session;
use tidings_domain::message::{Mailbox, MessageBody, StoredMessage};
use tidings_domain::time::now_s;
use tidings_ports::conformance::unique_id;
use tidings_ports::{MailboxChange, MsgRange, Order, Store};
use tidings_scylla::{MIGRATIONS, MigrationError, ScyllaSettings, ScyllaStore, migrate, open_session};
use tokio::sync::OnceCell;

const TEST_KEYSPACE_PREFIX: &str = "tidings_test_";
const STALE_AFTER_S: u64 = 3_600;

fn cql_address() -> String {
    std::env::var("TIDINGS_TEST_CQL").unwrap_or_else(|_| "127.0.0.1:9042".to_owned())
}

fn settings(keyspace: &str) -> ScyllaSettings {
    ScyllaSettings { nodes: vec![cql_address()], keyspace: keyspace.to_owned(), ..ScyllaSettings::default() }
}

fn unix_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs()
}

/// `tidings_test_<unix seconds>_<random hex>`: unique, and its age can be read back.
fn fresh_keyspace_name() -> String {
    format!("{TEST_KEYSPACE_PREFIX}{}_{:x}", unix_s(), unique_id())
}

async fn session(keyspace: &str) -> Session {
    match open_session(&settings(keyspace)).await {
        Ok(session) => session,
        Err(error) => panic!("no CQL server at {}: run infra/cassandra/start.sh ({error})", cql_address()),
    }
}

/// Drops the keyspaces of test runs that started over an hour ago.
async fn drop_stale_test_keyspaces(session: &Session) {
    let rows = session
        .query_unpaged("SELECT keyspace_name FROM system_schema.keyspaces", ())
        .await
        .expect("list keyspaces")
        .into_rows_result()
        .expect("rows");
    let names: Vec<String> = rows.rows::<(String,)>().expect("typed rows").map(|row| row.expect("row").0).collect();
    for name in names {
        let Some(started_s) = name
            .strip_prefix(TEST_KEYSPACE_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|seconds| seconds.parse::<u64>().ok())
        else {
            continue;
        };
        if unix_s().saturating_sub(started_s) > STALE_AFTER_S {
            session.query_unpaged(format!("DROP KEYSPACE IF EXISTS {name}"), ()).await.expect("drop stale keyspace");
        }
    }
}

/// The keyspace of this test run, migrated.
async fn run_keyspace() -> &'static str {
    static KEYSPACE: OnceCell<String> = OnceCell::const_new();
    KEYSPACE
        .get_or_init(|| async {
            let keyspace = fresh_keyspace_name();
            let session = session(&keyspace).await;
            drop_stale_test_keyspaces(&session).await;
            migrate(&session, &keyspace, 1).await.expect("migrate the test keyspace");
            keyspace
        })
        .await
}

async fn fresh_store() -> Arc<ScyllaStore> {
    ScyllaStore::connect(&settings(run_keyspace().await)).await.expect("connect to the test keyspace")
}

tidings_ports::store_conformance_tests!(fresh_store());
tidings_ports::replay_store_conformance_tests!(fresh_store());
tidings_ports::operator_store_conformance_tests!(fresh_store());
tidings_ports::audit_store_conformance_tests!(fresh_store());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrating_twice_is_a_no_op_and_an_edited_migration_is_refused() {
    let keyspace = fresh_keyspace_name();
    let session = session(&keyspace).await;
    let all_versions: Vec<i32> = MIGRATIONS.iter().map(|migration| migration.version).collect();

    let first = migrate(&session, &keyspace, 1).await.expect("first migrate");
    assert_eq!((first.applied.clone(), first.already_applied.clone()), (all_versions.clone(), vec![]));
    let second = migrate(&session, &keyspace, 1).await.expect("second migrate");
    assert_eq!((second.applied, second.already_applied), (vec![], all_versions.clone()));
    let recorded = session
        .query_unpaged(format!("SELECT version FROM {keyspace}.schema_migrations"), ())
        .await
        .expect("read schema_migrations")
        .into_rows_result()
        .expect("rows")
        .rows_num();
    assert_eq!(recorded, all_versions.len());
    ScyllaStore::connect(&settings(&keyspace)).await.expect("the migrated keyspace has every table");

    session
        .query_unpaged(format!("UPDATE {keyspace}.schema_migrations SET checksum = 'edited' WHERE version = 1"), ())
        .await
        .expect("tamper with the record");
    let refused = migrate(&session, &keyspace, 1).await.expect_err("an edited migration must be refused");
    assert!(matches!(refused, MigrationError::Edited { .. }), "{refused}");
    assert!(!refused.is_retriable());

    let invalid = migrate(&session, "no-dashes", 1).await.expect_err("invalid keyspace name");
    assert!(matches!(invalid, MigrationError::InvalidKeyspace(_)), "{invalid}");

    session.query_unpaged(format!("DROP KEYSPACE {keyspace}"), ()).await.expect("drop the keyspace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_an_unmigrated_keyspace_fails_with_a_hint() {
    // Make sure the server is there, so the failure below is about the keyspace.
    drop(session(run_keyspace().await).await);
    let error = ScyllaStore::connect(&settings(&fresh_keyspace_name())).await.expect_err("no such keyspace");
    assert!(!error.is_retriable(), "{error}");
    assert!(error.to_string().contains("tidings schema migrate"), "{error}");
}

fn message(mailbox: Mailbox, msg_id: i64, content: String, expire_at_s: i64) -> StoredMessage {
    StoredMessage {
        mailbox,
        msg_id,
        create_time_us: msg_id,
        dedupe_key: format!("delivery-{msg_id}"),
        body: MessageBody { from_uid: 1, to_uid: mailbox.uid, content, expire_at_s, ..MessageBody::default() },
        recalls: None,
    }
}

async fn read_ids(store: &ScyllaStore, mailbox: Mailbox) -> Vec<i64> {
    let messages =
        store.read_mailbox(mailbox, MsgRange::default(), Order::Ascending, 10_000).await.expect("read_mailbox");
    messages.iter().map(|message| message.msg_id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiring_messages_vanish_by_ttl_and_keep_their_dedupe_key_and_head() {
    let store = fresh_store().await;
    let mailbox = Mailbox::new(unique_id(), unique_id());
    let now = now_s();
    let changes = vec![
        MailboxChange::Insert(message(mailbox, 100, "expired already".into(), now - 10)),
        MailboxChange::Insert(message(mailbox, 200, "expires soon".into(), now + 2)),
        MailboxChange::Insert(message(mailbox, 300, "never expires".into(), 0)),
    ];
    store.apply_mailbox_changes(&changes).await.expect("insert");
    let visible = read_ids(&store, mailbox).await;
    assert!(visible.ends_with(&[200, 300]), "right after the insert: {visible:?}");

    tokio::time::sleep(Duration::from_millis(3_500)).await;
    assert_eq!(read_ids(&store, mailbox).await, [300]);
    for msg_id in [100, 200] {
        let found = store.find_delivery(mailbox, &format!("delivery-{msg_id}")).await.expect("find_delivery");
        assert_eq!(found, Some(msg_id));
    }
    assert_eq!(store.mailbox_state(mailbox).await.expect("state").head, Some(300));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_insert_after_a_delete_of_the_same_id_in_one_call_is_kept() {
    let store = fresh_store().await;
    let mailbox = Mailbox::new(unique_id(), unique_id());
    let first = message(mailbox, 10, "first".into(), 0);
    store.apply_mailbox_changes(&[MailboxChange::Insert(first.clone())]).await.expect("insert");
    let again = StoredMessage { dedupe_key: "another-delivery".into(), ..first.clone() };
    let changes = [MailboxChange::Delete { mailbox, msg_id: 10 }, MailboxChange::Insert(again.clone())];
    store.apply_mailbox_changes(&changes).await.expect("delete then insert");
    let read = store.read_mailbox(mailbox, MsgRange::default(), Order::Ascending, 10).await.expect("read");
    assert_eq!(read, vec![again]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_too_heavy_for_one_batch_is_written_whole() {
    let store = fresh_store().await;
    let mailbox = Mailbox::new(unique_id(), unique_id());
    let other = Mailbox::new(mailbox.app_id, unique_id());
    // 96 messages of 64 KiB: 6 MiB for one mailbox, more than one batch carries.
    let heavy: Vec<MailboxChange> = (1..=96)
        .map(|i| MailboxChange::Insert(message(mailbox, 1_000 + i, format!("{i}{}", "x".repeat(65_536)), 0)))
        .chain([
            MailboxChange::Insert(message(other, 5, "light".into(), 0)),
            MailboxChange::MarkReadUpTo { mailbox, up_to: 1_050 },
            MailboxChange::HideBroadcast { mailbox, broadcast_id: 4 },
        ])
        .collect();
    store.apply_mailbox_changes(&heavy).await.expect("heavy insert");
    store.apply_mailbox_changes(&heavy).await.expect("heavy insert again");

    assert_eq!(read_ids(&store, mailbox).await, (1_001..=1_096).collect::<Vec<i64>>());
    let state = store.mailbox_state(mailbox).await.expect("state");
    assert_eq!((state.head, state.read_up_to, state.hidden_broadcasts), (Some(1_096), 1_050, BTreeSet::from([4])));
    assert_eq!(read_ids(&store, other).await, [5]);
}
