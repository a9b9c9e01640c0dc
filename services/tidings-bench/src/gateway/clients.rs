//! The load: logged-in WebSocket clients that behave like the SDK (answer pings; sync over
//! the socket on a private notify at once, on a public one at a random moment of its
//! `pull_within_ms`; one sync in flight), and note when benchmark messages and broadcasts
//! arrive.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::{Value, json};
use tidings_http::{Authenticator, CallerRole, Claims};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::APP;
use crate::processes::SECRET;

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// When each benchmark message was acknowledged by ingest, by its content.
pub type Sent = Arc<Mutex<HashMap<String, Instant>>>;

/// Connects from `source` (an address of the loopback's 127/8, so that more connections
/// than one source address has ports for can reach one gateway) and logs in as `uid`; the
/// socket, after its `welcome`.
pub async fn log_in(url: &str, source: Option<IpAddr>, uid: i64) -> anyhow::Result<Socket> {
    let stream = match source {
        Some(source) => {
            let target = gateway_address(url)?;
            let socket = TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(source, 0)).with_context(|| format!("binding {source}"))?;
            socket.connect(target).await.context("connect")?
        }
        None => TcpStream::connect(gateway_address(url)?).await.context("connect")?,
    };
    let (mut socket, _) =
        tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)).await.context("upgrade")?;
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

/// Logs every user of `uids` in, `concurrency` at a time, user `u` at `urls[u % urls.len()]`
/// from `source`; hands each socket, with its login's latency, to `opened` as it comes.
pub async fn log_in_all(
    urls: &[String],
    source: Option<IpAddr>,
    uids: std::ops::Range<i64>,
    concurrency: usize,
    mut opened: impl FnMut(Socket, Duration),
) -> anyhow::Result<()> {
    for chunk in uids.collect::<Vec<_>>().chunks(concurrency) {
        let mut logins = tokio::task::JoinSet::new();
        for &uid in chunk {
            let url = urls[uid as usize % urls.len()].clone();
            logins.spawn(async move {
                let began = Instant::now();
                let socket = log_in(&url, source, uid).await.with_context(|| format!("user {uid}"))?;
                anyhow::Ok((socket, began.elapsed()))
            });
        }
        while let Some(done) = logins.join_next().await {
            let (socket, latency) = done??;
            opened(socket, latency);
        }
    }
    Ok(())
}

/// `ws://127.0.0.1:PORT/v1/connect` → 127.0.0.1:PORT.
fn gateway_address(url: &str) -> anyhow::Result<SocketAddr> {
    let authority = url.strip_prefix("ws://").and_then(|rest| rest.split('/').next()).context("a ws:// URL")?;
    authority.parse().with_context(|| format!("{authority} is not an ip:port"))
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

/// What the clients of one process saw of a broadcast wave.
#[derive(Debug)]
pub struct Wave {
    clients: usize,
    /// When each client sent the sync a public notify asked for (unix µs).
    pulls_us: Mutex<Vec<i64>>,
    /// When the last client got the broadcast (unix µs).
    last_received_us: Mutex<i64>,
    received: AtomicUsize,
    lost: AtomicUsize,
    settled: Notify,
}

/// How one process's clients fared in a wave.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct WaveReport {
    pub received: usize,
    pub lost: usize,
    pub pulls_us: Vec<i64>,
    pub last_received_us: i64,
}

impl Wave {
    pub fn new(clients: usize) -> Arc<Self> {
        Arc::new(Self {
            clients,
            pulls_us: Mutex::default(),
            last_received_us: Mutex::default(),
            received: AtomicUsize::new(0),
            lost: AtomicUsize::new(0),
            settled: Notify::new(),
        })
    }

    fn pulled(&self) {
        self.pulls_us.lock().expect("lock poisoned").push(tidings_domain::time::now_us());
    }

    fn received(&self) {
        *self.last_received_us.lock().expect("lock poisoned") = tidings_domain::time::now_us();
        self.received.fetch_add(1, Ordering::Relaxed);
        self.check_settled();
    }

