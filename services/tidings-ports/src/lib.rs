//! The ports of Tidings: the [`log::EventLog`] that carries every state change, and the
//! [`store::Store`] that holds their projections. Each trait's docs are its contract; the
//! [`conformance`] suite (feature `conformance`) checks an adapter against it, and every
//! adapter (embedded, Kafka, CQL) runs the same suite.

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod log;
pub mod store;

pub use log::{EventLog, LogError, LogRecord, OutgoingRecord, RecordPosition, Subscription, Topics};
pub use store::{MailboxChange, MailboxState, MsgRange, Order, Store, StoreError};
