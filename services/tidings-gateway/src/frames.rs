//! The frames of the long-connection contract (`docs/design.md`, "The long connection";
//! `schemas/asyncapi.yaml`): JSON text frames `{"type": ..., ...}`; a frame with an `id`
//! gets its answer with the same `id`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tidings_domain::{MsgId, PublicSeq, Uid};
use tidings_http::bodies::SyncResponse;
use tidings_http::extract::blamed_field;

/// What a client sends: its `type` picks the variant, the other fields are the variant's.
#[derive(Debug)]
pub enum ClientFrame {
    /// The first frame: who the client is.
    Login(LoginFrame),
    /// The answer to the gateway's `ping` (any frame proves liveness).
    Pong,
    /// The client's own liveness probe; answered with `pong`.
    Ping,
    /// The same page as `GET /v1/mailbox/sync`.
    Sync(SyncFrame),
    /// A private chat message from the token's user to `to_uid`.
    Send(SendFrame),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginFrame {
    pub token: String,
    #[serde(default)]
    pub platform: Option<String>,
    #[serde(default)]
    pub app_version: Option<String>,
    #[serde(default)]
    pub core_level: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncFrame {
    pub id: Value,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendFrame {
    pub id: Value,
    pub to_uid: Uid,
    pub content: String,
    pub msgkey: String,
    #[serde(default)]
    pub category: Option<i32>,
    /// The message's `type` (the frame's own `type` is `send`).
    #[serde(default, rename = "message_type")]
    pub kind: Option<i32>,
    #[serde(default)]
    pub priority: Option<i32>,
    #[serde(default)]
    pub business_type: Option<i32>,
    #[serde(default)]
    pub expire_s: Option<i64>,
}

/// `ping` and `pong` carry nothing but their `type`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

impl ClientFrame {
    /// Every `type` a client may send.
    pub const TYPES: [&'static str; 5] = ["login", "pong", "ping", "sync", "send"];

    /// Reads a frame: first as JSON (else fatal), then its `type`, then its fields; an error
    /// carries the frame's `id` when it had one and names the field at fault.
    pub fn parse(text: &str) -> Result<ClientFrame, BadFrame> {
        let value: Value = serde_json::from_str(text).map_err(|error| BadFrame {
            fatal: true,
            id: None,
            code: "malformed",
            message: format!("not a JSON frame: {error}"),
            field: None,
        })?;
        let id = value.get("id").cloned();
        let Value::Object(mut fields) = value else {
            return Err(BadFrame::unknown_type(id, ""));
        };
        let kind = fields.remove("type");
        let kind = kind.as_ref().and_then(Value::as_str).unwrap_or_default();
        // The variant's fields apart from `type`, read with their path: serde's tagged enums
        // lose it, so a wrong value was blamed on whatever its message quoted (`-1`).
        let fields = Value::Object(fields);
        let frame = match kind {
            "login" => variant(fields).map(ClientFrame::Login),
            "pong" => variant::<NoFields>(fields).map(|_| ClientFrame::Pong),
            "ping" => variant::<NoFields>(fields).map(|_| ClientFrame::Ping),
            "sync" => variant(fields).map(ClientFrame::Sync),
            "send" => variant(fields).map(ClientFrame::Send),
            other => return Err(BadFrame::unknown_type(id, other)),
        };
        frame.map_err(|error| BadFrame {
            fatal: false,
            id,
            code: "invalid_field",
            field: Some(blamed_field(&error)),
            message: error.inner().to_string(),
        })
    }
}

fn variant<T: DeserializeOwned>(fields: Value) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
    serde_path_to_error::deserialize(fields)
}

/// A frame that could not be read: fatal (not JSON at all: 4400) or answered with `error`.
#[derive(Debug)]
pub struct BadFrame {
    pub fatal: bool,
    pub id: Option<Value>,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl BadFrame {
    fn unknown_type(id: Option<Value>, kind: &str) -> Self {
        let message = format!("unknown frame type {kind:?}: expected one of {}", ClientFrame::TYPES.join(", "));
        BadFrame { fatal: false, id, code: "unknown_type", message, field: Some("type".into()) }
    }

    pub fn into_frame(self) -> ServerFrame {
        ServerFrame::Error { id: self.id, code: self.code, message: self.message, field: self.field }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn blamed(text: &str) -> Option<String> {
        ClientFrame::parse(text).err().and_then(|bad| bad.field)
    }

    /// Inputs of the fuzz target `gateway_frames` (tidings-fuzz): a wrong value was blamed on
    /// what the message quoted (`-1`, `x`), or on no field at all.
    #[test]
    fn a_bad_frame_names_its_field() {
        assert_eq!(blamed(r#"{"type":"sync","id":1,"limit":-1}"#).as_deref(), Some("limit"));
        assert_eq!(
            blamed(r#"{"type":"send","id":1,"to_uid":"x","content":"c","msgkey":"k"}"#).as_deref(),
            Some("to_uid")
        );
        assert_eq!(blamed(r#"{"type":"sync"}"#).as_deref(), Some("id"));
        assert_eq!(blamed(r#"{"type":"ping","extra":1}"#).as_deref(), Some("extra"));
        assert_eq!(blamed(r#"{"type":"nope","id":7}"#).as_deref(), Some("type"));
        let bad = ClientFrame::parse(r#"{"type":"sync","id":7,"limit":"x"}"#).unwrap_err();
        assert_eq!((bad.fatal, bad.id), (false, Some(Value::from(7))));
        assert!(ClientFrame::parse("not json").unwrap_err().fatal);
        assert!(matches!(ClientFrame::parse(r#"{"type":"ping"}"#), Ok(ClientFrame::Ping)));
    }
}
