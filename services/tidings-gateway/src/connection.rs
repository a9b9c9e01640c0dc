//! One connection: login, then heartbeats, notifies, `sync` and `send` until either side
//! closes.

use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use serde_json::Value;
use tidings_domain::client::{ClientVersion, Viewer};
use tidings_domain::message::{Mailbox, SendMode};
use tidings_domain::sync::SyncCursor;
use tidings_domain::{FieldError, time};
use tidings_http::bodies::SyncResponse;
use tidings_ingest::{IngestError, SendCommand};
use tracing::debug;

use crate::Gateway;
use crate::frames::{ClientFrame, CloseCode, LoginFrame, Notify, Reconnect, SendFrame, ServerFrame, SyncFrame};
use crate::sessions::Pending;

const CLOSES_TOTAL: &str = "tidings_gateway_closes_total";
const NOTIFY_SECONDS: &str = "tidings_gateway_notify_duration_seconds";

pub(crate) fn describe_metrics() {
    metrics::describe_counter!(CLOSES_TOTAL, "connections the gateway closed, by close code");
    metrics::describe_histogram!(
        NOTIFY_SECONDS,
        metrics::Unit::Seconds,
        "time from a notify becoming pending to its frame being written"
    );
}

/// How a connection ends.
enum End {
    /// The client closed it, or went away.
    Left,
    /// The gateway closes it, with a code of the contract.
    Close(CloseCode, String),
}

impl End {
    fn close(code: CloseCode, reason: impl Into<String>) -> Self {
        Self::Close(code, reason.into())
    }
}

pub(crate) async fn serve(mut socket: WebSocket, gateway: Gateway, request_version: ClientVersion) {
    let end = match Box::pin(login(&mut socket, &gateway, request_version)).await {
        Ok((mailbox, viewer)) => session(&mut socket, &gateway, mailbox, viewer).await,
        Err(end) => end,
    };
    if let End::Close(code, reason) = end {
        metrics::counter!(CLOSES_TOTAL, "code" => code.code().to_string()).increment(1);
        debug!(code = code.code(), %reason, "closing a connection");
        let frame = CloseFrame { code: code.code(), reason: Utf8Bytes::from(reason) };
        let _ = socket.send(Message::Close(Some(frame))).await;
    }
}

/// Waits for the `login` frame; the mailbox and viewer it proves.
async fn login(
    socket: &mut WebSocket,
    gateway: &Gateway,
    request_version: ClientVersion,
) -> Result<(Mailbox, Viewer), End> {
    let settings = &gateway.settings;
    let deadline = tokio::time::sleep(settings.login_timeout);
    tokio::pin!(deadline);
    let text = loop {
        tokio::select! {
            () = &mut deadline => return Err(End::close(CloseCode::NoLogin, "no login frame in time")),
            () = gateway.draining.cancelled() => return Err(drain_close(settings)),
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Err(End::Left),
                Some(Ok(Message::Text(text))) => break text,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Binary(_))) => return Err(End::close(CloseCode::Malformed, "frames are JSON text")),
            },
        }
    };
    check_size(&text, settings.max_frame_bytes)?;
    let frame = ClientFrame::parse(&text).map_err(|bad| End::close(CloseCode::Malformed, bad.message))?;
    let ClientFrame::Login(LoginFrame { token, platform, app_version, core_level }) = frame else {
        return Err(End::close(CloseCode::Malformed, "the first frame must be login"));
    };
    let claims = gateway.auth.verify(&token).map_err(|error| End::close(CloseCode::BadToken, error.to_string()))?;
    let mailbox = claims.mailbox().map_err(|error| End::close(CloseCode::NotAllowed, error.to_string()))?;
    let from_frame = ClientVersion::from_parts(platform.as_deref(), app_version.as_deref(), None)
        .map_err(|error| End::close(CloseCode::Malformed, error.to_string()))?;
    let version =
        ClientVersion { core_level: core_level.or(request_version.core_level), ..from_frame }.or_else(request_version);
    Ok((mailbox, Viewer { uid: mailbox.uid, guest: claims.guest, version }))
}

/// A logged-in connection, until it ends.
async fn session(socket: &mut WebSocket, gateway: &Gateway, mailbox: Mailbox, viewer: Viewer) -> End {
    match session_frames(socket, gateway, mailbox, viewer).await {
        Ok(never) => match never {},
        Err(end) => end,
    }
}

