//! Recall that reaches the devices: the users who synced a broadcast get one delete command
//! in their sync stream when it is recalled, online or offline; the others nothing, and
//! history no longer shows it (docs/design.md#recall).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::APP;
use crate::harness::{Caller, Server, contents, eventually, visible_within};

/// Syncs from `cursor` until something arrives: the messages and the cursor after them.
async fn sync_until_some(user: &Caller<'_>, cursor: &str, what: &str) -> (Vec<Value>, String) {
    eventually(what, visible_within(), || async {
        let (messages, next) = user.sync_all(cursor).await;
        (!messages.is_empty()).then_some((messages, next))
    })
    .await
}

pub(crate) async fn a_recalled_broadcast_sends_one_delete_command_to_those_who_synced_it(server: Server) {
    let operator = server.operator(APP);
    let (online, offline, before, never) =
        (server.user(APP, 61), server.user(APP, 62), server.user(APP, 63), server.user(APP, 64));
    server.app(APP).send(APP, json!({"mode": "unicast", "from_uid": 1, "to_uids": [63], "content": "hi"})).await;
    let (_, before_cursor) = sync_until_some(&before, "", "the unicast reaches 63").await;

    let id = operator.create_broadcast(APP, json!({"content": "oops"})).await;
    let (status, _) = operator.broadcast_action(APP, id, "publish").await;
    assert_eq!(status, StatusCode::OK);
    let (had, online_cursor) = sync_until_some(&online, "", "61 syncs the broadcast").await;
    let (_, offline_cursor) = sync_until_some(&offline, "", "62 syncs the broadcast").await;
    assert_eq!(contents(&had), vec!["oops"]);
    let broadcast_msg_id = had[0]["msg_id"].clone();

    let (status, recalled) = operator.broadcast_action(APP, id, "recall").await;
    assert_eq!((status, recalled["state"].as_str()), (StatusCode::OK, Some("recalled")));
    let (commands, online_after) = sync_until_some(&online, &online_cursor, "61 gets the delete command").await;
    assert_one_delete_command(&commands, &broadcast_msg_id, Some(id));
    assert!(online.sync_all(&online_after).await.0.is_empty(), "the command comes once");

    let (late, offline_after) = offline.sync_all(&offline_cursor).await;
    assert_one_delete_command(&late, &broadcast_msg_id, Some(id));
    assert_eq!(late[0]["msg_id"], commands[0]["msg_id"], "one command, at one position");
    assert!(offline.sync_all(&offline_after).await.0.is_empty());
    assert!(before.sync_all(&before_cursor).await.0.is_empty(), "63 never got the broadcast");
    assert_eq!(contents(&never.sync_all("").await.0), Vec::<String>::new(), "64 never got the broadcast");
    let (status, history) = online.get(&format!("/v1/mailbox/history?before={}", i64::MAX)).await;
    assert_eq!((status, &history["messages"]), (StatusCode::OK, &json!([])), "history no longer shows it");
}

/// `entries` is exactly one delete command dropping `msg_id` (of the broadcast `broadcast_id`).
pub(crate) fn assert_one_delete_command(entries: &[Value], msg_id: &Value, broadcast_id: Option<i64>) {
    assert_eq!(entries.len(), 1, "{entries:?}");
    let command = &entries[0];
    assert_eq!((&command["source"], &command["command"]), (&json!("command"), &json!("delete")), "{command}");
    assert_eq!(command["msg_ids"], json!([msg_id]), "{command}");
    assert_eq!(command.get("broadcast_id").and_then(Value::as_i64), broadcast_id, "{command}");
}
