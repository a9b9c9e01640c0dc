//! The long connection of Tidings: notify, then pull (docs/design.md, "The long
//! connection"; the frames in `schemas/asyncapi.yaml`).
//!
//! A client opens `GET /v1/connect` (a WebSocket), logs in with its token in the first
//! frame, and from then on hears a tiny `notify` whenever its mailbox changes; it answers
//! by syncing, over the socket or over HTTP: the sync stream, not the socket, is the source
//! of truth, so a lost connection loses nothing.
//!
//! - [`settings`]: the `[gateway]` section.
//! - [`frames`]: the frames and close codes of the contract.
//! - [`sessions`]: the live sessions of this process and their pending notifies.
//! - `feed`: the notify topic, read whole by every gateway process (a consumer group of
//!   its own), into [`sessions`] (private signals) and `waves` (public ones).
//! - `waves`: paced broadcast notifies to the sessions a broadcast's audience admits.
//! - `connection`: one socket: login, heartbeats, notifies, `sync` and `send`.
//!
//! Not built yet (issue 9): the client SDK; notifies for read marks, deletes and hides.

mod connection;
mod feed;
pub mod frames;
pub mod sessions;
mod settings;
mod waves;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tidings_domain::client::ClientVersion;
use tidings_events::EventCodec;
use tidings_http::Authenticator;
use tidings_ingest::Ingest;
use tidings_ports::EventLog;
use tidings_ports::log::TopicName;
use tidings_puller::{PageLimits, PublicMailboxCache, Puller};
use tokio_util::sync::CancellationToken;

pub use feed::FeedError;
pub use sessions::Sessions;
pub use settings::GatewaySettings;
use waves::{Announcements, Pace};

pub fn describe_metrics() {
    sessions::describe_metrics();
    connection::describe_metrics();
}

/// What one gateway process serves its connections with.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub settings: GatewaySettings,
    pub auth: Authenticator,
    pub puller: Puller,
    /// The puller's public-mailbox cache, which broadcast waves read too.
    pub public: Arc<PublicMailboxCache>,
    pub ingest: Ingest,
    pub limits: PageLimits,
    pub sessions: Arc<Sessions>,
    /// Cancelled when the process shuts down: sessions then drain (4503).
    pub draining: CancellationToken,
}

impl Gateway {
    /// The `GET /v1/connect` route.
    pub fn router(self) -> Router {
        Router::new().route("/v1/connect", get(connect)).with_state(self)
    }

    /// Once draining starts, waits until every session has closed, or the drain window
    /// and a grace second have passed.
    pub async fn drained(&self) {
        self.draining.cancelled().await;
        let deadline = tokio::time::Instant::now() + self.settings.drain_window + Duration::from_secs(1);
        while self.sessions.total() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Reads the notify topic into the sessions until `stop` is cancelled.
    pub async fn run_feed(
        &self,
        log: Arc<dyn EventLog>,
        topic: TopicName,
        stop: CancellationToken,
    ) -> Result<(), FeedError> {
        let announcements = Arc::new(Announcements::default());
        let pace = Pace::within_budget(self.settings.broadcast_notifies_per_second);
        let waves = waves::run(announcements.clone(), self.public.clone(), self.sessions.clone(), pace, stop.clone());
        let feed = feed::run(log, topic, &self.settings.group, EventCodec::new(), &self.sessions, &announcements, stop);
        let (fed, ()) = tokio::join!(feed, waves);
        fed
    }
}

/// The read chunk of a connection: client frames are a few hundred bytes; a bigger one is
/// read in several chunks. With tungstenite's 128 KiB default an idle connection held 147 KB
/// of the gateway's memory; with this, about 8 KB (`tidings-bench gateway`).
const IO_BUFFER_BYTES: usize = 1024;

async fn connect(State(gateway): State<Gateway>, headers: HeaderMap, upgrade: WebSocketUpgrade) -> Response {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
        && !gateway.settings.allowed_origins.is_empty()
        && !gateway.settings.allowed_origins.iter().any(|allowed| allowed == origin)
    {
        return (StatusCode::FORBIDDEN, format!("origin {origin:?} is not allowed")).into_response();
    }
    // The identity facts of the upgrade request stand where the login frame omits them.
    let header = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let from_headers = ClientVersion::from_parts(
        header(header::HeaderName::from_static("platform")).as_deref(),
        header(header::HeaderName::from_static("app_version")).as_deref(),
        header(header::HeaderName::from_static("core_level")).as_deref(),
    )
    .unwrap_or_default();
    let from_agent =
        ClientVersion::from_user_agent(header(header::USER_AGENT).as_deref().unwrap_or_default()).unwrap_or_default();
    let request_version = from_headers.or_else(from_agent);
    // Room above the contract's limit, so that an oversized frame reaches the check that
    // answers it with 4413 instead of the library's own close.
    let library_limit = gateway.settings.max_frame_bytes.saturating_mul(4);
    // Buffers sized for frames of a few hundred bytes, not the library's 128 KiB each way.
    upgrade
        .read_buffer_size(IO_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(library_limit)
        .max_frame_size(library_limit)
        .on_upgrade(move |socket| connection::serve(socket, gateway, request_version))
}
