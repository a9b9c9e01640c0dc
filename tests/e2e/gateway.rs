//! The long connection, from a third-party WebSocket client (tokio-tungstenite), against a
//! running all-in-one and against a `tidings gateway` process beside the others on Kafka
//! and Cassandra: login, notify then pull, sends over the socket, paced broadcast notifies,
//! draining, and every bad input answered as the contract says.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tidings_http::CallerRole;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::harness::{self, Server, visible_within};

const APP: i64 = 8;

scenarios!(
    a_connected_client_is_told_to_pull_and_syncs_over_the_socket,
    a_send_over_the_socket_reaches_both_mailboxes_once_even_when_resent,
    bad_input_on_the_socket_gets_its_contract_answer_and_the_gateway_stays_up,
    a_stopping_gateway_drains_its_sessions_with_4503,
    a_published_broadcast_notifies_the_sessions_its_audience_admits_and_no_other,
);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(server: &Server) -> Socket {
    tokio_tungstenite::connect_async(server.connect_url()).await.expect("the gateway accepts a WebSocket").0
}

async fn send(socket: &mut Socket, frame: Value) {
    socket.send(Message::text(frame.to_string())).await.expect("send a frame");
}

/// A connected, logged-in client that answers every `ping` in the background, as a live
/// one does, whatever the test is waiting for meanwhile.
pub(crate) struct Client {
    frames: mpsc::UnboundedReceiver<Incoming>,
    outgoing: mpsc::UnboundedSender<Message>,
}

/// What the gateway said, apart from pings.
#[derive(Debug)]
enum Incoming {
    Frame(Value),
    Closed(u16, String),
}

impl Client {
    /// Connects and logs in as `uid` on an iPhone.
    async fn logged_in(server: &Server, uid: i64) -> Self {
        Self::logged_in_on(server, uid, "ios").await
    }

    async fn logged_in_on(server: &Server, uid: i64, platform: &str) -> Self {
        Self::logged_in_to(server, APP, uid, platform).await
    }

    /// Connects and logs in as `uid` of `app_id` on `platform`.
    pub(crate) async fn logged_in_to(server: &Server, app_id: i64, uid: i64, platform: &str) -> Self {
        let mut socket = connect(server).await;
        let token = server.token(CallerRole::User, app_id, &uid.to_string(), 3600, false);
        send(&mut socket, json!({"type": "login", "token": token, "platform": platform})).await;
        let (outgoing, mut to_send) = mpsc::unbounded_channel::<Message>();
        let (received, frames) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    message = to_send.recv() => match message {
                        Some(message) => { let _ = socket.send(message).await; }
                        None => return,
                    },
                    incoming = socket.next() => match incoming {
                        Some(Ok(Message::Text(text))) => {
                            let frame: Value = serde_json::from_str(&text).expect("frames are JSON");
                            if frame["type"] == "ping" {
                                let _ = socket.send(Message::text(r#"{"type":"pong"}"#)).await;
                            } else if received.send(Incoming::Frame(frame)).is_err() {
                                return;
                            }
                        }
                        Some(Ok(Message::Close(close))) => {
                            let (code, reason) = close.map_or((0, String::new()), |c| (u16::from(c.code), c.reason.to_string()));
                            let _ = received.send(Incoming::Closed(code, reason));
                            return;
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(_)) | None => return,
                    },
                }
            }
        });
        let mut client = Self { frames, outgoing };
        let welcome = client.next().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        assert_eq!(welcome["heartbeat_ms"], 1000);
        assert!(welcome["session_id"].is_string() && welcome["reconnect"]["max_ms"].is_u64());
        client
    }

    fn send(&self, frame: Value) {
        self.send_raw(Message::text(frame.to_string()));
    }

    fn send_raw(&self, message: Message) {
        self.outgoing.send(message).expect("the client's connection task runs");
    }

    /// The next frame; the gateway closing first fails the test.
    pub(crate) async fn next(&mut self) -> Value {
        match self.incoming(visible_within()).await {
            Some(Incoming::Frame(frame)) => frame,
            Some(Incoming::Closed(code, reason)) => panic!("the gateway closed the connection: {code} {reason}"),
            None => panic!("no frame within {:?}", visible_within()),
        }
    }

    /// The close code and reason, once the gateway closes.
    async fn closed(&mut self) -> (u16, String) {
        match self.incoming(Duration::from_secs(10)).await {
            Some(Incoming::Closed(code, reason)) => (code, reason),
            other => panic!("expected a close, got {other:?}"),
        }
    }

    async fn incoming(&mut self, within: Duration) -> Option<Incoming> {
        tokio::time::timeout(within, self.frames.recv()).await.ok().flatten()
    }
}

/// Reads a raw socket until the gateway closes; its close code and reason.
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

async fn a_connected_client_is_told_to_pull_and_syncs_over_the_socket(server: Server) {
    let (mut phone, mut laptop) = (Client::logged_in(&server, 42).await, Client::logged_in(&server, 42).await);
    server.app(APP).send(APP, json!({"mode": "unicast", "from_uid": 1, "to_uids": [42], "content": "ring"})).await;
    let first = hears_and_syncs(&mut phone).await;
    assert_eq!(hears_and_syncs(&mut laptop).await, first, "both devices got the same message");
}

/// Waits for a private notify, syncs over the socket, checks the page; the message's id.
async fn hears_and_syncs(device: &mut Client) -> i64 {
    let notify = device.next().await;
    assert_eq!((notify["type"].as_str(), notify["source"].as_str()), (Some("notify"), Some("private")), "{notify}");
    device.send(json!({"type": "sync", "id": "s1"}));
    let synced = device.next().await;
    assert_eq!((synced["type"].as_str(), synced["id"].as_str()), (Some("synced"), Some("s1")), "{synced}");
    assert_eq!(synced["messages"][0]["content"], "ring");
    assert_eq!(synced["messages"][0]["msg_id"], notify["up_to"]);
    assert!(synced["cursor"].is_string() && synced["has_more"] == false);
    notify["up_to"].as_i64().expect("a msg_id")
}

