//! [`ScyllaStore`]: the [`Store`] port on a CQL cluster.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;

use async_trait::async_trait;
use scylla::client::session::Session;
use tidings_domain::broadcast::Broadcast;
use tidings_domain::message::{Mailbox, StoredMessage};
use tidings_domain::public::{PublicMailbox, PublicState, Whitelist};
use tidings_domain::time::now_s;
use tidings_domain::{AppId, BroadcastId, MsgId};
use tidings_ports::{FoundSend, IndexedSend, MailboxChange, MailboxState, MsgRange, Order, Store, StoreError};
use tidings_reach::{ReachKey, ReachSketch};
use tracing::debug;

use crate::batches::{PreparedBatch, mailbox_batches, write_mailboxes};
use crate::error;
use crate::migrate::check_keyspace;
use crate::paging::{all_rows, for_each_row};
use crate::plan::plan_by_mailbox;
use crate::records::{decode_broadcast_body, encode_broadcast_body};
use crate::rows::{BroadcastValues, MailboxStateRow, MessageRow, PublicScanRow, PublicStateRow, PublicStateValues};
use crate::session::session_builder;
use crate::settings::ScyllaSettings;
use crate::statements::Statements;

/// The store on ScyllaDB or Apache Cassandra. Cheap to share: one session (a connection
/// pool per node) and the statements it prepared at connect.
pub struct ScyllaStore {
    session: Arc<Session>,
    statements: Arc<Statements>,
    keyspace: String,
    nodes: Vec<String>,
    /// Prepared by the first replay call (module `inventory`).
    pub(crate) replay: tokio::sync::OnceCell<crate::inventory::ReplayStatements>,
    /// Prepared by the first reach call (module `reach`).
    pub(crate) reach: tokio::sync::OnceCell<crate::reach::ReachStatements>,
    /// Prepared by the first operator or audit call (module `accounts`).
    pub(crate) accounts: tokio::sync::OnceCell<crate::accounts::AccountStatements>,
}

impl fmt::Debug for ScyllaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScyllaStore").field("nodes", &self.nodes).field("keyspace", &self.keyspace).finish()
    }
}

impl ScyllaStore {
    /// Connects to the cluster and prepares every statement. Does not create or migrate
    /// the schema: run [`crate::migrate`] (`tidings schema migrate`) first; a missing
    /// keyspace or table fails here, not retriable.
    pub async fn connect(settings: &ScyllaSettings) -> Result<Arc<Self>, StoreError> {
        check_keyspace(&settings.keyspace)?;
        let session = session_builder(settings)
            .use_keyspace(&settings.keyspace, false)
            .build()
            .await
            .map_err(|e| with_migrate_hint(error::new_session(&settings.nodes, e)))?;
        let statements = Statements::prepare(&session, &settings.keyspace).await.map_err(with_migrate_hint)?;
        debug!(nodes = ?settings.nodes, keyspace = %settings.keyspace, "connected to the cql store");
        Ok(Arc::new(Self {
            session: Arc::new(session),
            statements: Arc::new(statements),
            keyspace: settings.keyspace.clone(),
            nodes: settings.nodes.clone(),
            replay: tokio::sync::OnceCell::new(),
            reach: tokio::sync::OnceCell::new(),
            accounts: tokio::sync::OnceCell::new(),
        }))
    }

    pub fn keyspace(&self) -> &str {
        &self.keyspace
    }

    pub(crate) fn session(&self) -> &scylla::client::session::Session {
        &self.session
    }
}

fn with_migrate_hint(error: StoreError) -> StoreError {
    match error {
        StoreError::Corrupt(message) => {
            StoreError::Corrupt(format!("{message} (is the schema migrated? run `tidings schema migrate`)"))
        }
        other => other,
    }
}

#[async_trait]
impl Store for ScyllaStore {
    async fn mailbox_state(&self, mailbox: Mailbox) -> Result<MailboxState, StoreError> {
        let values = (mailbox.app_id, mailbox.uid);
        let rows: Vec<MailboxStateRow> =
            all_rows(&self.session, "read mailbox state", &self.statements.mailbox_state, &values).await?;
        Ok(rows
            .into_iter()
            .next()
            .map(|(_, _, head, read_up_to, hidden, attributes)| MailboxState {
                head,
                read_up_to: read_up_to.unwrap_or_default(),
                hidden_broadcasts: hidden.unwrap_or_default(),
                attributes: attributes.unwrap_or_default(),
            })
            .unwrap_or_default())
    }

    async fn find_delivery(&self, mailbox: Mailbox, dedupe_key: &str) -> Result<Option<MsgId>, StoreError> {
        let values = (mailbox.app_id, mailbox.uid, dedupe_key);
        let rows: Vec<(Option<MsgId>,)> =
            all_rows(&self.session, "find delivery", &self.statements.find_delivery, &values).await?;
        Ok(rows.into_iter().next().and_then(|(msg_id,)| msg_id))
    }

    async fn apply_mailbox_changes(&self, changes: &[MailboxChange]) -> Result<(), StoreError> {
        let now_s = now_s();
        let writes = plan_by_mailbox(changes)
            .into_iter()
            .map(|plan| mailbox_batches(&self.statements, plan, now_s))
            .filter(|batches| !batches.is_empty())
            .collect();
        write_mailboxes(&self.session, writes).await
    }

    async fn index_sends(&self, sends: &[IndexedSend]) -> Result<(), StoreError> {
        crate::sends::index_sends(&self.session, &self.statements, sends).await
    }

