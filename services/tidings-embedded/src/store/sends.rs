//! The recall index in the `store_sends` keyspace: one key per send key and recipient,
//! `app_id, str send key, uid` (byte order = uid order within a key), whose value is the
//! deliveries' dedupe key. Indexing is inserting keys, so a repeat or a second send under
//! one msgkey only adds what is new.

use fjall::{PersistMode, Readable};
use tidings_domain::AppId;
use tidings_ports::{FoundSend, IndexedSend, StoreError};

use super::{StoreInner, from_fjall};
use crate::keys::{i64_from_sortable, send_key};

impl StoreInner {
    pub(super) fn index_sends(&self, sends: &[IndexedSend]) -> Result<(), StoreError> {
        let mut batch = self.database.batch().durability(Some(PersistMode::SyncAll));
        for send in sends {
            for key in send.keys() {
                for uid in &send.recipients {
                    batch.insert(&self.sends, send_key(send.app_id, key, Some(*uid)), send.dedupe_key.as_bytes());
                }
            }
        }
        batch.commit().map_err(from_fjall)
    }

    pub(super) fn find_send(&self, app_id: AppId, key: &str) -> Result<Option<FoundSend>, StoreError> {
        let prefix = send_key(app_id, key, None);
        let snapshot = self.database.snapshot();
        let mut found: Option<FoundSend> = None;
        for entry in snapshot.prefix(&self.sends, &prefix) {
            let (key, value) = entry.into_inner().map_err(from_fjall)?;
            let corrupt = || StoreError::Corrupt("undecodable recall index entry".into());
            let uid = key[prefix.len()..].try_into().map(i64_from_sortable).map_err(|_| corrupt())?;
            let send = found.get_or_insert_with(|| FoundSend {
                dedupe_key: String::from_utf8_lossy(&value).into_owned(),
                recipients: Vec::new(),
            });
            send.recipients.push(uid);
        }
        Ok(found)
    }
}