async fn a_send_over_the_socket_reaches_both_mailboxes_once_even_when_resent(server: Server) {
    let mut sender = Client::logged_in(&server, 50).await;
    let message = json!({"type": "send", "id": 1, "to_uid": 51, "content": "hi 51", "msgkey": "m-1"});
    for _attempt in 0..2 {
        sender.send(message.clone());
        let ack = sender.next().await;
        assert_eq!(
            (ack["type"].as_str(), ack["id"].as_i64(), ack["msgkey"].as_str()),
            (Some("ack"), Some(1), Some("m-1"))
        );
    }
    for uid in [50, 51] {
        let messages = harness::eventually("the chat message in both mailboxes", visible_within(), || async {
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

async fn bad_input_on_the_socket_gets_its_contract_answer_and_the_gateway_stays_up(server: Server) {
    let mut forged = connect(&server).await;
    send(&mut forged, json!({"type": "login", "token": "not-a-token"})).await;
    assert_eq!(closed(&mut forged).await.0, 4401);

    let app_token = server.token(CallerRole::App, APP, "biz", 3600, false);
    let mut not_a_user = connect(&server).await;
    send(&mut not_a_user, json!({"type": "login", "token": app_token})).await;
    assert_eq!(closed(&mut not_a_user).await.0, 4403);

    let mut silent = connect(&server).await;
    assert_eq!(closed(&mut silent).await.0, 4001, "no login in time");

    let mut not_json = Client::logged_in(&server, 60).await;
    not_json.send_raw(Message::text("{nope"));
    assert_eq!(not_json.closed().await.0, 4400);

    let mut typo = Client::logged_in(&server, 60).await;
    typo.send(json!({"type": "synk", "id": 7}));
    let error = typo.next().await;
    assert_eq!(
        (error["type"].as_str(), error["code"].as_str(), error["id"].as_i64()),
        (Some("error"), Some("unknown_type"), Some(7))
    );
    typo.send(json!({"type": "sync", "id": 8, "cursor": "junk"}));
    let error = typo.next().await;
    assert_eq!(
        (error["code"].as_str(), error["field"].as_str(), error["id"].as_i64()),
        (Some("invalid_field"), Some("cursor"), Some(8))
    );
    typo.send(json!({"type": "ping"}));
    assert_eq!(typo.next().await["type"], "pong", "the connection survives bad frames");

    let mut oversized = Client::logged_in(&server, 61).await;
    oversized.send(json!({"type": "ping", "pad": "x".repeat(70 * 1024)}));
    assert_eq!(oversized.closed().await.0, 4413);

    let mut flood = Client::logged_in(&server, 62).await;
    for _ in 0..60 {
        flood.send_raw(Message::text(r#"{"type":"pong"}"#));
    }
    let (code, reason) = flood.closed().await;
    assert_eq!(code, 4429);
    assert!(reason.starts_with("retry_after_ms="), "{reason}");

    // A client that never answers the gateway's pings.
    let mut quiet = connect(&server).await;
    let token = server.token(CallerRole::User, APP, "63", 3600, false);
    send(&mut quiet, json!({"type": "login", "token": token})).await;
    assert_eq!(closed(&mut quiet).await.0, 4408, "silent for two heartbeats");

    // After all of that, the gateway serves a newcomer.
    let mut newcomer = Client::logged_in(&server, 64).await;
    newcomer.send(json!({"type": "sync", "id": 1}));
    assert_eq!(newcomer.next().await["type"], "synced");
}

async fn a_stopping_gateway_drains_its_sessions_with_4503(mut server: Server) {
    let mut clients = Vec::new();
    for uid in 70..74 {
        clients.push(Client::logged_in(&server, uid).await);
    }
    let stopping = tokio::spawn(async move { server.terminate().await });
    for client in &mut clients {
        let (code, reason) = client.closed().await;
        assert_eq!(code, 4503);
        let after: u64 = reason.strip_prefix("reconnect_after_ms=").expect("a reconnect delay").parse().unwrap();
        assert!(after <= 1000, "within reconnect_min_ms: {after}");
    }
    assert!(stopping.await.unwrap(), "the process exits cleanly once drained");
}

async fn a_published_broadcast_notifies_the_sessions_its_audience_admits_and_no_other(server: Server) {
    let mut iphone = Client::logged_in_on(&server, 80, "ios").await;
    let mut android = Client::logged_in_on(&server, 81, "android").await;
    let operator = server.operator(APP);
    let id =
        operator.create_broadcast(APP, json!({"content": "for iPhones", "audience": {"platforms": ["ios"]}})).await;
    operator.broadcast_action(APP, id, "publish").await;

    let notify = iphone.next().await;
    assert_eq!((notify["type"].as_str(), notify["source"].as_str()), (Some("notify"), Some("public")), "{notify}");
    assert_eq!(notify["pull_within_ms"], 2000);
    iphone.send(json!({"type": "sync", "id": 1}));
    assert_eq!(iphone.next().await["messages"][0]["content"], "for iPhones");

    // The Android session, alive all along, heard nothing.
    iphone.send(json!({"type": "ping"}));
    assert_eq!(iphone.next().await["type"], "pong");
    let heard = android.incoming(Duration::from_secs(2)).await;
    assert!(heard.is_none(), "outside the audience, yet: {heard:?}");
}