    async fn find_send(&self, app_id: AppId, key: &str) -> Result<Option<FoundSend>, StoreError> {
        crate::sends::find_send(&self.session, &self.statements, app_id, key).await
    }

    async fn read_mailbox(
        &self,
        mailbox: Mailbox,
        range: MsgRange,
        order: Order,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let statement = self.statements.read_mailbox(range, order);
        let cql_limit = i32::try_from(limit).unwrap_or(i32::MAX);
        let Mailbox { app_id, uid } = mailbox;
        let mut messages = Vec::new();
        let mut on_row = |row: MessageRow| {
            if let Some(message) = row.into_message()? {
                messages.push(message);
            }
            Ok(if messages.len() >= limit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
        };
        const WHAT: &str = "read mailbox";
        let session = &self.session;
        match (range.after, range.before) {
            (None, None) => for_each_row(session, WHAT, statement, &(app_id, uid, cql_limit), &mut on_row).await?,
            (Some(after), None) => {
                for_each_row(session, WHAT, statement, &(app_id, uid, after, cql_limit), &mut on_row).await?
            }
            (None, Some(before)) => {
                for_each_row(session, WHAT, statement, &(app_id, uid, before, cql_limit), &mut on_row).await?
            }
            (Some(after), Some(before)) => {
                let values = (app_id, uid, after, before, cql_limit);
                for_each_row(session, WHAT, statement, &values, &mut on_row).await?
            }
        }
        Ok(messages)
    }

    async fn public_state(&self, app_id: AppId) -> Result<PublicState, StoreError> {
        let rows: Vec<PublicStateRow> =
            all_rows(&self.session, "read public state", &self.statements.public_state, &(app_id,)).await?;
        Ok(rows
            .into_iter()
            .next()
            .map(|(_, last_seq, whitelist, whitelist_revision)| PublicState {
                last_seq: last_seq.unwrap_or_default(),
                whitelist: Whitelist { members: whitelist.unwrap_or_default() },
                whitelist_revision: whitelist_revision.unwrap_or_default(),
            })
            .unwrap_or_default())
    }

    async fn broadcast(&self, app_id: AppId, broadcast_id: BroadcastId) -> Result<Option<Broadcast>, StoreError> {
        let rows: Vec<(Option<String>,)> =
            all_rows(&self.session, "read broadcast", &self.statements.broadcast, &(app_id, broadcast_id)).await?;
        match rows.into_iter().next() {
            Some((Some(body),)) => decode_broadcast_body(app_id, broadcast_id, &body).map(Some),
            _ => Ok(None),
        }
    }

    async fn list_broadcasts(&self, app_id: AppId) -> Result<Vec<Broadcast>, StoreError> {
        let rows: Vec<(Option<BroadcastId>, Option<String>)> =
            all_rows(&self.session, "list broadcasts", &self.statements.list_broadcasts, &(app_id,)).await?;
        rows.into_iter()
            .filter_map(|(broadcast_id, body)| Some((broadcast_id?, body?)))
            .map(|(broadcast_id, body)| decode_broadcast_body(app_id, broadcast_id, &body))
            .collect()
    }

    async fn apply_public_change(
        &self,
        app_id: AppId,
        broadcast: Option<&Broadcast>,
        state: &PublicState,
    ) -> Result<(), StoreError> {
        let mut batch = PreparedBatch::logged();
        if let Some(broadcast) = broadcast {
            debug_assert_eq!(broadcast.app_id, app_id, "a broadcast stored under another app");
            let values = BroadcastValues {
                app_id,
                broadcast_id: broadcast.broadcast_id,
                body: encode_broadcast_body(broadcast)?,
            };
            batch.push(&self.statements.upsert_broadcast, values);
        }
        let values = PublicStateValues {
            app_id,
            last_seq: state.last_seq,
            whitelist: state.whitelist.members.clone(),
            whitelist_revision: state.whitelist_revision,
        };
        batch.push(&self.statements.set_public_state, values);
        batch.run(&self.session, "write public change").await
    }

    async fn merge_reach(&self, sketches: &[(ReachKey, ReachSketch)]) -> Result<(), StoreError> {
        self.merge_reach_cells(sketches).await
    }

    async fn reach(
        &self,
        app_id: AppId,
        broadcast_id: BroadcastId,
    ) -> Result<Vec<(ReachKey, ReachSketch)>, StoreError> {
        self.reach_cells(app_id, broadcast_id).await
    }

    async fn load_public_mailboxes(&self) -> Result<Vec<PublicMailbox>, StoreError> {
        let mut apps: BTreeMap<AppId, (Vec<Broadcast>, Whitelist)> = BTreeMap::new();
        let mut problem = None;
        let scan = &self.statements.scan_public;
        for_each_row(&self.session, "scan public mailboxes", scan, &(), |row: PublicScanRow| {
            let (app_id, broadcast_id, body, whitelist) = row;
            let app = apps.entry(app_id).or_default();
            app.1 = Whitelist { members: whitelist.unwrap_or_default() };
            if let (Some(broadcast_id), Some(body)) = (broadcast_id, body) {
                match decode_broadcast_body(app_id, broadcast_id, &body) {
                    Ok(broadcast) => app.0.push(broadcast),
                    Err(error) => {
                        problem = Some(error);
                        return Ok(ControlFlow::Break(()));
                    }
                }
            }
            Ok(ControlFlow::Continue(()))
        })
        .await?;
        if let Some(error) = problem {
            return Err(error);
        }
        Ok(apps
            .into_iter()
            .map(|(app_id, (broadcasts, whitelist))| PublicMailbox::new(app_id, broadcasts, whitelist))
            .collect())
    }
}