async fn session_frames(
    socket: &mut WebSocket,
    gateway: &Gateway,
    mailbox: Mailbox,
    viewer: Viewer,
) -> Result<std::convert::Infallible, End> {
    let settings = &gateway.settings;
    let mut registration = gateway.sessions.join(mailbox, viewer.clone());
    let welcome = ServerFrame::Welcome {
        session_id: format!("{:x}-{:x}", std::process::id(), registration.id),
        heartbeat_ms: settings.heartbeat.as_millis() as u64,
        reconnect: Reconnect {
            min_ms: settings.reconnect_min.as_millis() as u64,
            max_ms: settings.reconnect_max.as_millis() as u64,
        },
        server_time_us: time::now_us(),
    };
    send(socket, &welcome).await?;
    let mut sent = Pending::default();
    let mut last_heard = Instant::now();
    let mut window = RateWindow::new(settings.max_frames_per_second);
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + settings.heartbeat, settings.heartbeat);
    let mut drain_at = None;
    loop {
        tokio::select! {
            () = gateway.draining.cancelled(), if drain_at.is_none() => {
                // Each session leaves at its own moment of the window: no reconnect stampede.
                let spread = settings.drain_window.mul_f64(rand::random::<f64>());
                drain_at = Some(tokio::time::Instant::now() + spread);
            }
            () = sleep_until(drain_at) => return Err(drain_close(settings)),
            incoming = socket.recv() => {
                let text = match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Err(End::Left),
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => { last_heard = Instant::now(); continue }
                    Some(Ok(Message::Binary(_))) => return Err(End::close(CloseCode::Malformed, "frames are JSON text")),
                };
                last_heard = Instant::now();
                window.count()?;
                check_size(&text, settings.max_frame_bytes)?;
                let reply = match ClientFrame::parse(&text) {
                    // Boxed: the answer's futures (a sync, a send) are large, and an idle
                    // connection should not carry their room while it waits.
                    Ok(frame) => Box::pin(answer(gateway, mailbox, &viewer, frame)).await,
                    Err(bad) if bad.fatal => return Err(End::close(CloseCode::Malformed, bad.message)),
                    Err(bad) => Some(bad.into_frame()),
                };
                if let Some(reply) = reply {
                    send(socket, &reply).await?;
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() >= settings.heartbeat * 2 {
                    return Err(End::close(CloseCode::HeartbeatTimeout, "no frame for two heartbeats"));
                }
                send(socket, &ServerFrame::Ping).await?;
            }
            changed = registration.pending.changed() => {
                if changed.is_err() {
                    return Err(End::Left);
                }
                let became_pending = Instant::now();
                let pending = *registration.pending.borrow_and_update();
                for notify in news(sent, pending, settings.broadcast_pull_within) {
                    send(socket, &ServerFrame::Notify(notify)).await?;
                }
                metrics::histogram!(NOTIFY_SECONDS).record(became_pending.elapsed().as_secs_f64());
                sent = pending;
            }
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The close of a draining gateway: reconnect after a jittered share of the least backoff.
fn drain_close(settings: &crate::GatewaySettings) -> End {
    let after = settings.reconnect_min.mul_f64(rand::random::<f64>());
    End::close(CloseCode::Draining, format!("reconnect_after_ms={}", after.as_millis()))
}

/// The notifies that `pending` holds beyond what was `sent`.
fn news(sent: Pending, pending: Pending, pull_within: Duration) -> impl Iterator<Item = Notify> {
    let private = pending.private_up_to.filter(|_| pending.private_up_to != sent.private_up_to);
    let public = pending.public_seq.filter(|_| pending.public_seq != sent.public_seq);
    private
        .map(|up_to| Notify::Private { up_to })
        .into_iter()
        .chain(public.map(move |seq| Notify::Public { seq, pull_within_ms: pull_within.as_millis() as u64 }))
}

/// The answer to a frame of a logged-in client.
async fn answer(gateway: &Gateway, mailbox: Mailbox, viewer: &Viewer, frame: ClientFrame) -> Option<ServerFrame> {
    match frame {
        ClientFrame::Pong => None,
        ClientFrame::Ping => Some(ServerFrame::Pong),
        ClientFrame::Login(_) => Some(error_frame(None, "already_logged_in", "this connection is logged in", None)),
        ClientFrame::Sync(SyncFrame { id, cursor, limit }) => {
            Some(sync(gateway, mailbox, viewer, id, cursor, limit).await)
        }
        ClientFrame::Send(SendFrame {
            id,
            to_uid,
            content,
            msgkey,
            category,
            kind,
            priority,
            business_type,
            expire_s,
        }) => {
            if !gateway.settings.client_sends {
                return Some(error_frame(Some(id), "forbidden", "this app does not take sends from clients", None));
            }
            let command = SendCommand {
                mode: SendMode::Private,
                from_uid: mailbox.uid,
                to_uids: vec![to_uid],
                contacter: None,
                category,
                kind,
                priority,
                business_type,
                msgkey: Some(msgkey.clone()),
                content,
                expire_s,
            };
            Some(match gateway.ingest.send(mailbox.app_id, &command).await {
                Ok(_) => ServerFrame::Ack { id, msgkey },
                // The frame has one recipient, `to_uid`, where the command has a list.
                Err(IngestError::Invalid(bad)) if bad.field == "to_uids" => {
                    field_error(id, FieldError { field: "to_uid".into(), ..bad })
                }
                Err(error) => ingest_error(id, error),
            })
        }
    }
}

async fn sync(
    gateway: &Gateway,
    mailbox: Mailbox,
    viewer: &Viewer,
    id: Value,
    cursor: Option<String>,
    limit: Option<usize>,
) -> ServerFrame {
    let limits = gateway.limits;
    let limit = limit.unwrap_or(limits.default_limit);
    if !(1..=limits.max_limit).contains(&limit) {
        let message = format!("limit: {limit} is not a number from 1 to {}", limits.max_limit);
        return error_frame(Some(id), "invalid_field", message, Some("limit"));
    }
    let cursor = match SyncCursor::decode(cursor.as_deref().unwrap_or_default()) {
        Ok(cursor) => cursor,
        Err(bad) => return field_error(id, bad),
    };
    match gateway.puller.sync(mailbox, viewer, cursor, limit).await {
        Ok(page) => ServerFrame::Synced { id, page: SyncResponse::from(page) },
        Err(error) => {
            tracing::error!(%error, "store error while serving a sync over the socket");
            error_frame(Some(id), "unavailable", "the store is unavailable; retry later", None)
        }
    }
}

fn ingest_error(id: Value, error: IngestError) -> ServerFrame {
    match error {
        IngestError::Invalid(bad) => field_error(id, bad),
        other => {
            tracing::error!(error = %other, "a send over the socket failed");
            error_frame(Some(id), "unavailable", "the send was not accepted; retry with the same msgkey", None)
        }
    }
}

fn field_error(id: Value, bad: FieldError) -> ServerFrame {
    let message = bad.to_string();
    error_frame(Some(id), "invalid_field", message, Some(&bad.field))
}

fn error_frame(id: Option<Value>, code: &'static str, message: impl Into<String>, field: Option<&str>) -> ServerFrame {
    ServerFrame::Error { id, code, message: message.into(), field: field.map(str::to_owned) }
}

fn check_size(text: &str, max: usize) -> Result<(), End> {
    if text.len() > max {
        return Err(End::close(CloseCode::TooLarge, format!("a frame of {} bytes is above {max}", text.len())));
    }
    Ok(())
}

async fn send(socket: &mut WebSocket, frame: &ServerFrame) -> Result<(), End> {
    let text = serde_json::to_string(frame).expect("frames serialize");
    // A failed write means the client is gone: end quietly, as when it closes.
    socket.send(Message::Text(text.into())).await.map_err(|_| End::Left)
}

/// Counts frames per second; past the limit, 4429 with when to retry.
struct RateWindow {
    limit: u32,
    started: Instant,
    count: u32,
}

impl RateWindow {
    fn new(limit: u32) -> Self {
        Self { limit, started: Instant::now(), count: 0 }
    }

    fn count(&mut self) -> Result<(), End> {
        if self.started.elapsed() >= Duration::from_secs(1) {
            self.started = Instant::now();
            self.count = 0;
        }
        self.count += 1;
        if self.count > self.limit {
            let retry_after = Duration::from_secs(1).saturating_sub(self.started.elapsed());
            let reason = format!("retry_after_ms={}", retry_after.as_millis().max(1));
            return Err(End::close(CloseCode::TooManyFrames, reason));
        }
        Ok(())
    }
}
