//! Recall that reaches the devices: the users who synced a broadcast get one delete command
//! in their sync stream when it is recalled, online or offline; the others nothing, and
//! history no longer shows it (docs/design.md#recall).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::APP;
use crate::gateway::Client;
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

pub(crate) async fn a_recalled_batch_send_leaves_every_mailbox_and_tells_who_synced_it(server: Server) {
    let app = server.app(APP);
    // 71 is online on the long connection, 72 syncs and goes offline, 73 never syncs.
    let mut online = Client::logged_in_to(&server, APP, 71, "android").await;
    let send = json!({"mode": "batch", "from_uid": 1, "to_uids": [71, 72, 73], "content": "wrong price"});
    let request_id = app.send(APP, send).await["request_id"].as_str().expect("a request_id").to_owned();
    let heard = online.next().await;
    assert_eq!((heard["type"].as_str(), heard["source"].as_str()), (Some("notify"), Some("private")), "{heard}");
    let (user71, user72, user73) = (server.user(APP, 71), server.user(APP, 72), server.user(APP, 73));
    let (had71, cursor71) = sync_until_some(&user71, "", "71 syncs the batch").await;
    let (had72, cursor72) = sync_until_some(&user72, "", "72 syncs the batch").await;
    assert_eq!((contents(&had71), contents(&had72)), (vec!["wrong price".to_owned()], vec!["wrong price".to_owned()]));
    // 73's copy is projected (looked at, its cursor thrown away: 73 never synced it).
    sync_until_some(&user73, "", "the batch reaches 73").await;

    let recall = format!("/v1/apps/{APP}/messages/{request_id}/recall");
    let (status, accepted) = app.post(&recall, json!({})).await;
    assert_eq!((status, &accepted["recipients"]), (StatusCode::ACCEPTED, &json!(3)), "{accepted}");
    let told = online.next().await;
    assert_eq!((told["type"].as_str(), told["source"].as_str()), (Some("notify"), Some("private")), "{told}");
    assert!(told["up_to"].as_i64() > had71[0]["msg_id"].as_i64(), "the command takes a position after the message");
    let (commands, after71) = sync_until_some(&user71, &cursor71, "71 gets the delete command").await;
    assert_one_delete_command(&commands, &had71[0]["msg_id"], None);
    let (late, after72) = sync_until_some(&user72, &cursor72, "72 gets the delete command").await;
    assert_one_delete_command(&late, &had72[0]["msg_id"], None);
    eventually("73's copy leaves its mailbox, and 73 gets no command", visible_within(), || async {
        user73.sync_all("").await.0.is_empty().then_some(())
    })
    .await;
    let (status, history) = user71.get(&format!("/v1/mailbox/history?before={}", i64::MAX)).await;
    assert_eq!((status, &history["messages"]), (StatusCode::OK, &json!([])), "history no longer shows it");

    // A repeated recall is accepted and changes nothing: no one gets the command again.
    let (status, _) = app.post(&recall, json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let unknown = app.post(&format!("/v1/apps/{APP}/messages/{:x}-0/recall", 1_000_000), json!({})).await;
    assert_eq!(unknown.0, StatusCode::NOT_FOUND, "{}", unknown.1);
    // By msgkey: a unicast, synced, then recalled; a recall without its msgkey names the field.
    let keyed =
        json!({"mode": "unicast", "from_uid": 9, "to_uids": [74], "content": "order 7 shipped", "msgkey": "order-7"});
    app.send(APP, keyed).await;
    let user74 = server.user(APP, 74);
    let (had74, cursor74) = sync_until_some(&user74, "", "74 syncs the keyed unicast").await;
    let by_msgkey = format!("/v1/apps/{APP}/messages/recall");
    let (status, refused) = app.post(&by_msgkey, json!({"from_uid": 9})).await;
    assert_eq!((status, refused["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("msgkey")), "{refused}");
    let (status, accepted) = app.post(&by_msgkey, json!({"from_uid": 9, "msgkey": "order-7"})).await;
    assert_eq!((status, &accepted["recipients"]), (StatusCode::ACCEPTED, &json!(1)), "{accepted}");
    let (command, _) = sync_until_some(&user74, &cursor74, "74 gets the delete command").await;
    assert_one_delete_command(&command, &had74[0]["msg_id"], None);

    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(user71.sync_all(&after71).await.0.is_empty(), "the command comes once");
    assert!(user72.sync_all(&after72).await.0.is_empty(), "the command comes once");
}

/// `entries` is exactly one delete command dropping `msg_id` (of the broadcast `broadcast_id`).
pub(crate) fn assert_one_delete_command(entries: &[Value], msg_id: &Value, broadcast_id: Option<i64>) {
    assert_eq!(entries.len(), 1, "{entries:?}");
    let command = &entries[0];
    assert_eq!((&command["source"], &command["command"]), (&json!("command"), &json!("delete")), "{command}");
    assert_eq!(command["msg_ids"], json!([msg_id]), "{command}");
    assert_eq!(command.get("broadcast_id").and_then(Value::as_i64), broadcast_id, "{command}");
}
