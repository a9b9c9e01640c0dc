//! The frames of the long-connection contract (`docs/design.md`, "The long connection";
//! `schemas/asyncapi.yaml`): JSON text frames `{"type": ..., ...}`; a frame with an `id`
//! gets its answer with the same `id`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tidings_domain::{MsgId, PublicSeq, Uid};
use tidings_http::bodies::SyncResponse;

/// What a client sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// The first frame: who the client is.
    Login {
        token: String,
        #[serde(default)]
        platform: Option<String>,
        #[serde(default)]
        app_version: Option<String>,
        #[serde(default)]
        core_level: Option<i64>,
    },
    /// The answer to the gateway's `ping` (any frame proves liveness).
    Pong,
    /// The client's own liveness probe; answered with `pong`.
    Ping,
    /// The same page as `GET /v1/mailbox/sync`.
    Sync {
        id: Value,
        #[serde(default)]
        cursor: Option<String>,
        #[serde(default)]
        limit: Option<usize>,
    },
    /// A private chat message from the token's user to `to_uid`.
    Send {
        id: Value,
        to_uid: Uid,
        content: String,
        msgkey: String,
        #[serde(default)]
        category: Option<i32>,
        /// The message's `type` (the frame's own `type` is `send`).
        #[serde(default, rename = "message_type")]
        kind: Option<i32>,
        #[serde(default)]
        priority: Option<i32>,
        #[serde(default)]
        business_type: Option<i32>,
        #[serde(default)]
        expire_s: Option<i64>,
    },
}

impl ClientFrame {
    /// Every `type` a client may send.
    pub const TYPES: [&'static str; 5] = ["login", "pong", "ping", "sync", "send"];
}

/// What the gateway sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    Welcome {
        session_id: String,
        heartbeat_ms: u64,
        reconnect: Reconnect,
        server_time_us: i64,
    },
    Ping,
    Pong,
    /// A signal to sync, never the message itself.
    Notify(Notify),
    Synced {
        id: Value,
        #[serde(flatten)]
        page: SyncResponse,
    },
    /// The send is durably in the log (the same `msgkey` again acks again, delivers once).
    Ack {
        id: Value,
        msgkey: String,
    },
    /// A bad frame the connection survives.
    Error {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<Value>,
        code: &'static str,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        field: Option<String>,
    },
}

/// The reconnect backoff clients use, from the least to the most delay.
#[derive(Debug, Serialize)]
pub struct Reconnect {
    pub min_ms: u64,
    pub max_ms: u64,
}

/// Which part of the mailbox changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum Notify {
    /// The private mailbox has messages up to `up_to`.
    Private { up_to: MsgId },
    /// The app's public mailbox reached `seq`; pull within `pull_within_ms`.
    Public { seq: PublicSeq, pull_within_ms: u64 },
}

/// The close codes of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCode {
    /// No `login` within the login timeout.
    NoLogin = 4001,
    /// A frame that is not JSON, not text, or not a frame.
    Malformed = 4400,
    /// A bad or expired token.
    BadToken = 4401,
    /// The token may not open a connection (not a user token).
    NotAllowed = 4403,
    /// Silent for two heartbeats.
    HeartbeatTimeout = 4408,
    /// A frame above `gateway.max_frame_bytes`.
    TooLarge = 4413,
    /// More than `gateway.max_frames_per_second`.
    TooManyFrames = 4429,
    /// The gateway is shutting down: reconnect after the reason's `reconnect_after_ms`.
    Draining = 4503,
}

impl CloseCode {
    pub fn code(self) -> u16 {
        self as u16
    }
}
