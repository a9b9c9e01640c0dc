//! The embedded store: mailboxes and the public mailbox in fjall keyspaces.

mod accounts;
mod inventory;
mod mailbox_writes;
mod reach;
mod sends;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable, Snapshot};
use tidings_domain::broadcast::Broadcast;
use tidings_domain::message::{Mailbox, StoredMessage};
use tidings_domain::public::{PublicMailbox, PublicState};
use tidings_domain::{AppId, BroadcastId, MsgId};
use tidings_ports::{FoundSend, IndexedSend, MailboxChange, MailboxState, MsgRange, Order, Store, StoreError};
use tidings_reach::{ReachKey, ReachSketch};
use tracing::debug;

use crate::keys;
use crate::records::{Stored, decode, encode};

const MESSAGES_KEYSPACE: &str = "store_messages";
const DELIVERIES_KEYSPACE: &str = "store_deliveries";
const MAILBOXES_KEYSPACE: &str = "store_mailboxes";
const BROADCASTS_KEYSPACE: &str = "store_broadcasts";
const PUBLIC_STATES_KEYSPACE: &str = "store_public_states";
const REPLAY_CHECKPOINTS_KEYSPACE: &str = "store_replay_checkpoints";
const REACH_KEYSPACE: &str = "store_reach";
const OPERATORS_KEYSPACE: &str = "store_operators";
const AUDIT_KEYSPACE: &str = "store_audit";
const SENDS_KEYSPACE: &str = "store_sends";

/// The embedded [`Store`].
///
/// Every write call is one atomic fjall batch across keyspaces, with the journal synced
/// (`fsync`) before `Ok`. Reads go through a fjall snapshot, so they see a batch whole or
/// not at all. fjall calls block, so each call runs on tokio's blocking pool.
///
/// [`Store::load_public_mailboxes`] scans every broadcast ever stored; the pull workers call
/// it about once a second, which is fine for the data volumes of an all-in-one deployment.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<StoreInner>,
}

impl fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedStore").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

struct StoreInner {
    path: PathBuf,
    database: Database,
    messages: Keyspace,
    deliveries: Keyspace,
    mailboxes: Keyspace,
    broadcasts: Keyspace,
    public_states: Keyspace,
    /// Where a rebuild into this store resumes (`tidings replay rebuild`).
    replay_checkpoints: Keyspace,
    /// Reach sketches per broadcast, kind, platform and hour.
    reach: Keyspace,
    /// Held by each `merge_reach` from reading sketches to writing them back.
    reach_writes: Mutex<()>,
    /// Operators' accounts: not a projection, no rebuild writes them.
    operators: Keyspace,
    audit: Keyspace,
    /// The recall index: recipients of each send by request key and dedupe key.
    sends: Keyspace,
    /// Held by each `apply_mailbox_changes` from reading the mailboxes' states to writing
    /// them back, so two concurrent calls can't lose each other's changes.
    mailbox_writes: Mutex<()>,
}

impl EmbeddedStore {
    /// Opens (or creates) the store in its own fjall database in `dir`. To share one
    /// database with the log, use [`crate::EmbeddedEngines::open`].
    pub fn open(dir: &Path) -> Result<Arc<Self>, StoreError> {
        let database = crate::open_database(dir, crate::DEFAULT_CACHE_BYTES).map_err(|error| store_error(&error))?;
        Self::with_database(database, dir).map(Arc::new).map_err(|error| store_error(&error))
    }

    pub(crate) fn with_database(database: Database, dir: &Path) -> fjall::Result<Self> {
        let keyspace = |name| database.keyspace(name, KeyspaceCreateOptions::default);
        let inner = StoreInner {
            path: dir.to_path_buf(),
            messages: keyspace(MESSAGES_KEYSPACE)?,
            deliveries: keyspace(DELIVERIES_KEYSPACE)?,
            mailboxes: keyspace(MAILBOXES_KEYSPACE)?,
            broadcasts: keyspace(BROADCASTS_KEYSPACE)?,
            public_states: keyspace(PUBLIC_STATES_KEYSPACE)?,
            replay_checkpoints: keyspace(REPLAY_CHECKPOINTS_KEYSPACE)?,
            reach: keyspace(REACH_KEYSPACE)?,
            operators: keyspace(OPERATORS_KEYSPACE)?,
            audit: keyspace(AUDIT_KEYSPACE)?,
            sends: keyspace(SENDS_KEYSPACE)?,
            database,
            mailbox_writes: Mutex::new(()),
            reach_writes: Mutex::new(()),
        };
        debug!(path = %dir.display(), "opened the embedded store");
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Runs a point read or a bounded scan on the caller's thread: they take microseconds
    /// (memtables and the block cache), less than handing them to the blocking pool would,
    /// and they are what every pull does. Writes (which sync to disk) and full scans go to
    /// the blocking pool.
    fn read_now<T>(&self, work: impl FnOnce(&StoreInner) -> Result<T, StoreError>) -> Result<T, StoreError> {
        work(&self.inner)
    }

    /// Runs `work` on the blocking pool: fjall reads and syncs may wait on the disk.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&StoreInner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || work(&inner))
            .await
            .map_err(|error| StoreError::Unavailable(format!("embedded store task failed: {error}")))?
    }
}

