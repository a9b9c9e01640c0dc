//! [`OperatorStore`] and [`AuditStore`] of the embedded store: a keyspace each.

use async_trait::async_trait;
use fjall::{Keyspace, PersistMode, Readable};
use tidings_domain::AppId;
use tidings_domain::audit::{AuditEntry, AuditSubject};
use tidings_ports::{AuditStore, Operator, OperatorStore, StoreError};

use super::{EmbeddedStore, StoreInner, from_fjall, get};
use crate::keys;
use crate::records::{decode, encode};

/// One insert, synced to disk before `Ok`.
fn insert_synced(store: &StoreInner, keyspace: &Keyspace, key: Vec<u8>, value: Vec<u8>) -> Result<(), StoreError> {
    let mut batch = store.database.batch().durability(Some(PersistMode::SyncAll));
    batch.insert(keyspace, key, value);
    batch.commit().map_err(from_fjall)
}

#[async_trait]
impl OperatorStore for EmbeddedStore {
    async fn put_operator(&self, operator: &Operator) -> Result<(), StoreError> {
        let key = keys::operator_key(operator.app_id, &operator.name);
        let value = encode(operator)?;
        self.blocking(move |store| insert_synced(store, &store.operators, key, value)).await
    }

    async fn operator(&self, app_id: AppId, name: &str) -> Result<Option<Operator>, StoreError> {
        let key = keys::operator_key(app_id, name);
        self.read_now(|store| get(&store.database.snapshot(), &store.operators, &key))
    }

    /// By key order, which is by name within the app (a length prefix first, so sorted
    /// again here).
    async fn list_operators(&self, app_id: AppId) -> Result<Vec<Operator>, StoreError> {
        self.blocking(move |store| {
            let mut operators = store
                .database
                .snapshot()
                .prefix(&store.operators, keys::app_key(app_id))
                .map(|entry| decode::<Operator>(&entry.value().map_err(from_fjall)?))
                .collect::<Result<Vec<_>, _>>()?;
            operators.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(operators)
        })
        .await
    }
}

#[async_trait]
impl AuditStore for EmbeddedStore {
    async fn record_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let key = keys::audit_key(entry.app_id, entry.at_us, entry.subject, entry.revision);
        let value = encode(entry)?;
        self.blocking(move |store| insert_synced(store, &store.audit, key, value)).await
    }

    /// Scans the app's entries backwards; with a subject, the entries of others are read
    /// and skipped (an all-in-one deployment's trail is small).
    async fn audit(
        &self,
        app_id: AppId,
        subject: Option<AuditSubject>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.blocking(move |store| {
            let mut entries = Vec::new();
            for entry in store.database.snapshot().prefix(&store.audit, keys::app_key(app_id)).rev() {
                if entries.len() >= limit {
                    break;
                }
                let entry: AuditEntry = decode(&entry.value().map_err(from_fjall)?)?;
                if subject.is_none_or(|subject| subject == entry.subject) {
                    entries.push(entry);
                }
            }
            Ok(entries)
        })
        .await
    }
}
