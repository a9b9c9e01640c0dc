//! Accounts over the embedded store: adding, refusing, resetting, logging in.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tidings_accounts::{AccountError, Accounts, LoginError};
use tidings_embedded::EmbeddedStore;

fn accounts() -> (Accounts, TempDir) {
    let dir = TempDir::new().expect("temporary directory");
    let store: Arc<EmbeddedStore> = EmbeddedStore::open(dir.path()).expect("open the store");
    (Accounts::new(store), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_operator_logs_in_with_their_password_only() {
    let (accounts, _dir) = accounts();
    let alice = accounts.add(7, "alice", "s3cret-pass").await.expect("add");
    assert_eq!((alice.app_id, alice.name.as_str()), (7, "alice"));
    assert!(alice.password_hash.starts_with("$argon2id$"), "never the password itself");
    assert_eq!(accounts.authenticate(7, "alice", "s3cret-pass").await.expect("login"), alice);
    assert!(matches!(accounts.authenticate(7, "alice", "s3cret-pasS").await, Err(LoginError::InvalidCredentials)));
    assert!(matches!(accounts.authenticate(8, "alice", "s3cret-pass").await, Err(LoginError::InvalidCredentials)));
    assert!(matches!(accounts.authenticate(7, "bob", "s3cret-pass").await, Err(LoginError::InvalidCredentials)));
    assert_eq!(accounts.list(7).await.expect("list"), [alice]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_name_is_refused_and_a_reset_replaces_the_password() {
    let (accounts, _dir) = accounts();
    accounts.add(7, "alice", "first-password").await.expect("add");
    let again = accounts.add(7, "alice", "second-password").await.expect_err("exists");
    assert!(matches!(again, AccountError::Exists { app_id: 7, .. }), "{again}");
    assert!(accounts.authenticate(7, "alice", "first-password").await.is_ok(), "the refused add changed nothing");

    accounts.reset_password(7, "alice", "second-password").await.expect("reset");
    assert!(accounts.authenticate(7, "alice", "second-password").await.is_ok());
    assert!(matches!(accounts.authenticate(7, "alice", "first-password").await, Err(LoginError::InvalidCredentials)));
    let missing = accounts.reset_password(7, "bob", "whatever-pass").await.expect_err("no bob");
    assert!(matches!(missing, AccountError::NotFound { .. }), "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_names_and_passwords_name_their_field_and_write_nothing() {
    let (accounts, _dir) = accounts();
    for (name, password, field) in
        [("al ice", "long-enough", "name"), ("", "long-enough", "name"), ("bob", "short", "password")]
    {
        match accounts.add(7, name, password).await {
            Err(AccountError::Invalid(error)) => assert_eq!(error.field, field, "{name:?}"),
            other => panic!("{name:?}: {other:?}"),
        }
    }
    assert!(accounts.list(7).await.expect("list").is_empty());
}

/// An unknown name costs a hash verification like a wrong password does: its time is of
/// the same order, not the near-zero of a store miss.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_name_takes_as_long_as_a_wrong_password() {
    let (accounts, _dir) = accounts();
    accounts.add(7, "alice", "s3cret-pass").await.expect("add");
    // Warm up the dummy hash, made once per process.
    let _ = accounts.authenticate(7, "nobody", "whatever-pass").await;
    let timed = |name: &'static str| {
        let accounts = accounts.clone();
        async move {
            let started = Instant::now();
            for _ in 0..3 {
                assert!(accounts.authenticate(7, name, "wrong-password").await.is_err());
            }
            started.elapsed()
        }
    };
    let wrong_password = timed("alice").await;
    let unknown_name = timed("nobody").await;
    assert!(unknown_name > Duration::from_millis(5), "an unknown name was answered in {unknown_name:?}");
    let ratio = unknown_name.as_secs_f64() / wrong_password.as_secs_f64();
    assert!((0.2..5.0).contains(&ratio), "unknown name {unknown_name:?} vs wrong password {wrong_password:?}");
}
