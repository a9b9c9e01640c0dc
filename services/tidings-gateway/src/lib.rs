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
//!   its own), into [`sessions`].
//! - `connection`: one socket: login, heartbeats, notifies, `sync` and `send`.
//!
//! Not built yet (issue 9): paced broadcast notifies filtered by audience (a public
//! notify goes to every session of the app, with `pull_within_ms` 0), draining on
//! shutdown with 4503, the client SDK.

mod connection;
mod feed;
pub mod frames;
pub mod sessions;
mod settings;

use std::sync::Arc;

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
use tidings_puller::{PageLimits, Puller};
use tokio_util::sync::CancellationToken;

pub use feed::FeedError;
pub use sessions::Sessions;
pub use settings::GatewaySettings;

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
    pub ingest: Ingest,
    pub limits: PageLimits,
    pub sessions: Arc<Sessions>,
}

impl Gateway {
    /// The `GET /v1/connect` route.
    pub fn router(self) -> Router {
        Router::new().route("/v1/connect", get(connect)).with_state(self)
    }

    /// Reads the notify topic into the sessions until `stop` is cancelled.
    pub async fn run_feed(
        &self,
        log: Arc<dyn EventLog>,
        topic: TopicName,
        stop: CancellationToken,
    ) -> Result<(), FeedError> {
        feed::run(log, topic, &self.settings.group, EventCodec::new(), &self.sessions, stop).await
    }
}

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
    upgrade
        .max_message_size(library_limit)
        .max_frame_size(library_limit)
        .on_upgrade(move |socket| connection::serve(socket, gateway, request_version))
}
