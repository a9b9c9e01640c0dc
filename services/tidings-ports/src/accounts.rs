//! Two capabilities every [`Store`](crate::Store) has besides projections: the audit trail
//! of public-mailbox changes (a projection of the log too) and operators' accounts (which
//! are not: they live only in the store).

use std::fmt::Debug;

use async_trait::async_trait;
use tidings_domain::AppId;
use tidings_domain::audit::{AuditEntry, AuditSubject};

use crate::store::StoreError;

/// An operator's account in one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub app_id: AppId,
    /// Unique within the app.
    pub name: String,
    /// The password's hash as a PHC string (`$argon2id$v=19$...`), never the password.
    pub password_hash: String,
    /// Unix microseconds at which the account was (last) written.
    pub created_at_us: i64,
}

/// Where operators' accounts live.
///
/// Contract, checked by [`crate::conformance`] (`operator_store_conformance_tests!`):
/// - [`OperatorStore::put_operator`] inserts the account, or replaces the one with the same
///   `(app_id, name)` whole; durable on `Ok`.
/// - [`OperatorStore::operator`] returns what the last put wrote, or `None`; names are
///   compared exactly (case-sensitive).
/// - [`OperatorStore::list_operators`] returns every account of the app, sorted by name.
///
/// Accounts are not events: `tidings replay rebuild` does not carry them into a new target.
#[async_trait]
pub trait OperatorStore: Send + Sync + Debug {
    async fn put_operator(&self, operator: &Operator) -> Result<(), StoreError>;

    async fn operator(&self, app_id: AppId, name: &str) -> Result<Option<Operator>, StoreError>;

    async fn list_operators(&self, app_id: AppId) -> Result<Vec<Operator>, StoreError>;
}

/// Where the audit trail lives: one [`AuditEntry`] per accepted public-mailbox change.
///
/// Contract, checked by [`crate::conformance`] (`audit_store_conformance_tests!`):
/// - [`AuditStore::record_audit`] is durable on `Ok` and idempotent: an entry is identified
///   by `(app_id, subject, revision)`, and recording one again (a redelivered event, a
///   replay) leaves one entry. The projector records an entry before it applies the change,
///   so a crash in between is repaired by the redelivery.
/// - [`AuditStore::audit`] returns up to `limit` entries of the app, only those of
///   `subject` when given, newest first: by `at_us`, then by revision, descending.
#[async_trait]
pub trait AuditStore: Send + Sync + Debug {
    async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;

    async fn audit(
        &self,
        app_id: AppId,
        subject: Option<AuditSubject>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}