pub(crate) fn store_error(error: &fjall::Error) -> StoreError {
    match error {
        fjall::Error::Io(_) | fjall::Error::Storage(fjall::LsmError::Io(_)) => {
            StoreError::Unavailable(error.to_string())
        }
        fjall::Error::Locked => {
            StoreError::Unavailable(format!("the data directory is in use by another process: {error}"))
        }
        // Poisoned (an fsync failed) included: retrying in this process can't help.
        _ => StoreError::Corrupt(error.to_string()),
    }
}

fn from_fjall(error: fjall::Error) -> StoreError {
    store_error(&error)
}

/// The value under `key`, if any.
fn get<T: Stored>(snapshot: &Snapshot, keyspace: &Keyspace, key: &[u8]) -> Result<Option<T>, StoreError> {
    snapshot.get(keyspace, key).map_err(from_fjall)?.map(|bytes| decode(&bytes)).transpose()
}

impl StoreInner {
    fn read_mailbox(
        &self,
        mailbox: Mailbox,
        range: MsgRange,
        order: Order,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        // Exclusive bounds as inclusive ones; none left when a bound is at the very end.
        let lowest = match range.after {
            Some(after) => match after.checked_add(1) {
                Some(lowest) => lowest,
                None => return Ok(Vec::new()),
            },
            None => MsgId::MIN,
        };
        let highest = match range.before {
            Some(before) => match before.checked_sub(1) {
                Some(highest) => highest,
                None => return Ok(Vec::new()),
            },
            None => MsgId::MAX,
        };
        if limit == 0 || lowest > highest {
            return Ok(Vec::new());
        }
        let snapshot = self.database.snapshot();
        let entries =
            snapshot.range(&self.messages, keys::message_key(mailbox, lowest)..=keys::message_key(mailbox, highest));
        let entries: Box<dyn Iterator<Item = fjall::Guard>> = match order {
            Order::Ascending => Box::new(entries),
            Order::Descending => Box::new(entries.rev()),
        };
        entries
            .take(limit)
            .map(|entry| {
                let value = entry.value().map_err(from_fjall)?;
                decode(&value)
            })
            .collect()
    }

    fn apply_public_change(
        &self,
        app_id: AppId,
        broadcast: Option<Vec<u8>>,
        broadcast_id: Option<BroadcastId>,
        state: Vec<u8>,
    ) -> Result<(), StoreError> {
        let mut batch = self.database.batch().durability(Some(PersistMode::SyncAll));
        if let (Some(broadcast), Some(broadcast_id)) = (broadcast, broadcast_id) {
            batch.insert(&self.broadcasts, keys::broadcast_key(app_id, broadcast_id), broadcast);
        }
        batch.insert(&self.public_states, keys::app_key(app_id), state);
        batch.commit().map_err(from_fjall)
    }

    /// The disk space of the store's keyspaces as fjall accounts it, after flushing their
    /// memtables: what sits only in a memtable (and the journal) has no table on disk yet.
    /// The journal is left out, being shared with the log and truncated once flushed.
    fn storage_bytes(&self) -> Result<u64, StoreError> {
        let keyspaces = [
            &self.messages,
            &self.deliveries,
            &self.mailboxes,
            &self.broadcasts,
            &self.public_states,
            &self.reach,
            &self.sends,
        ];
        for keyspace in keyspaces {
            // fjall's only way to flush a keyspace on demand (public, hidden from its docs).
            keyspace.rotate_memtable_and_wait().map_err(from_fjall)?;
        }
        Ok(keyspaces.iter().map(|keyspace| keyspace.disk_space()).sum())
    }

