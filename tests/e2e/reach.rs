//! Reach statistics end to end: users who sync a published broadcast count as delivered,
//! by platform, once the pull workers flush (`TIDINGS_PULLER__REACH_FLUSH_INTERVAL_MS`, short
//! here); read marks count as read; pulling and reading again raise nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::APP;
use crate::harness::{Caller, Server, eventually, visible_within};

/// Syncs from the beginning until the broadcast is among the messages; its `msg_id`.
async fn sync_until_seen(user: &Caller<'_>, content: &str) -> i64 {
    eventually(&format!("the broadcast {content:?} reaches a user"), visible_within(), || async {
        let (messages, _) = user.sync_all("").await;
        messages.iter().find(|m| m["content"] == content).and_then(|m| m["msg_id"].as_i64())
    })
    .await
}

/// The broadcast's reach, once `done` holds for it.
async fn reach_when(server: &Server, id: i64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let operator = server.operator(APP);
    eventually(what, visible_within(), || async {
        let (status, broadcast) = operator.get(&format!("/v1/apps/{APP}/broadcasts/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{broadcast}");
        let reach = broadcast["reach"].clone();
        done(&reach).then_some(reach)
    })
    .await
}

pub(crate) async fn reach_counts_each_user_once_by_platform_and_read_marks_count_reads(server: Server) {
    let operator = server.operator(APP);
    let id = operator.create_broadcast(APP, json!({"content": "reach me"})).await;
    let (status, _) = operator.broadcast_action(APP, id, "publish").await;
    assert_eq!(status, StatusCode::OK);
    let (status, draft_view) = operator.get(&format!("/v1/apps/{APP}/broadcasts/{id}")).await;
    assert_eq!((status, &draft_view["reach"]["delivered"]["total"]), (StatusCode::OK, &json!(0)), "{draft_view}");

    let platforms = [Some("ios"), Some("ios"), Some("iOS"), Some("android"), None];
    let users: Vec<Caller<'_>> = platforms
        .iter()
        .zip(301..)
        .map(|(platform, uid)| match platform {
            Some(platform) => server.user(APP, uid).header("platform", platform),
            None => server.user(APP, uid),
        })
        .collect();
    let mut msg_id = 0;
    for user in &users {
        msg_id = sync_until_seen(user, "reach me").await;
    }
    let reach = reach_when(&server, id, "five users delivered", |reach| reach["delivered"]["total"] == 5).await;
    assert_eq!(reach["delivered"]["by_platform"], json!({"ios": 3, "android": 1, "unknown": 1}), "{reach}");
    let hours = reach["delivered"]["by_hour"].as_array().expect("by_hour");
    assert!(!hours.is_empty() && hours.len() <= 2, "{reach}");
    assert_eq!(hours.last().unwrap()["cumulative"], 5, "{reach}");
    assert_eq!(reach["read"]["total"], 0, "{reach}");

    for user in &users[..2] {
        let (status, _) = user.post("/v1/mailbox/read", json!({"up_to": msg_id})).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    // A mark below the broadcast reads nothing of it.
    let (status, _) = users[3].post("/v1/mailbox/read", json!({"up_to": msg_id - 1})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let reach = reach_when(&server, id, "two users read", |reach| reach["read"]["total"] == 2).await;
    assert_eq!(reach["read"]["by_platform"], json!({"ios": 2}), "{reach}");

    // Everyone pulls again and the readers read again; then a new user syncs. The new
    // user's count travels on the same key (so the same partition) after the repeats: once
    // it shows, the repeats have been folded too, and must have changed nothing.
    for user in &users {
        user.sync_all("").await;
    }
    for user in &users[..2] {
        user.post("/v1/mailbox/read", json!({"up_to": msg_id + 1})).await;
    }
    let newcomer = server.user(APP, 399).header("platform", "web");
    sync_until_seen(&newcomer, "reach me").await;
    let reach = reach_when(&server, id, "the newcomer delivered", |reach| reach["delivered"]["total"] != 5).await;
    assert_eq!(reach["delivered"]["total"], 6, "repeats raise nothing: {reach}");
    assert_eq!(reach["delivered"]["by_platform"], json!({"ios": 3, "android": 1, "unknown": 1, "web": 1}));
    assert_eq!(reach["read"]["total"], 2, "{reach}");

    assert!(server.metric("tidings_puller_reach_flushes_total").await >= 2.0, "flushes are counted");
}
