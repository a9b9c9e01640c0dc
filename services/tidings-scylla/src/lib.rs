//! The CQL store of distributed Tidings: the [`Store`](tidings_ports::Store) port on
//! ScyllaDB or Apache Cassandra.
//!
//! - [`ScyllaSettings`]: where the cluster is and how to talk to it (embedded in the
//!   binary's config).
//! - [`migrate`]: applies the versioned schema of `schemas/cql/` ([`MIGRATIONS`]) and records
//!   it in `schema_migrations`; `tidings schema migrate` calls it. [`ScyllaStore::connect`]
//!   never changes the schema.
//! - [`ScyllaStore`]: the store, statements prepared once at connect.
//!
//! # Tables
//! - `messages`, one partition per mailbox `(app_id, uid)`, rows by `msg_id` newest first,
//!   and the mailbox's state in static columns: `head`, `read_up_to`, `hidden_broadcasts`.
//!   A message row carries a TTL when the message expires.
//! - `deliveries`, same partition key, `dedupe_key` → `msg_id` (read by the projector only).
//! - `broadcasts`, one partition per app, rows by `broadcast_id` (the broadcast as JSON,
//!   in the shape of the adapter's own record, module `records`), and the app's `PublicState` in static columns: `last_seq`, `whitelist`,
//!   `whitelist_revision`.
//! - `replay_checkpoints` (V002), per topic partition the next offset a rebuild into this
//!   keyspace projects ([`tidings_ports::ReplayStore`]); empty in a live keyspace.
//! - `reach` (V003), one partition per broadcast, a reach sketch per kind, platform and
//!   hour (module `reach`).
//! - `operators` (V004), one partition per app, a row per operator name
//!   ([`tidings_ports::OperatorStore`]); `audit_by_app` and `audit_by_subject` (V004), the
//!   audit trail newest first, per app and per broadcast or whitelist
//!   ([`tidings_ports::AuditStore`]). Their statements are prepared on first use.
//! - V005 adds `messages.recalls` (a delete command's row names the message it removed),
//!   the static `messages.attributes` (users' attributes, read with the mailbox state), and
//!   `sends`, the recall index: one partition per app and send key, a row per recipient
//!   (module `sends`).
//!
//! # Why the contract holds
//! - **Atomic per mailbox.** One call's changes to one mailbox are folded in order into net
//!   writes (module `plan`) and sent as one LOGGED batch: row inserts, their dedupe
//!   rows, the head, deletes, the read mark and hidden broadcasts. `messages` and
//!   `deliveries` share the partition key, so the batch is a single mutation of one
//!   partition key: applied all or nothing, and isolated for readers of `messages` (a
//!   reader sees all of the call's rows of a mailbox or none, which is docs/design.md#no-missed-pull). Only a
//!   call whose rows for one mailbox weigh over 4 MiB is split, into batches ascending by
//!   `msg_id`, each with its own rows, dedupe keys and head: the no missed pull invariant (docs/design.md#no-missed-pull) still holds, and a
//!   retry or replay completes what a crash left (the projector skips deliveries whose
//!   dedupe key is there and stamps the rest from the head as it did the first time).
//! - **Raise-only marks without reading.** `head` and `read_up_to` are written `USING
//!   TIMESTAMP <value>`: a cell keeps the write with the largest timestamp, so each keeps
//!   the largest value ever written, whatever the order or repetition of the writes and
//!   with no read-before-write (safe even if two projectors briefly write one mailbox during
//!   a rebalance). No other write touches these cells. `msg_id`s are unix microseconds, the
//!   unit of write timestamps; a cluster guardrail on future write timestamps (Cassandra's
//!   `maximum_timestamp_*_threshold`, off by default) would have to allow them.
//! - **Idempotent.** Inserts overwrite with the same values, set additions and deletes
//!   repeat harmlessly, marks keep their maximum; every statement is marked idempotent so
//!   the driver may retry it. Deleting a message leaves its dedupe row, so a replayed
//!   delivery finds it and stays deleted.
//! - **Atomic per app.** `apply_public_change` is one single-partition batch (the broadcast
//!   row and the static public state): atomic and isolated.
//! - **Durable.** A write is acknowledged by the replicas the consistency level names
//!   (default `LOCAL_QUORUM`), each having appended it to its commit log; how soon that log
//!   reaches the disk is the cluster's `commitlog_sync` (the test server of
//!   `infra/cassandra` syncs before acknowledging).
//! - **The pull path** reads the public mailboxes only through
//!   [`load_public_mailboxes`](tidings_ports::Store::load_public_mailboxes): one paged scan
//!   of `broadcasts` per cache refresh.
//!
//! Write timestamps come from one monotonic clock per process, so a later delete of a row
//! by the same projector always wins over its insert. Expired message rows vanish by TTL
//! (the puller hides them anyway); their dedupe rows stay.

mod accounts;
mod batches;
mod bounded;
pub mod error;
mod inventory;
mod migrate;
mod paging;
mod plan;
mod reach;
mod records;
mod rows;
mod sends;
mod session;
mod settings;
mod statements;
mod store;
mod ttl;

pub use bounded::run_bounded;
pub use migrate::{
    MIGRATIONS, Migration, MigrationError, MigrationReport, check_keyspace, drop_keyspace, is_valid_keyspace_name,
    migrate,
};
pub use session::open_session;
pub use settings::{ConsistencyLevel, ScyllaSettings, UnknownConsistencyLevel};
pub use store::ScyllaStore;