    fn lost(&self) {
        self.lost.fetch_add(1, Ordering::Relaxed);
        self.check_settled();
    }

    fn check_settled(&self) {
        if self.received.load(Ordering::Relaxed) + self.lost.load(Ordering::Relaxed) >= self.clients {
            self.settled.notify_one();
        }
    }

    /// Waits until every client got the broadcast or lost its connection.
    pub async fn settled(&self) -> WaveReport {
        self.settled.notified().await;
        WaveReport {
            received: self.received.load(Ordering::Relaxed),
            lost: self.lost.load(Ordering::Relaxed),
            pulls_us: std::mem::take(&mut *self.pulls_us.lock().expect("lock poisoned")),
            last_received_us: *self.last_received_us.lock().expect("lock poisoned"),
        }
    }
}

/// What a live client reports to.
#[derive(Debug, Clone)]
pub struct Observers {
    pub sent: Sent,
    pub delays: Arc<Mutex<Vec<Duration>>>,
    pub wave: Option<Arc<Wave>>,
}

/// Keeps `socket` alive like the SDK until `until` (or the connection ends: a lost client
/// of the wave); every benchmark message adds its delay since `sent` to `delays`.
pub async fn live(socket: Socket, observers: Observers, until: Instant) -> anyhow::Result<()> {
    let wave = observers.wave.clone();
    let outcome = run_client(socket, observers, until).await;
    if outcome.is_err()
        && let Some(wave) = wave
    {
        wave.lost();
    }
    outcome
}

async fn run_client(mut socket: Socket, observers: Observers, until: Instant) -> anyhow::Result<()> {
    let mut cursor = String::new();
    let mut syncing = false;
    let mut pending = false;
    let mut public_pull_at: Option<tokio::time::Instant> = None;
    let mut got_broadcast = false;
    let sync = |cursor: &str| Message::text(json!({"type": "sync", "id": 1, "cursor": cursor}).to_string());
    loop {
        let frame = tokio::select! {
            read = tokio::time::timeout_at(until.into(), next_text(&mut socket)) => match read {
                Ok(frame) => frame?,
                Err(_) => return Ok(()),
            },
            () = tokio::time::sleep_until(public_pull_at.unwrap_or_else(tokio::time::Instant::now)), if public_pull_at.is_some() => {
                public_pull_at = None;
                if let Some(wave) = &observers.wave {
                    wave.pulled();
                }
                if syncing {
                    pending = true;
                } else {
                    syncing = true;
                    socket.send(sync(&cursor)).await?;
                }
                continue;
            }
        };
        match (frame["type"].as_str(), frame["source"].as_str()) {
            (Some("ping"), _) => socket.send(Message::text(r#"{"type":"pong"}"#)).await?,
            (Some("notify"), Some("public")) => {
                let within = frame["pull_within_ms"].as_u64().unwrap_or_default();
                let delay = Duration::from_millis(rand::rng().random_range(0..=within));
                public_pull_at.get_or_insert_with(|| tokio::time::Instant::now() + delay);
            }
            (Some("notify"), _) if syncing => pending = true,
            (Some("notify"), _) => {
                syncing = true;
                socket.send(sync(&cursor)).await?;
            }
            (Some("synced"), _) => {
                let arrived = Instant::now();
                for message in frame["messages"].as_array().into_iter().flatten() {
                    if message["source"] == "public" && !got_broadcast {
                        got_broadcast = true;
                        if let Some(wave) = &observers.wave {
                            wave.received();
                        }
                    }
                    let content = message["content"].as_str().unwrap_or_default();
                    if let Some(sent_at) = observers.sent.lock().expect("lock poisoned").remove(content) {
                        observers.delays.lock().expect("lock poisoned").push(arrived.duration_since(sent_at));
                    }
                }
                cursor = frame["cursor"].as_str().unwrap_or_default().to_owned();
                // One sync in flight at a time; a notify that came meanwhile asks for another.
                syncing = pending || frame["has_more"] == true;
                if syncing {
                    pending = false;
                    socket.send(sync(&cursor)).await?;
                }
            }
            _ => {}
        }
    }
}
