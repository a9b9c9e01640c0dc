//! The long connection, from a third-party WebSocket client (tokio-tungstenite) against a
//! running all-in-one: login, notify then pull, sends over the socket, and every bad input
//! answered as the contract says.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tidings_http::CallerRole;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::harness::{Mode, Server, visible_within};

const APP: i64 = 8;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(server: &Server) -> Socket {
    let url = format!("{}/v1/connect", server.all_in_one_api().replacen("http", "ws", 1));
    tokio_tungstenite::connect_async(url).await.expect("the gateway accepts a WebSocket").0
}

async fn send(socket: &mut Socket, frame: Value) {
    socket.send(Message::text(frame.to_string())).await.expect("send a frame");
}

/// Connects and logs in as `uid`; returns after the `welcome`.
async fn logged_in(server: &Server, uid: i64) -> Socket {
    let mut socket = connect(server).await;
    let token = server.token(CallerRole::User, APP, &uid.to_string(), 3600, false);
    send(&mut socket, json!({"type": "login", "token": token, "platform": "ios"})).await;
    let welcome = next_frame(&mut socket).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["heartbeat_ms"], 500);
    assert!(welcome["session_id"].is_string() && welcome["reconnect"]["max_ms"].is_u64());
    socket
}

/// The next frame that is not a `ping` (each ping is answered, as a live client does).
async fn next_frame(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(visible_within(), socket.next())
            .await
            .expect("a frame in time")
            .expect("the connection is open")
            .expect("a readable frame");
        let Message::Text(text) = message else { continue };
        let frame: Value = serde_json::from_str(&text).expect("frames are JSON");
        if frame["type"] == "ping" {
            send(socket, json!({"type": "pong"})).await;
            continue;
        }
        return frame;
    }
}

/// Reads until the gateway closes; its close code and reason.
async fn closed(socket: &mut Socket) -> (u16, String) {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("closed in time") {
            Some(Ok(Message::Close(Some(frame)))) => return (u16::from(frame.code), frame.reason.to_string()),
            Some(Ok(Message::Close(None))) | None => panic!("closed without a code"),
            Some(Ok(_)) => continue,
            Some(Err(error)) => panic!("no close frame: {error}"),
        }
    }
}

#[tokio::test]
async fn a_connected_client_is_told_to_pull_and_syncs_over_the_socket() {
    let server = Server::start(Mode::Embedded).await;
    let (mut phone, mut laptop) = (logged_in(&server, 42).await, logged_in(&server, 42).await);
    server.app(APP).send(APP, json!({"mode": "unicast", "from_uid": 1, "to_uids": [42], "content": "ring"})).await;
    for device in [&mut phone, &mut laptop] {
        let notify = next_frame(device).await;
        assert_eq!((notify["type"].as_str(), notify["source"].as_str()), (Some("notify"), Some("private")), "{notify}");
        assert!(notify["up_to"].as_i64().unwrap() > 0);
        send(device, json!({"type": "sync", "id": "s1"})).await;
        let synced = next_frame(device).await;
        assert_eq!((synced["type"].as_str(), synced["id"].as_str()), (Some("synced"), Some("s1")), "{synced}");
        assert_eq!(synced["messages"][0]["content"], "ring");
        assert_eq!(synced["messages"][0]["msg_id"], notify["up_to"]);
        assert!(synced["cursor"].is_string() && synced["has_more"] == false);
    }
}

#[tokio::test]
async fn a_send_over_the_socket_reaches_both_mailboxes_once_even_when_resent() {
    let server = Server::start(Mode::Embedded).await;
    let mut sender = logged_in(&server, 50).await;
    let message = json!({"type": "send", "id": 1, "to_uid": 51, "content": "hi 51", "msgkey": "m-1"});
    for _attempt in 0..2 {
        send(&mut sender, message.clone()).await;
        let ack = next_frame(&mut sender).await;
        assert_eq!(
            (ack["type"].as_str(), ack["id"].as_i64(), ack["msgkey"].as_str()),
            (Some("ack"), Some(1), Some("m-1"))
        );
    }
    for uid in [50, 51] {
        let messages = crate::harness::eventually("the chat message in both mailboxes", visible_within(), || async {
            let (messages, _) = server.user(APP, uid).sync_all("").await;
            (!messages.is_empty()).then_some(messages)
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (again, _) = server.user(APP, uid).sync_all("").await;
        assert_eq!((messages.len(), again.len()), (1, 1), "uid {uid} has it once");
        assert_eq!((again[0]["from_uid"].as_i64(), again[0]["content"].as_str()), (Some(50), Some("hi 51")));
    }
}

#[tokio::test]
async fn bad_input_on_the_socket_gets_its_contract_answer_and_the_gateway_stays_up() {
    let server = Server::start(Mode::Embedded).await;

    let mut forged = connect(&server).await;
    send(&mut forged, json!({"type": "login", "token": "not-a-token"})).await;
    assert_eq!(closed(&mut forged).await.0, 4401);

    let app_token = server.token(CallerRole::App, APP, "biz", 3600, false);
    let mut not_a_user = connect(&server).await;
    send(&mut not_a_user, json!({"type": "login", "token": app_token})).await;
    assert_eq!(closed(&mut not_a_user).await.0, 4403);

    let mut silent = connect(&server).await;
    assert_eq!(closed(&mut silent).await.0, 4001, "no login in time");

    let mut not_json = logged_in(&server, 60).await;
    not_json.send(Message::text("{nope")).await.unwrap();
    assert_eq!(closed(&mut not_json).await.0, 4400);

    let mut typo = logged_in(&server, 60).await;
    send(&mut typo, json!({"type": "synk", "id": 7})).await;
    let error = next_frame(&mut typo).await;
    assert_eq!(
        (error["type"].as_str(), error["code"].as_str(), error["id"].as_i64()),
        (Some("error"), Some("unknown_type"), Some(7))
    );
    send(&mut typo, json!({"type": "sync", "id": 8, "cursor": "junk"})).await;
    let error = next_frame(&mut typo).await;
    assert_eq!(
        (error["code"].as_str(), error["field"].as_str(), error["id"].as_i64()),
        (Some("invalid_field"), Some("cursor"), Some(8))
    );
    send(&mut typo, json!({"type": "ping"})).await;
    assert_eq!(next_frame(&mut typo).await["type"], "pong", "the connection survives bad frames");

    let mut oversized = logged_in(&server, 61).await;
    send(&mut oversized, json!({"type": "ping", "pad": "x".repeat(70 * 1024)})).await;
    assert_eq!(closed(&mut oversized).await.0, 4413);

    let mut flood = logged_in(&server, 62).await;
    for _ in 0..60 {
        flood.send(Message::text(r#"{"type":"pong"}"#)).await.unwrap();
    }
    let (code, reason) = closed(&mut flood).await;
    assert_eq!(code, 4429);
    assert!(reason.starts_with("retry_after_ms="), "{reason}");

    let mut quiet = logged_in(&server, 63).await;
    let code = loop {
        // Reads without answering the gateway's pings.
        match tokio::time::timeout(Duration::from_secs(5), quiet.next()).await.expect("closed in time") {
            Some(Ok(Message::Close(Some(frame)))) => break u16::from(frame.code),
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(code, 4408, "silent for two heartbeats");

    // After all of that, the gateway serves a newcomer.
    let mut newcomer = logged_in(&server, 64).await;
    send(&mut newcomer, json!({"type": "sync", "id": 1})).await;
    assert_eq!(next_frame(&mut newcomer).await["type"], "synced");
}
