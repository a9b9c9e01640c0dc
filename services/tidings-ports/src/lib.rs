//! The ports of Tidings: the [`log::EventLog`] that carries every state change, and the
//! [`store::Store`] that holds their projections. Each trait's docs are its contract; the
//! [`conformance`] suite (feature `conformance`) checks an adapter against it, and every
//! adapter (embedded, Kafka, CQL) runs the same suite. Replay (`tidings replay`) needs two
//! capabilities more, with their own contracts and checks: [`history::LogHistory`] (a log's
//! history read outside consumer groups) and [`inventory::ReplayStore`] (a store's
//! checkpoints and full listing). Every store also keeps the audit trail and operators'
//! accounts ([`accounts::AuditStore`], [`accounts::OperatorStore`]).

pub mod accounts;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod history;
pub mod inventory;
pub mod log;
pub mod store;

pub use accounts::{AuditStore, Operator, OperatorStore};
pub use history::{GroupPosition, LogHistory, PartitionExtent};
pub use inventory::{MailboxPage, ReplayStore};
pub use log::{EventLog, LogError, LogRecord, OutgoingRecord, RecordPosition, Subscription, Topics};
pub use store::{FoundSend, IndexedSend, MailboxChange, MailboxState, MsgRange, Order, Store, StoreError};
