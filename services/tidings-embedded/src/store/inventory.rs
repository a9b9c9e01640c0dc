//! [`ReplayStore`] of the embedded store: checkpoints in a keyspace of their own, listings
//! by key order.

use async_trait::async_trait;
use fjall::{PersistMode, Readable};
use tidings_domain::message::Mailbox;
use tidings_domain::{AppId, MsgId};
use tidings_ports::{MailboxPage, RecordPosition, ReplayStore, StoreError};

use super::{EmbeddedStore, from_fjall};
use crate::keys;

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("undecodable {what} in the embedded store"))
}

fn mailbox_of_key(key: &[u8]) -> Result<Mailbox, StoreError> {
    let (app_id, uid) = key.split_first_chunk::<8>().ok_or_else(|| corrupt("mailbox key"))?;
    let uid = uid.first_chunk::<8>().ok_or_else(|| corrupt("mailbox key"))?;
    Ok(Mailbox::new(keys::i64_from_sortable(*app_id), keys::i64_from_sortable(*uid)))
}

#[async_trait]
impl ReplayStore for EmbeddedStore {
    async fn replay_checkpoints(&self) -> Result<Vec<RecordPosition>, StoreError> {
        self.blocking(|store| {
            store
                .replay_checkpoints
                .iter()
                .map(|entry| {
                    let (key, value) = entry.into_inner().map_err(from_fjall)?;
                    let (topic, partition) =
                        keys::split_partition_prefix(&key).ok_or_else(|| corrupt("checkpoint key"))?;
                    let offset = value.first_chunk::<8>().ok_or_else(|| corrupt("checkpoint"))?;
                    Ok(RecordPosition {
                        topic,
                        partition: partition as i32,
                        offset: u64::from_be_bytes(*offset) as i64,
                    })
                })
                .collect()
        })
        .await
    }

    async fn save_replay_checkpoints(&self, next: &[RecordPosition]) -> Result<(), StoreError> {
        let entries: Vec<(Vec<u8>, u64)> = next
            .iter()
            .map(|position| {
                let key = keys::partition_prefix(&position.topic, position.partition as u32);
                (key, position.offset.max(0) as u64)
            })
            .collect();
        self.blocking(move |store| {
            let mut batch = store.database.batch().durability(Some(PersistMode::SyncAll));
            for (key, offset) in entries {
                batch.insert(&store.replay_checkpoints, key, offset.to_be_bytes());
            }
            batch.commit().map_err(from_fjall)
        })
        .await
    }

    async fn mailboxes(&self, from: Option<Vec<u8>>, limit: usize) -> Result<MailboxPage, StoreError> {
        self.blocking(move |store| {
            let snapshot = store.database.snapshot();
            let mut mailboxes = Vec::new();
            let start = match from {
                Some(after) => std::ops::Bound::Excluded(after),
                None => std::ops::Bound::Unbounded,
            };
            let range = snapshot.range::<Vec<u8>, _>(&store.mailboxes, (start, std::ops::Bound::Unbounded));
            let mut last_key = None;
            for entry in range.take(limit.max(1)) {
                let key = entry.key().map_err(from_fjall)?;
                mailboxes.push(mailbox_of_key(&key)?);
                last_key = Some(key.to_vec());
            }
            let next = if mailboxes.len() == limit.max(1) { last_key } else { None };
            Ok(MailboxPage { mailboxes, next })
        })
        .await
    }

    async fn apps(&self) -> Result<Vec<AppId>, StoreError> {
        self.blocking(|store| {
            store
                .public_states
                .iter()
                .map(|entry| {
                    let key = entry.key().map_err(from_fjall)?;
                    keys::app_of_key(&key).ok_or_else(|| corrupt("app key"))
                })
                .collect()
        })
        .await
    }

    async fn deliveries(&self, mailbox: Mailbox) -> Result<Vec<(String, MsgId)>, StoreError> {
        self.blocking(move |store| {
            let prefix = keys::mailbox_key(mailbox);
            store
                .database
                .snapshot()
                .prefix(&store.deliveries, &prefix)
                .map(|entry| {
                    let (key, value) = entry.into_inner().map_err(from_fjall)?;
                    let dedupe_key =
                        String::from_utf8(key[prefix.len()..].to_vec()).map_err(|_| corrupt("dedupe key"))?;
                    let msg_id = value.first_chunk::<8>().ok_or_else(|| corrupt("delivery"))?;
                    Ok((dedupe_key, MsgId::from_be_bytes(*msg_id)))
                })
                .collect()
        })
        .await
    }
}
