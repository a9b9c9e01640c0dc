//! Recovery by replay, end to end: a deployment filled through its API is rebuilt from its
//! event log by `tidings replay` into a target of its own (a data directory on embedded
//! engines, a keyspace on Kafka + Cassandra), with a rebuild killed halfway and resumed,
//! and `verify` finds the two projections equal, then names a row corrupted on purpose.

use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tidings_domain::message::Mailbox;
use tidings_ports::{MailboxChange, Store};

use crate::harness::{Mode, Server, eventually, visible_within};
use crate::{APP, unicast, wait_for_messages};

/// Users the deployment is filled for.
const USERS: std::ops::RangeInclusive<i64> = 201..=212;
/// Batch sends to all of them: enough records that a rebuild of one batch at a time is
/// still running when it is killed.
const BATCHES: usize = 12;

fn run(output: std::io::Result<Output>, what: &str) -> (bool, String, String) {
    let output = output.unwrap_or_else(|error| panic!("run {what}: {error}"));
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

/// Runs `tidings <args>` against the deployment and expects it to succeed.
fn tidings_ok(server: &Server, args: &[&str]) -> String {
    let (ok, stdout, stderr) = run(server.command(args).output(), &args.join(" "));
    assert!(ok, "tidings {args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

/// The events a plan still has to read: the number in its `total` line.
fn planned_events(plan: &str) -> u64 {
    let total = plan.lines().find(|line| line.starts_with("total")).unwrap_or_else(|| panic!("no total in {plan}"));
    total.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("bad total {total}"))
}

/// Private messages (batches, a chat, a msgkey sent twice), two broadcasts through their
/// lifecycle, read marks, deletions and a hidden broadcast.
async fn fill(server: &Server) {
    let app = server.app(APP);
    let uids: Vec<i64> = USERS.collect();
    for batch in 0..BATCHES {
        app.send(APP, json!({"mode": "batch", "from_uid": 1, "to_uids": uids, "content": format!("batch {batch}")}))
            .await;
    }
    let chat = json!({"mode": "private", "from_uid": 201, "to_uids": [202], "content": "hi 202", "msgkey": "chat-1"});
    app.send(APP, chat.clone()).await;
    app.send(APP, chat).await;
    app.send(APP, unicast(203, "to be deleted")).await;
    // A recalled batch leaves a delete command in each mailbox, stamped in log order.
    let recalled_batch = app
        .send(APP, json!({"mode": "batch", "from_uid": 1, "to_uids": [205, 206], "content": "recalled batch"}))
        .await;
    let request_id = recalled_batch["request_id"].as_str().expect("a request_id");
    let (status, _) = app.post(&format!("/v1/apps/{APP}/messages/{request_id}/recall"), json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) =
        app.call(Method::PUT, &format!("/v1/apps/{APP}/users/205/attributes"), Some(json!({"nickname": "Eve"}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let operator = server.operator(APP);
    let kept = operator.create_broadcast(APP, json!({"content": "kept"})).await;
    operator.broadcast_action(APP, kept, "publish").await;
    let (status, _) = operator
        .call(Method::PATCH, &format!("/v1/apps/{APP}/broadcasts/{kept}"), Some(json!({"content": "kept, modified"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let stopped = operator.create_broadcast(APP, json!({"content": "stopped"})).await;
    operator.broadcast_action(APP, stopped, "publish").await;
    operator.broadcast_action(APP, stopped, "stop").await;
    // A recall takes a public position of its own: the rebuild must give it the same one.
    let recalled = operator.create_broadcast(APP, json!({"content": "recalled"})).await;
    operator.broadcast_action(APP, recalled, "publish").await;
    operator.broadcast_action(APP, recalled, "recall").await;

    let expected = BATCHES + 1 + 1; // the batches, "to be deleted", the kept broadcast
    let messages = wait_for_messages(server, 203, expected).await;
    let user = server.user(APP, 203);
    let deleted = messages.iter().find(|m| m["content"] == "to be deleted").expect("the message")["msg_id"].clone();
    let broadcast = messages.iter().find(|m| m["source"] == "public").expect("the broadcast")["msg_id"].clone();
    for msg_id in [&deleted, &broadcast] {
        let (status, _) = user.call(Method::DELETE, &format!("/v1/mailbox/messages/{msg_id}"), None).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let reader = server.user(APP, 204);
    let fourth = wait_for_messages(server, 204, BATCHES + 1).await[3]["msg_id"].clone();
    let (status, _) = reader.post("/v1/mailbox/read", json!({"up_to": fourth})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    eventually("deletions, read marks and attributes projected", visible_within(), || async {
        let (left, _) = user.sync_all("").await;
        let (read, _) = reader.sync_all("").await;
        let (_, attributes) = app.get(&format!("/v1/apps/{APP}/users/205/attributes")).await;
        let marked = read.iter().filter(|m| m["is_read"] == true).count() == 4;
        (left.len() == BATCHES && marked && attributes == json!({"nickname": "Eve"})).then_some(())
    })
    .await;
}

/// Starts a rebuild of one record per batch and SIGKILLs it once its first partition is
/// done, while others are not.
fn kill_a_rebuild_halfway(server: &Server, target: &str) {
    let mut rebuild = server
        .command(&["replay", "rebuild", target, "--batch-size", "1", "--parallel", "1"])
        .env("RUST_LOG", "tidings_replay=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a rebuild");
    let stderr = BufReader::new(rebuild.stderr.take().expect("stderr"));
    let mut heard = Vec::new();
    for line in stderr.lines() {
        let line = line.expect("a line of stderr");
        let done = line.contains("partition rebuilt");
        heard.push(line);
        if done {
            break;
        }
    }
    rebuild.kill().expect("kill -9 the rebuild");
    rebuild.wait().expect("reap it");
    assert!(heard.last().is_some_and(|line| line.contains("partition rebuilt")), "{heard:?}");
}

/// Runs `verify` until both projections stand at the same log positions (the live
/// projectors commit a moment after their writes), then returns its outcome.
async fn verify(server: &Server, target: &str) -> (bool, String, String) {
    let deadline = Instant::now() + visible_within();
    loop {
        let (ok, stdout, stderr) = run(server.command(&["replay", "verify", target]).output(), "verify");
        if !stderr.contains("different log positions") || Instant::now() > deadline {
            return (ok, stdout, stderr);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The live store, opened next to the (stopped, if embedded) servers.
async fn live_store(server: &Server) -> Arc<dyn Store> {
    match server.mode() {
        Mode::Embedded => tidings_embedded::EmbeddedStore::open(&server.data_dir().join("engines")).expect("open"),
        Mode::Distributed => {
            let settings = tidings_scylla::ScyllaSettings {
                nodes: vec![std::env::var("TIDINGS_TEST_CQL").unwrap_or_else(|_| "127.0.0.1:9042".into())],
                keyspace: server.setting("TIDINGS_STORE__KEYSPACE").expect("a keyspace").to_owned(),
                ..Default::default()
            };
            tidings_scylla::ScyllaStore::connect(&settings).await.expect("connect to the live keyspace")
        }
    }
}

pub async fn a_projection_rebuilt_from_the_log_verifies_equal_and_a_corrupted_row_is_named(mut server: Server) {
    fill(&server).await;
    let target = match server.mode() {
        // Embedded engines are rebuilt while the server is stopped: fjall locks the directory.
        Mode::Embedded => {
            assert!(server.terminate().await, "the server stopped cleanly");
            server.data_dir().with_file_name("rebuilt").display().to_string()
        }
        Mode::Distributed => format!("{}_rebuilt", server.setting("TIDINGS_STORE__KEYSPACE").expect("a keyspace")),
    };

    let plan = tidings_ok(&server, &["replay", "plan"]);
    let events = planned_events(&plan);
    assert!(events > (BATCHES * USERS.count()) as u64, "{plan}");

    kill_a_rebuild_halfway(&server, &target);
    let resumed = tidings_ok(&server, &["replay", "plan", "--target", &target]);
    let left = planned_events(&resumed);
    assert!(resumed.contains("(resumed)") && left > 0 && left < events, "after the kill, of {events}:\n{resumed}");

    let rebuilt = tidings_ok(&server, &["replay", "rebuild", &target]);
    // The chat sent twice with one msgkey: two deliveries per mailbox in the log, one kept.
    assert!(rebuilt.contains("up to the log's end") && !rebuilt.contains(" 0 duplicates"), "{rebuilt}");
    let (ok, stdout, stderr) = verify(&server, &target).await;
    assert!(ok && stdout.contains("equals the live projection"), "{stdout}\n{stderr}");

    let corrupted = Mailbox::new(APP, 205);
    let store = live_store(&server).await;
    store.apply_mailbox_changes(&[MailboxChange::MarkReadUpTo { mailbox: corrupted, up_to: i64::MAX }]).await.unwrap();
    drop(store);
    let (ok, stdout, stderr) = verify(&server, &target).await;
    assert!(!ok, "verify missed the corruption: {stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("DIFFERENT mailbox (app {APP}, uid 205): read mark: live {}", i64::MAX)),
        "{stdout}"
    );

    reset_offsets(&mut server).await;
}

/// `reset-offsets`: a dry run prints the moves, a live group is refused, a stopped one moves.
async fn reset_offsets(server: &mut Server) {
    let group = "tidings-projector-copy";
    if server.mode() == Mode::Distributed {
        let group = server.setting("TIDINGS_PROJECTOR__GROUP").expect("the projectors' group").to_owned();
        let dry = tidings_ok(server, &["replay", "reset-offsets", "--group", &group, "--to", "earliest"]);
        assert!(dry.contains("dry run: nothing moved") && dry.contains(" -> 0"), "{dry}");
        let (ok, _, stderr) = run(
            server.command(&["replay", "reset-offsets", "--group", &group, "--to", "earliest", "--execute"]).output(),
            "reset",
        );
        assert!(!ok && stderr.contains("live member"), "{stderr}");
        let to_time =
            tidings_ok(server, &["replay", "reset-offsets", "--group", &group, "--to", "2000-01-01T00:00:00Z"]);
        assert!(to_time.contains(" -> 0"), "{to_time}");
    } else {
        let (ok, _, stderr) = run(
            server.command(&["replay", "reset-offsets", "--group", group, "--to", "2000-01-01T00:00:00Z"]).output(),
            "reset",
        );
        assert!(!ok && stderr.contains("keeps no append times"), "{stderr}");
    }
    let moved = tidings_ok(server, &["replay", "reset-offsets", "--group", group, "--to", "latest", "--execute"]);
    assert!(moved.contains(&format!("moved group {group}")), "{moved}");
    let after = tidings_ok(server, &["replay", "reset-offsets", "--group", group, "--to", "latest"]);
    assert!(
        after.lines().filter(|line| line.contains(" -> ")).all(|line| {
            let (current, target) = line.rsplit_once(": ").expect("a move").1.split_once(" -> ").expect("a move");
            current == target
        }),
        "a moved group stands where it was moved: {after}"
    );
}
