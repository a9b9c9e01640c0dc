//! The wiring of Tidings: what a `tidings` process runs, on which engines, with which
//! settings. The binary (`services/tidings`) parses arguments and calls this crate; the
//! benchmarks (`services/tidings-bench`) and future tools call it too, so nothing here
//! depends on a command line.
//!
//! - [`config`]: the layered configuration (defaults < TOML file < `TIDINGS_*` environment
//!   < flags), composed from the settings each service declares for itself.
//! - [`engines`]: the event log and the store the configuration names (embedded, Kafka, CQL),
//!   and the CQL schema migration.
//! - [`services`]: the services (ingest, projector, public-mailbox cache, puller) built on
//!   those engines, and the background tasks that keep them running.
//! - [`roles`]: which roles a process runs, and [`roles::run`] to run them until shutdown.
//! - [`auth`]: the signing secret (configured, or generated into the data directory) and
//!   development tokens.
//! - [`telemetry`]: structured logs and the Prometheus recorder.
//! - [`shutdown`]: a token cancelled on Ctrl-C or SIGTERM.
//!
//! Errors here are reports for the person who started the process (`anyhow`, with the
//! context of what was being done); the services below keep typed errors.
//!
//! The design behind the pieces (vocabulary, flows, invariants): `docs/design.md`.

pub mod auth;
pub mod config;
pub mod engines;
pub mod listener;
pub mod replay;
pub mod roles;
pub mod services;
pub mod shutdown;
pub mod telemetry;

pub use config::{Config, Overrides};
pub use roles::ServerRole;
