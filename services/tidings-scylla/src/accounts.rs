//! [`OperatorStore`] and [`AuditStore`] on CQL: `operators`, `audit_by_app` and
//! `audit_by_subject` (migration V004). Their statements are prepared on first use, so the
//! other roles don't depend on V004.

use async_trait::async_trait;
use scylla::statement::prepared::PreparedStatement;
use tidings_domain::AppId;
use tidings_domain::audit::{Actor, AuditAction, AuditEntry, AuditSubject};
use tidings_ports::{AuditStore, Operator, OperatorStore, StoreError};

use crate::error;
use crate::inventory::needs_migration;
use crate::paging::all_rows;
use crate::statements::prepare;
use crate::store::ScyllaStore;

/// The statements of this module, prepared on first use.
#[derive(Debug)]
pub(crate) struct AccountStatements {
    put_operator: PreparedStatement,
    operator: PreparedStatement,
    list_operators: PreparedStatement,
    audit_by_app: PreparedStatement,
    audit_by_subject: PreparedStatement,
    list_by_app: PreparedStatement,
    list_by_subject: PreparedStatement,
}

const AUDIT_COLUMNS: &str = "app_id, at_us, subject, revision, action, actor_kind, actor_name";

impl AccountStatements {
    async fn prepare(store: &ScyllaStore) -> Result<Self, StoreError> {
        let (session, keyspace) = (store.session(), store.keyspace());
        let plain = |text: String| prepare(session, keyspace, text, None);
        Ok(Self {
            put_operator: plain(
                "INSERT INTO operators (app_id, name, password_hash, created_at_us) VALUES (?, ?, ?, ?)".into(),
            )
            .await?,
            operator: plain(
                "SELECT app_id, name, password_hash, created_at_us FROM operators WHERE app_id = ? AND name = ?".into(),
            )
            .await?,
            list_operators: plain(
                "SELECT app_id, name, password_hash, created_at_us FROM operators WHERE app_id = ?".into(),
            )
            .await?,
            audit_by_app: plain(format!("INSERT INTO audit_by_app ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"))
                .await?,
            audit_by_subject: plain(format!(
                "INSERT INTO audit_by_subject ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
            ))
            .await?,
            list_by_app: plain(format!("SELECT {AUDIT_COLUMNS} FROM audit_by_app WHERE app_id = ? LIMIT ?")).await?,
            list_by_subject: plain(format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_by_subject WHERE app_id = ? AND subject = ? LIMIT ?"
            ))
            .await?,
        })
    }
}

impl ScyllaStore {
    async fn account_statements(&self) -> Result<&AccountStatements, StoreError> {
        self.accounts
            .get_or_try_init(|| AccountStatements::prepare(self))
            .await
            .map_err(|error| needs_migration(error, 4))
    }
}

type OperatorRow = (i64, String, String, i64);
type AuditRow = (i64, i64, String, i32, String, Option<String>, Option<String>);

fn operator_of((app_id, name, password_hash, created_at_us): OperatorRow) -> Operator {
    Operator { app_id, name, password_hash, created_at_us }
}

fn audit_values(entry: &AuditEntry) -> AuditRow {
    let (kind, name) = match &entry.actor {
        Some(actor) => (Some(actor.kind().to_owned()), Some(actor.name().to_owned())),
        None => (None, None),
    };
    (entry.app_id, entry.at_us, entry.subject.to_text(), entry.revision, entry.action.as_str().to_owned(), kind, name)
}

fn audit_of((app_id, at_us, subject, revision, action, kind, name): AuditRow) -> Result<AuditEntry, StoreError> {
    let corrupt = |what: &str, value: &str| StoreError::Corrupt(format!("undecodable audit {what} {value:?}"));
    let actor = match (kind.as_deref(), name) {
        (None, _) => None,
        (Some("operator"), Some(name)) => Some(Actor::Operator(name)),
        (Some("app"), Some(name)) => Some(Actor::App(name)),
        (Some(kind), _) => return Err(corrupt("actor", kind)),
    };
    Ok(AuditEntry {
        app_id,
        subject: AuditSubject::from_text(&subject).ok_or_else(|| corrupt("subject", &subject))?,
        revision,
        action: AuditAction::parse(&action).ok_or_else(|| corrupt("action", &action))?,
        actor,
        at_us,
    })
}

#[async_trait]
impl OperatorStore for ScyllaStore {
    async fn put_operator(&self, operator: &Operator) -> Result<(), StoreError> {
        let statements = self.account_statements().await?;
        let values = (operator.app_id, &operator.name, &operator.password_hash, operator.created_at_us);
        self.session()
            .execute_unpaged(&statements.put_operator, values)
            .await
            .map_err(|e| error::execution("put an operator", e))?;
        Ok(())
    }

    async fn operator(&self, app_id: AppId, name: &str) -> Result<Option<Operator>, StoreError> {
        let statements = self.account_statements().await?;
        let rows: Vec<OperatorRow> =
            all_rows(self.session(), "read an operator", &statements.operator, &(app_id, name)).await?;
        Ok(rows.into_iter().next().map(operator_of))
    }

    /// Rows come by clustering order, which is by name.
    async fn list_operators(&self, app_id: AppId) -> Result<Vec<Operator>, StoreError> {
        let statements = self.account_statements().await?;
        let rows: Vec<OperatorRow> =
            all_rows(self.session(), "list operators", &statements.list_operators, &(app_id,)).await?;
        Ok(rows.into_iter().map(operator_of).collect())
    }
}

#[async_trait]
impl AuditStore for ScyllaStore {
    /// Two idempotent inserts, one per table; a crash between them is repaired by the
    /// redelivery that writes both again.
    async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let statements = self.account_statements().await?;
        let values = audit_values(entry);
        for statement in [&statements.audit_by_app, &statements.audit_by_subject] {
            self.session()
                .execute_unpaged(statement, &values)
                .await
                .map_err(|e| error::execution("record an audit entry", e))?;
        }
        Ok(())
    }

    async fn audit(
        &self,
        app_id: AppId,
        subject: Option<AuditSubject>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let statements = self.account_statements().await?;
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        let rows: Vec<AuditRow> = match subject {
            None => all_rows(self.session(), "read the audit trail", &statements.list_by_app, &(app_id, limit)).await?,
            Some(subject) => {
                let values = (app_id, subject.to_text(), limit);
                all_rows(self.session(), "read the audit trail", &statements.list_by_subject, &values).await?
            }
        };
        rows.into_iter().map(audit_of).collect()
    }
}
