//! The load: logged-in WebSocket clients that, like the SDK, sync over the socket when they
//! are notified, and note when each benchmark message arrives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tidings_http::{Authenticator, CallerRole, Claims};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::server::SECRET;
use crate::APP;

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// When each benchmark message was acknowledged by ingest, by its content.
pub type Sent = Arc<Mutex<HashMap<String, Instant>>>;

/// Connects and logs in as `uid`; the socket, after its `welcome`.
pub async fn log_in(url: &str, uid: i64) -> anyhow::Result<Socket> {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.context("connect")?;
    let claims = Claims {
        role: CallerRole::User,
        app_id: APP,
        sub: uid.to_string(),
        exp: tidings_domain::time::now_s() + 3600,
        guest: false,
    };
    let token = Authenticator::new(SECRET.as_bytes()).mint(&claims);
    socket.send(Message::text(json!({"type": "login", "token": token}).to_string())).await?;
    let welcome = next_text(&mut socket).await?;
    anyhow::ensure!(welcome["type"] == "welcome", "no welcome: {welcome}");
    Ok(socket)
}

async fn next_text(socket: &mut Socket) -> anyhow::Result<Value> {
    loop {
        match socket.next().await.context("closed")?? {
            Message::Text(text) => return Ok(serde_json::from_str(&text)?),
            Message::Close(close) => anyhow::bail!("closed by the gateway: {close:?}"),
            _ => continue,
        }
    }
}

/// Keeps `socket` alive (answers pings) and, on each private notify, syncs from its cursor;
/// every message that arrives adds its delay since `sent` to `delays`. Ends at `until`.
pub async fn live(
    mut socket: Socket,
    sent: Sent,
    delays: Arc<Mutex<Vec<Duration>>>,
    until: Instant,
) -> anyhow::Result<()> {
    let mut cursor = String::new();
    let mut syncing = false;
    let mut pending = false;
    while let Ok(frame) = tokio::time::timeout_at(until.into(), next_text(&mut socket)).await {
        let frame = frame?;
        match frame["type"].as_str() {
            Some("ping") => socket.send(Message::text(r#"{"type":"pong"}"#)).await?,
            Some("notify") if syncing => pending = true,
            Some("notify") => {
                syncing = true;
                socket.send(Message::text(json!({"type": "sync", "id": 1, "cursor": cursor}).to_string())).await?;
            }
            Some("synced") => {
                let arrived = Instant::now();
                for message in frame["messages"].as_array().into_iter().flatten() {
                    let content = message["content"].as_str().unwrap_or_default();
                    if let Some(sent_at) = sent.lock().expect("lock poisoned").remove(content) {
                        delays.lock().expect("lock poisoned").push(arrived.duration_since(sent_at));
                    }
                }
                cursor = frame["cursor"].as_str().unwrap_or_default().to_owned();
                // One sync in flight at a time; a notify that came meanwhile asks for another.
                syncing = pending || frame["has_more"] == true;
                if syncing {
                    pending = false;
                    socket.send(Message::text(json!({"type": "sync", "id": 1, "cursor": cursor}).to_string())).await?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}