    fn load_public_mailboxes(&self) -> Result<Vec<PublicMailbox>, StoreError> {
        let snapshot = self.database.snapshot();
        let mut apps: BTreeMap<AppId, (Vec<Broadcast>, PublicState)> = BTreeMap::new();
        for entry in snapshot.iter(&self.public_states) {
            let (key, value) = entry.into_inner().map_err(from_fjall)?;
            let app_id =
                keys::app_of_key(&key).ok_or_else(|| StoreError::Corrupt("undecodable public state key".into()))?;
            apps.entry(app_id).or_default().1 = decode(&value)?;
        }
        for entry in snapshot.iter(&self.broadcasts) {
            let (key, value) = entry.into_inner().map_err(from_fjall)?;
            let app_id =
                keys::app_of_key(&key).ok_or_else(|| StoreError::Corrupt("undecodable broadcast key".into()))?;
            let broadcast: Broadcast = decode(&value)?;
            apps.entry(app_id).or_default().0.push(broadcast);
        }
        Ok(apps
            .into_iter()
            .map(|(app_id, (broadcasts, state))| PublicMailbox::new(app_id, broadcasts, state.whitelist))
            .collect())
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn mailbox_state(&self, mailbox: Mailbox) -> Result<MailboxState, StoreError> {
        self.read_now(|store| {
            let snapshot = store.database.snapshot();
            let state = get(&snapshot, &store.mailboxes, &keys::mailbox_key(mailbox))?;
            Ok(state.unwrap_or_default())
        })
    }

    async fn find_delivery(&self, mailbox: Mailbox, dedupe_key: &str) -> Result<Option<MsgId>, StoreError> {
        let key = keys::delivery_key(mailbox, dedupe_key);
        self.read_now(|store| {
            let snapshot = store.database.snapshot();
            let Some(value) = snapshot.get(&store.deliveries, key).map_err(from_fjall)? else {
                return Ok(None);
            };
            let msg_id = value.first_chunk::<8>().ok_or_else(|| StoreError::Corrupt("undecodable delivery".into()))?;
            Ok(Some(MsgId::from_be_bytes(*msg_id)))
        })
    }

    async fn apply_mailbox_changes(&self, changes: &[MailboxChange]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let changes = changes.to_vec();
        self.blocking(move |store| store.apply_mailbox_changes(&changes)).await
    }

    async fn index_sends(&self, sends: &[IndexedSend]) -> Result<(), StoreError> {
        if sends.is_empty() {
            return Ok(());
        }
        let sends = sends.to_vec();
        self.blocking(move |store| store.index_sends(&sends)).await
    }

    async fn find_send(&self, app_id: AppId, key: &str) -> Result<Option<FoundSend>, StoreError> {
        self.read_now(|store| store.find_send(app_id, key))
    }

    async fn read_mailbox(
        &self,
        mailbox: Mailbox,
        range: MsgRange,
        order: Order,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        self.read_now(|store| store.read_mailbox(mailbox, range, order, limit))
    }

    async fn public_state(&self, app_id: AppId) -> Result<PublicState, StoreError> {
        self.read_now(|store| {
            let snapshot = store.database.snapshot();
            let state = get(&snapshot, &store.public_states, &keys::app_key(app_id))?;
            Ok(state.unwrap_or_default())
        })
    }

    async fn broadcast(&self, app_id: AppId, broadcast_id: BroadcastId) -> Result<Option<Broadcast>, StoreError> {
        self.read_now(|store| {
            let snapshot = store.database.snapshot();
            get(&snapshot, &store.broadcasts, &keys::broadcast_key(app_id, broadcast_id))
        })
    }

    async fn list_broadcasts(&self, app_id: AppId) -> Result<Vec<Broadcast>, StoreError> {
        self.blocking(move |store| {
            let snapshot = store.database.snapshot();
            snapshot
                .prefix(&store.broadcasts, keys::app_key(app_id))
                .map(|entry| {
                    let value = entry.value().map_err(from_fjall)?;
                    decode(&value)
                })
                .collect()
        })
        .await
    }

    async fn apply_public_change(
        &self,
        app_id: AppId,
        broadcast: Option<&Broadcast>,
        state: &PublicState,
    ) -> Result<(), StoreError> {
        let broadcast_id = broadcast.map(|broadcast| broadcast.broadcast_id);
        let broadcast = broadcast.map(encode).transpose()?;
        let state = encode(state)?;
        self.blocking(move |store| store.apply_public_change(app_id, broadcast, broadcast_id, state)).await
    }

    async fn load_public_mailboxes(&self) -> Result<Vec<PublicMailbox>, StoreError> {
        self.blocking(StoreInner::load_public_mailboxes).await
    }

    async fn merge_reach(&self, sketches: &[(ReachKey, ReachSketch)]) -> Result<(), StoreError> {
        if sketches.is_empty() {
            return Ok(());
        }
        let sketches = sketches.to_vec();
        self.blocking(move |store| store.merge_reach(&sketches)).await
    }

    async fn reach(
        &self,
        app_id: AppId,
        broadcast_id: BroadcastId,
    ) -> Result<Vec<(ReachKey, ReachSketch)>, StoreError> {
        self.blocking(move |store| store.reach(app_id, broadcast_id)).await
    }

    async fn storage_bytes(&self) -> Result<Option<u64>, StoreError> {
        self.blocking(|store| store.storage_bytes().map(Some)).await
    }
}
