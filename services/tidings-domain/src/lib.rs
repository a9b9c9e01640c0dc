//! The Tidings domain, free of I/O.
//!
//! - [`message`]: mailboxes, message records (the seed's section 4.3) and `msg_id` stamping.
//! - [`broadcast`]: the full-user broadcast, its lifecycle state machine and its audience.
//! - [`client`]: who is pulling (platform, app version, core level, guest or not).
//! - [`public`]: the public mailbox of an app and what one viewer may see of it.
//! - [`sync`]: the merge of a private page with public entries under one opaque cursor.
//! - [`event`]: every state change, as it travels on the event log.
//! - [`audit`]: who made each public-mailbox change ([`audit::Actor`]) and the entries of
//!   the audit trail.
//!
//! Services feed these functions with what they read from the ports and write back what
//! the functions return; every rule that an invariant of docs/design.md depends on lives here,
//! where it is property-tested.

pub mod audit;
pub mod broadcast;
pub mod client;
pub mod event;
pub mod message;
pub mod public;
pub mod sync;
pub mod time;

/// An application (tenant) id.
pub type AppId = i64;
/// A user id, unique within an app.
pub type Uid = i64;
/// A message id: unix microseconds, unique and strictly increasing within one mailbox.
pub type MsgId = i64;
/// A full-user broadcast id, unique within an app.
pub type BroadcastId = i64;
/// A position in an app's public mailbox: grows by one on every change that makes a
/// broadcast visible to someone.
pub type PublicSeq = i64;

/// Input that breaks a rule of the domain, naming the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}
