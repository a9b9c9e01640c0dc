//! The conformance suite: what every adapter of [`EventLog`](crate::EventLog) and
//! [`Store`](crate::Store) must do, written once from the contracts in the traits' docs.
//!
//! An adapter runs it from one of its integration tests:
//!
//! ```ignore
//! tidings_ports::event_log_conformance_tests!(async { open_fresh_log().await });
//! tidings_ports::store_conformance_tests!(async { open_fresh_store().await });
//! ```
//!
//! Each macro expands, in the calling file, into a module (`event_log_conformance`,
//! `store_conformance`) holding one `#[tokio::test]` per check of [`event_log`] or
//! [`store`]. The factory expression is evaluated once per test and must yield a
//! [`Fixture`]: an `Arc<A>` with `A: EventLog` (or `Store`), the `Arc<dyn …>` itself, or
//! either paired with what must outlive the check (e.g. the adapter's temporary
//! directory); items of the calling file are in scope. The calling crate needs `tokio`
//! (with `macros` and `rt-multi-thread`) among its dev-dependencies.
//!
//! The checks assume only what the contracts promise, so they hold for the embedded
//! engines as well as for Kafka and a CQL server. Real engines are shared between tests and
//! between runs, so every check works on fresh names: its own topics, consumer groups,
//! `app_id`s and `uid`s, from [`unique_name`] and [`unique_id`]. Waits are bounded by
//! [`PATIENCE`], long enough for a Kafka consumer group to form.
//!
//! Two more macros check the replay capabilities: `log_history_conformance_tests!`
//! ([`history`], for a [`LogHistory`](crate::LogHistory)) and
//! `replay_store_conformance_tests!` ([`inventory`], for a
//! [`ReplayStore`](crate::ReplayStore)).
//!
//! `operator_store_conformance_tests!` and `audit_store_conformance_tests!` check the
//! [`OperatorStore`](crate::OperatorStore) and [`AuditStore`](crate::AuditStore) contracts
//! ([`accounts`]).
//!
//! Durability across a restart is not here: a generic suite cannot restart an engine. Each
//! adapter tests it on its own (reopen the embedded data directory; restart the broker).

mod harness;
mod macros;

pub mod accounts;
pub mod event_log;
pub mod history;
pub mod inventory;
pub mod store;

pub use harness::{Fixture, PATIENCE, poll_until, positions, record, unique_id, unique_name};
