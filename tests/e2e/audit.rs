//! Operators and the audit trail, end to end: a broadcast driven through its lifecycle by
//! an operator's token and an app's token shows each step, with its actor, in `GET
//! /v1/apps/{app_id}/audit`; an event delivered twice adds nothing; `tidings operator add`
//! and `list` work on the deployment's store (on embedded engines only once the server is
//! stopped, which the command says).

use std::io::Write;
use std::process::{Output, Stdio};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tidings_domain::audit::Actor;
use tidings_domain::broadcast::LifecycleAction;
use tidings_domain::event::{BroadcastChange, BroadcastEvent, broadcast_log_key};
use tidings_embedded::EmbeddedEngines;
use tidings_events::EventCodec;
use tidings_http::CallerRole;
use tidings_kafka::{KafkaLog, KafkaSettings};
use tidings_ports::{EventLog, OutgoingRecord, Topics};

use crate::APP;
use crate::harness::{Mode, Server, eventually, kafka_bootstrap, visible_within};

/// `(action, actor kind, actor name, revision)` of each entry, newest first.
fn steps(audit: &Value) -> Vec<(String, String, String, i64)> {
    audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| {
            let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
            (
                text(&entry["action"]),
                text(&entry["actor"]["kind"]),
                text(&entry["actor"]["name"]),
                entry["revision"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn step(action: &str, kind: &str, name: &str, revision: i64) -> (String, String, String, i64) {
    (action.to_owned(), kind.to_owned(), name.to_owned(), revision)
}

/// Runs `tidings operator <args>` with `stdin` as its input.
fn operator_command(server: &Server, args: &[&str], stdin: &str) -> Output {
    let mut command = server.command(&[&["operator"], args].concat());
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write the password");
    child.wait_with_output().expect("run tidings operator")
}

/// Appends `records` to the deployment's log: to Kafka while it runs, or straight into the
/// embedded log of a stopped all-in-one.
async fn append_to_log(server: &Server, records: Vec<OutgoingRecord>) {
    match server.mode() {
        Mode::Distributed => {
            let settings = KafkaSettings { bootstrap_servers: kafka_bootstrap(), ..KafkaSettings::default() };
            let kafka = KafkaLog::connect(settings).await.expect("connect to Kafka");
            kafka.append(records).await.expect("append to Kafka");
        }
        Mode::Embedded => {
            let engines =
                EmbeddedEngines::open(&server.data_dir().join("engines"), 8).expect("open the stopped engines");
            engines.log.append(records).await.expect("append to the embedded log");
        }
    }
}

pub async fn the_audit_trail_names_each_step_and_its_actor_once(mut server: Server) {
    let alice =
        server.caller_with_token(CallerRole::Operator, server.token(CallerRole::Operator, APP, "alice", 3600, false));
    let app = server.app(APP); // sub "biz"
    let id = alice.create_broadcast(APP, json!({"content": "audited"})).await;
    let (status, _) = app
        .call(Method::PATCH, &format!("/v1/apps/{APP}/broadcasts/{id}"), Some(json!({"content": "audited, edited"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(alice.broadcast_action(APP, id, "prepublish").await.0, StatusCode::OK);
    assert_eq!(app.broadcast_action(APP, id, "publish").await.0, StatusCode::OK);
    assert_eq!(alice.broadcast_action(APP, id, "stop").await.0, StatusCode::OK);
    let (status, _) =
        app.call(Method::PUT, &format!("/v1/apps/{APP}/whitelist"), Some(json!({"uids": [41, 42]}))).await;
    assert_eq!(status, StatusCode::OK);

    let lifecycle = vec![
        step("stop", "operator", "alice", 5),
        step("publish", "app", "biz", 4),
        step("prepublish", "operator", "alice", 3),
        step("modified", "app", "biz", 2),
        step("created", "operator", "alice", 1),
    ];
    let (status, audit) = alice.get(&format!("/v1/apps/{APP}/audit?broadcast_id={id}")).await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    assert_eq!(steps(&audit), lifecycle);
    assert!(
        audit["entries"].as_array().unwrap().iter().all(|e| e["subject"] == "broadcast" && e["broadcast_id"] == id)
    );
    let (_, everything) = app.get(&format!("/v1/apps/{APP}/audit")).await;
    let whitelist = step("whitelist_replaced", "app", "biz", 1);
    assert_eq!(steps(&everything), [vec![whitelist.clone()], lifecycle.clone()].concat());
    let (_, latest) = app.get(&format!("/v1/apps/{APP}/audit?subject=whitelist&limit=1")).await;
    assert_eq!(steps(&latest), std::slice::from_ref(&whitelist));
    let (status, error) = app.get(&format!("/v1/apps/{APP}/audit?limit=0")).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("limit")));
    let (status, _) = server.user(APP, 41).at_api_of(CallerRole::App).get(&format!("/v1/apps/{APP}/audit")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The stop event once more, byte for byte as ingest wrote it (its time from the trail),
    // then a whitelist change to know the projector got past it.
    let stop_at = everything["entries"][1]["at_us"].as_i64().expect("at_us");
    let codec = EventCodec::new();
    let topic = Topics::with_prefix(server.setting("TIDINGS_TOPICS__PREFIX").unwrap_or("tidings")).broadcast;
    let record = |event: &BroadcastEvent| OutgoingRecord {
        topic: topic.clone(),
        key: broadcast_log_key(APP).into_bytes(),
        payload: codec.encode_broadcast(event),
    };
    let again = BroadcastEvent {
        app_id: APP,
        at_us: stop_at,
        change: BroadcastChange::Lifecycle { broadcast_id: id, revision: 5, action: LifecycleAction::Stop },
        actor: Some(Actor::Operator("alice".into())),
    };
    let marker = BroadcastEvent {
        app_id: APP,
        at_us: tidings_domain::time::now_us(),
        change: BroadcastChange::WhitelistReplaced { revision: 2, uids: vec![43] },
        actor: Some(Actor::App("marker".into())),
    };
    drop((alice, app));

    if server.mode() == Mode::Embedded {
        let refused = operator_command(&server, &["add", "--app", "7", "--name", "carol"], "carol-password\n");
        assert!(!refused.status.success());
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains("stop the server first"), "{stderr}");
        assert!(server.terminate().await, "a clean stop");
    }
    append_to_log(&server, vec![record(&again), record(&marker)]).await;
    let added = operator_command(&server, &["add", "--app", "7", "--name", "carol"], "carol-password\n");
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    assert!(String::from_utf8_lossy(&added.stdout).contains(r#"added operator "carol" of app 7"#));
    let twice = operator_command(&server, &["add", "--app", "7", "--name", "carol"], "carol-password\n");
    assert!(!twice.status.success() && String::from_utf8_lossy(&twice.stderr).contains("--reset"));
    let short = operator_command(&server, &["add", "--app", "7", "--name", "dave"], "short\n");
    assert!(String::from_utf8_lossy(&short.stderr).contains("password: must be at least 8 characters"));
    let listed = operator_command(&server, &["list", "--app", "7"], "");
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert_eq!(listed.lines().map(|line| line.split('\t').next().unwrap()).collect::<Vec<_>>(), ["carol"], "{listed}");
    if server.mode() == Mode::Embedded {
        server.start_again().await;
    }

    let app = server.app(APP);
    let trail = eventually("the marker is projected", visible_within(), || async {
        let (_, trail) = app.get(&format!("/v1/apps/{APP}/audit")).await;
        (trail["entries"][0]["actor"]["name"] == "marker").then_some(trail)
    })
    .await;
    let marker_step = step("whitelist_replaced", "app", "marker", 2);
    assert_eq!(steps(&trail), [vec![marker_step, whitelist], lifecycle].concat(), "the redelivered stop added nothing");
}
