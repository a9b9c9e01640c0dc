//! [`ScyllaStore`]: the [`Store`] port on a CQL cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;

use async_trait::async_trait;
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::deserialize::row::DeserializeRow;
use scylla::policies::timestamp_generator::MonotonicTimestampGenerator;
use scylla::response::PagingState;
use scylla::serialize::row::SerializeRow;
use scylla::statement::Statement;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use tidings_domain::broadcast::Broadcast;
use tidings_domain::message::{Mailbox, MessageBody, StoredMessage};
use tidings_domain::public::{PublicMailbox, PublicState, Whitelist};
use tidings_domain::time::now_s;
use tidings_domain::{AppId, BroadcastId, MsgId, PublicSeq, Uid};
use tidings_ports::{MailboxChange, MailboxState, MsgRange, Order, Store, StoreError};
use tracing::debug;

use crate::bounded::run_bounded;
use crate::error;
use crate::migrate::check_keyspace;
use crate::plan::{MailboxPlan, plan_by_mailbox};
use crate::settings::ScyllaSettings;

/// The most bytes of message rows one batch carries. A mailbox's changes of one call go in
/// one batch (one mutation, so atomic) unless they weigh more; then they go in several,
/// ascending by `msg_id` (see [`MailboxPlan::into_pieces`]). Far below Cassandra's largest
/// mutation (half a commit-log segment, 16 MiB by default).
const MAX_BATCH_BYTES: usize = 4 << 20;

/// How many mailboxes' batches one call has in flight at once.
const MAILBOX_WRITES_IN_FLIGHT: usize = 32;

/// Rows per page of the full scan of the public mailboxes.
const SCAN_PAGE_ROWS: i32 = 1_000;

/// The longest TTL Cassandra accepts (20 years).
const MAX_TTL_S: i64 = 630_720_000;

/// The last expiry second that fits the 32-bit expiration times of Cassandra before 5.0's
/// new storage format (and its `CASSANDRA_4` compatibility mode, 5.0's default), less a day.
const LAST_32_BIT_EXPIRY_S: i64 = i32::MAX as i64 - 86_400;

const MESSAGE_COLUMNS: &str = "app_id, uid, msg_id, create_time_us, dedupe_key, from_uid, to_uid, contacter, \
                               category, type, priority, business_type, msgkey, content, expire_at_s";

/// The store on ScyllaDB or Apache Cassandra. Cheap to share: one session (a connection
/// pool per node) and the statements it prepared at connect.
pub struct ScyllaStore {
    session: Arc<Session>,
    statements: Arc<Statements>,
    keyspace: String,
    nodes: Vec<String>,
}

impl fmt::Debug for ScyllaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScyllaStore").field("nodes", &self.nodes).field("keyspace", &self.keyspace).finish()
    }
}

/// A session to the cluster of `settings`, not bound to a keyspace: what [`crate::migrate`]
/// takes. Metadata is fetched for `settings.keyspace` only.
pub async fn open_session(settings: &ScyllaSettings) -> Result<Session, StoreError> {
    session_builder(settings).build().await.map_err(|e| error::new_session(&settings.nodes, e))
}

fn session_builder(settings: &ScyllaSettings) -> SessionBuilder {
    let profile = ExecutionProfile::builder()
        .consistency(settings.consistency.to_driver())
        .request_timeout(Some(settings.request_timeout()))
        .build();
    SessionBuilder::new()
        .known_nodes(&settings.nodes)
        .connection_timeout(settings.connect_timeout())
        .default_execution_profile_handle(profile.into_handle())
        // One monotonic clock for every write of this process: the projector writes a
        // mailbox from one process, so an insert and a later delete of its row are ordered.
        .timestamp_generator(Arc::new(MonotonicTimestampGenerator::new()))
        .keyspaces_to_fetch([settings.keyspace.clone()])
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
        }))
    }

    pub fn keyspace(&self) -> &str {
        &self.keyspace
    }

    /// Runs `statement` page by page, handing each row to `on_row` until it breaks.
    async fn for_each_row<R>(
        &self,
        what: &str,
        statement: &PreparedStatement,
        values: &(impl SerializeRow + Sync),
        mut on_row: impl FnMut(R) -> Result<ControlFlow<()>, StoreError> + Send,
    ) -> Result<(), StoreError>
    where
        R: for<'frame, 'metadata> DeserializeRow<'frame, 'metadata>,
    {
        let mut paging_state = PagingState::start();
        loop {
            let (result, paging) = self
                .session
                .execute_single_page(statement, values, paging_state)
                .await
                .map_err(|e| error::execution(what, e))?;
            let rows = result.into_rows_result().map_err(|e| error::rows(what, e))?;
            for row in rows.rows::<R>().map_err(|e| error::rows(what, e))? {
                if on_row(row.map_err(|e| error::rows(what, e))?)?.is_break() {
                    return Ok(());
                }
            }
            match paging.into_paging_control_flow() {
                ControlFlow::Break(()) => return Ok(()),
                ControlFlow::Continue(next) => paging_state = next,
            }
        }
    }

    /// Every row of `statement`.
    async fn all_rows<R>(
        &self,
        what: &str,
        statement: &PreparedStatement,
        values: &(impl SerializeRow + Sync),
    ) -> Result<Vec<R>, StoreError>
    where
        R: for<'frame, 'metadata> DeserializeRow<'frame, 'metadata> + Send,
    {
        let mut rows = Vec::new();
        self.for_each_row(what, statement, values, |row| {
            rows.push(row);
            Ok(ControlFlow::Continue(()))
        })
        .await?;
        Ok(rows)
    }

    /// The batches that carry `plan` (one unless it is heavy), in the order to run them.
    fn mailbox_batches(&self, plan: MailboxPlan<'_>, now_s: i64) -> Vec<PreparedBatch> {
        let statements = &self.statements;
        let Mailbox { app_id, uid } = plan.mailbox;
        let mut batches = Vec::new();
        for piece in plan.into_pieces(MAX_BATCH_BYTES) {
            let mut batch = PreparedBatch::logged();
            for (msg_id, insert) in &piece.inserts {
                if let Some(message) = insert.row {
                    batch.push(&statements.insert_message, MessageValues::new(message, now_s));
                }
                for dedupe_key in &insert.dedupe_keys {
                    let values = DeliveryValues { app_id, uid, dedupe_key: (*dedupe_key).to_owned(), msg_id: *msg_id };
                    batch.push(&statements.insert_delivery, values);
                }
            }
            if let Some(head) = piece.head() {
                // Written at timestamp `head`: last-write-wins keeps the largest.
                batch.push(&statements.raise_head, RaiseHead { app_id, uid, head, written_at: head });
            }
            for msg_id in &piece.deletes {
                batch.push(&statements.delete_message, DeleteValues { app_id, uid, msg_id: *msg_id });
            }
            // A mark at or below 0 (the default) raises nothing.
            if let Some(up_to) = piece.read_up_to.filter(|up_to| *up_to > 0) {
                let values = RaiseReadUpTo { app_id, uid, read_up_to: up_to, written_at: up_to };
                batch.push(&statements.raise_read_up_to, values);
            }
            if !piece.hidden_broadcasts.is_empty() {
                let values = HideValues { app_id, uid, hidden_broadcasts: piece.hidden_broadcasts.clone() };
                batch.push(&statements.hide_broadcasts, values);
            }
            if !batch.is_empty() {
                batches.push(batch);
            }
        }
        batches
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

/// A batch with the values of its statements, ready to run on any task.
struct PreparedBatch {
    batch: Batch,
    values: Vec<Box<dyn SerializeRow + Send + Sync>>,
}

impl PreparedBatch {
    fn logged() -> Self {
        let mut batch = Batch::new(BatchType::Logged);
        batch.set_is_idempotent(true);
        Self { batch, values: Vec::new() }
    }

    fn push(&mut self, statement: &PreparedStatement, values: impl SerializeRow + Send + Sync + 'static) {
        self.batch.append_statement(statement.clone());
        self.values.push(Box::new(values));
    }

    fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    async fn run(&self, session: &Session, what: &str) -> Result<(), StoreError> {
        session.batch(&self.batch, &self.values).await.map_err(|e| error::execution(what, e))?;
        Ok(())
    }
}

/// Runs one mailbox's batches in order.
async fn write_mailbox(session: Arc<Session>, batches: Vec<PreparedBatch>) -> Result<(), StoreError> {
    for batch in &batches {
        batch.run(&session, "write mailbox changes").await?;
    }
    Ok(())
}

/// How long a message row lives: until `expire_at_s`, at least a second (an expired
/// message is written and vanishes at once, keeping its dedupe key and head), within
/// Cassandra's limits; 0 (none) when the message never expires.
fn ttl_seconds(expire_at_s: i64, now_s: i64) -> i32 {
    if expire_at_s == 0 {
        return 0;
    }
    let mut ttl = expire_at_s.saturating_sub(now_s).min(MAX_TTL_S);
    if now_s < LAST_32_BIT_EXPIRY_S {
        ttl = ttl.min(LAST_32_BIT_EXPIRY_S - now_s);
    }
    ttl.max(1) as i32
}

#[async_trait]
impl Store for ScyllaStore {
    async fn mailbox_state(&self, mailbox: Mailbox) -> Result<MailboxState, StoreError> {
        type StateRow = (AppId, Uid, Option<MsgId>, Option<MsgId>, Option<BTreeSet<BroadcastId>>);
        let rows: Vec<StateRow> =
            self.all_rows("read mailbox state", &self.statements.mailbox_state, &(mailbox.app_id, mailbox.uid)).await?;
        Ok(rows
            .into_iter()
            .next()
            .map(|(_, _, head, read_up_to, hidden)| MailboxState {
                head,
                read_up_to: read_up_to.unwrap_or_default(),
                hidden_broadcasts: hidden.unwrap_or_default(),
            })
            .unwrap_or_default())
    }

    async fn find_delivery(&self, mailbox: Mailbox, dedupe_key: &str) -> Result<Option<MsgId>, StoreError> {
        let values = (mailbox.app_id, mailbox.uid, dedupe_key);
        let rows: Vec<(Option<MsgId>,)> =
            self.all_rows("find delivery", &self.statements.find_delivery, &values).await?;
        Ok(rows.into_iter().next().and_then(|(msg_id,)| msg_id))
    }

    async fn apply_mailbox_changes(&self, changes: &[MailboxChange]) -> Result<(), StoreError> {
        let now_s = now_s();
        let mut writes: Vec<Vec<PreparedBatch>> = plan_by_mailbox(changes)
            .into_iter()
            .map(|plan| self.mailbox_batches(plan, now_s))
            .filter(|batches| !batches.is_empty())
            .collect();
        if writes.len() <= 1 {
            return match writes.pop() {
                Some(batches) => write_mailbox(Arc::clone(&self.session), batches).await,
                None => Ok(()),
            };
        }
        // Mailboxes are independent: write them side by side.
        let session = &self.session;
        run_bounded(
            writes.into_iter().map(|batches| write_mailbox(Arc::clone(session), batches)),
            MAILBOX_WRITES_IN_FLIGHT,
        )
        .await
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
        match (range.after, range.before) {
            (None, None) => self.for_each_row(WHAT, statement, &(app_id, uid, cql_limit), &mut on_row).await?,
            (Some(after), None) => {
                self.for_each_row(WHAT, statement, &(app_id, uid, after, cql_limit), &mut on_row).await?
            }
            (None, Some(before)) => {
                self.for_each_row(WHAT, statement, &(app_id, uid, before, cql_limit), &mut on_row).await?
            }
            (Some(after), Some(before)) => {
                let values = (app_id, uid, after, before, cql_limit);
                self.for_each_row(WHAT, statement, &values, &mut on_row).await?
            }
        }
        Ok(messages)
    }

    async fn public_state(&self, app_id: AppId) -> Result<PublicState, StoreError> {
        type PublicStateRow = (AppId, Option<PublicSeq>, Option<BTreeMap<Uid, PublicSeq>>, Option<i32>);
        let rows: Vec<PublicStateRow> =
            self.all_rows("read public state", &self.statements.public_state, &(app_id,)).await?;
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
            self.all_rows("read broadcast", &self.statements.broadcast, &(app_id, broadcast_id)).await?;
        match rows.into_iter().next() {
            Some((Some(body),)) => decode_broadcast(app_id, broadcast_id, &body).map(Some),
            _ => Ok(None),
        }
    }

    async fn list_broadcasts(&self, app_id: AppId) -> Result<Vec<Broadcast>, StoreError> {
        let rows: Vec<(Option<BroadcastId>, Option<String>)> =
            self.all_rows("list broadcasts", &self.statements.list_broadcasts, &(app_id,)).await?;
        rows.into_iter()
            .filter_map(|(broadcast_id, body)| Some((broadcast_id?, body?)))
            .map(|(broadcast_id, body)| decode_broadcast(app_id, broadcast_id, &body))
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
            let body = serde_json::to_string(broadcast).map_err(|e| {
                StoreError::Corrupt(format!("broadcast {} does not encode: {e}", broadcast.broadcast_id))
            })?;
            let values = BroadcastValues { app_id, broadcast_id: broadcast.broadcast_id, body };
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

    async fn load_public_mailboxes(&self) -> Result<Vec<PublicMailbox>, StoreError> {
        type ScanRow = (AppId, Option<BroadcastId>, Option<String>, Option<BTreeMap<Uid, PublicSeq>>);
        let mut apps: BTreeMap<AppId, (Vec<Broadcast>, Whitelist)> = BTreeMap::new();
        let mut problem = None;
        self.for_each_row("scan public mailboxes", &self.statements.scan_public, &(), |row: ScanRow| {
            let (app_id, broadcast_id, body, whitelist) = row;
            let app = apps.entry(app_id).or_default();
            app.1 = Whitelist { members: whitelist.unwrap_or_default() };
            if let (Some(broadcast_id), Some(body)) = (broadcast_id, body) {
                match decode_broadcast(app_id, broadcast_id, &body) {
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

fn decode_broadcast(app_id: AppId, broadcast_id: BroadcastId, body: &str) -> Result<Broadcast, StoreError> {
    let broadcast: Broadcast = serde_json::from_str(body)
        .map_err(|e| StoreError::Corrupt(format!("broadcast {broadcast_id} of app {app_id} does not decode: {e}")))?;
    if (broadcast.app_id, broadcast.broadcast_id) != (app_id, broadcast_id) {
        return Err(StoreError::Corrupt(format!(
            "the row of broadcast {broadcast_id} of app {app_id} holds broadcast {} of app {}",
            broadcast.broadcast_id, broadcast.app_id
        )));
    }
    Ok(broadcast)
}

/// Every statement of the store, prepared once at connect.
#[derive(Debug)]
struct Statements {
    insert_message: PreparedStatement,
    insert_delivery: PreparedStatement,
    raise_head: PreparedStatement,
    raise_read_up_to: PreparedStatement,
    hide_broadcasts: PreparedStatement,
    delete_message: PreparedStatement,
    mailbox_state: PreparedStatement,
    find_delivery: PreparedStatement,
    /// Indexed by [`Statements::read_mailbox_index`].
    read_mailbox: Vec<PreparedStatement>,
    public_state: PreparedStatement,
    broadcast: PreparedStatement,
    list_broadcasts: PreparedStatement,
    upsert_broadcast: PreparedStatement,
    set_public_state: PreparedStatement,
    scan_public: PreparedStatement,
}

impl Statements {
    async fn prepare(session: &Session, keyspace: &str) -> Result<Self, StoreError> {
        let plain = |text: String| prepare(session, keyspace, text, None);
        let mut read_mailbox = Vec::new();
        for index in 0..8 {
            let (after, before, descending) = (index & 1 != 0, index & 2 != 0, index & 4 != 0);
            read_mailbox.push(plain(read_mailbox_cql(after, before, descending)).await?);
        }
        Ok(Self {
            insert_message: plain(format!(
                "INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (:app_id, :uid, :msg_id, :create_time_us, \
                 :dedupe_key, :from_uid, :to_uid, :contacter, :category, :type, :priority, :business_type, \
                 :msgkey, :content, :expire_at_s) USING TTL :ttl"
            ))
            .await?,
            insert_delivery: plain(
                "INSERT INTO deliveries (app_id, uid, dedupe_key, msg_id) VALUES (:app_id, :uid, :dedupe_key, :msg_id)"
                    .into(),
            )
            .await?,
            raise_head: plain(
                "UPDATE messages USING TIMESTAMP :written_at SET head = :head WHERE app_id = :app_id AND uid = :uid"
                    .into(),
            )
            .await?,
            raise_read_up_to: plain(
                "UPDATE messages USING TIMESTAMP :written_at SET read_up_to = :read_up_to \
                 WHERE app_id = :app_id AND uid = :uid"
                    .into(),
            )
            .await?,
            hide_broadcasts: plain(
                "UPDATE messages SET hidden_broadcasts = hidden_broadcasts + :hidden_broadcasts \
                 WHERE app_id = :app_id AND uid = :uid"
                    .into(),
            )
            .await?,
            delete_message: plain(
                "DELETE FROM messages WHERE app_id = :app_id AND uid = :uid AND msg_id = :msg_id".into(),
            )
            .await?,
            mailbox_state: plain(
                "SELECT DISTINCT app_id, uid, head, read_up_to, hidden_broadcasts FROM messages \
                 WHERE app_id = ? AND uid = ?"
                    .into(),
            )
            .await?,
            find_delivery: plain(
                "SELECT msg_id FROM deliveries WHERE app_id = ? AND uid = ? AND dedupe_key = ?".into(),
            )
            .await?,
            read_mailbox,
            public_state: plain(
                "SELECT DISTINCT app_id, last_seq, whitelist, whitelist_revision FROM broadcasts WHERE app_id = ?"
                    .into(),
            )
            .await?,
            broadcast: plain("SELECT body FROM broadcasts WHERE app_id = ? AND broadcast_id = ?".into()).await?,
            list_broadcasts: plain("SELECT broadcast_id, body FROM broadcasts WHERE app_id = ?".into()).await?,
            upsert_broadcast: plain(
                "INSERT INTO broadcasts (app_id, broadcast_id, body) VALUES (:app_id, :broadcast_id, :body)".into(),
            )
            .await?,
            set_public_state: plain(
                "UPDATE broadcasts SET last_seq = :last_seq, whitelist = :whitelist, \
                 whitelist_revision = :whitelist_revision WHERE app_id = :app_id"
                    .into(),
            )
            .await?,
            scan_public: prepare(
                session,
                keyspace,
                "SELECT app_id, broadcast_id, body, whitelist FROM broadcasts".into(),
                Some(SCAN_PAGE_ROWS),
            )
            .await?,
        })
    }

    fn read_mailbox(&self, range: MsgRange, order: Order) -> &PreparedStatement {
        &self.read_mailbox[Self::read_mailbox_index(range.after.is_some(), range.before.is_some(), order)]
    }

    fn read_mailbox_index(after: bool, before: bool, order: Order) -> usize {
        usize::from(after) | usize::from(before) << 1 | usize::from(order == Order::Descending) << 2
    }
}

fn read_mailbox_cql(after: bool, before: bool, descending: bool) -> String {
    let mut cql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE app_id = ? AND uid = ?");
    if after {
        cql.push_str(" AND msg_id > ?");
    }
    if before {
        cql.push_str(" AND msg_id < ?");
    }
    cql.push_str(if descending { " ORDER BY msg_id DESC" } else { " ORDER BY msg_id ASC" });
    cql.push_str(" LIMIT ?");
    cql
}

/// The store's tables, which statements name without their keyspace.
const TABLES: [&str; 3] = ["messages", "deliveries", "broadcasts"];

/// Prepares `text` with its tables qualified by `keyspace`: a statement that leans on the
/// session's `USE <keyspace>` is ambiguous, and Cassandra warns on every one.
async fn prepare(
    session: &Session,
    keyspace: &str,
    text: String,
    page_size: Option<i32>,
) -> Result<PreparedStatement, StoreError> {
    let qualified = TABLES.iter().fold(format!("{text} "), |text, table| {
        ["FROM", "INTO", "UPDATE"].iter().fold(text, |text, keyword| {
            text.replace(&format!("{keyword} {table} "), &format!("{keyword} {keyspace}.{table} "))
        })
    });
    let text = qualified.trim_end().to_owned();
    let mut statement = Statement::new(text.clone());
    // Every statement of the store can run twice with the same effect, so the driver may
    // retry it after a timeout.
    statement.set_is_idempotent(true);
    if let Some(page_size) = page_size {
        statement.set_page_size(page_size);
    }
    let what = format!("prepare {text:?}");
    session.prepare(statement).await.map_err(|e| error::prepare(&what, e))
}

#[derive(scylla::SerializeRow)]
struct MessageValues {
    app_id: AppId,
    uid: Uid,
    msg_id: MsgId,
    create_time_us: i64,
    dedupe_key: String,
    from_uid: Uid,
    to_uid: Uid,
    contacter: Uid,
    category: i32,
    #[scylla(rename = "type")]
    kind: i32,
    priority: i32,
    business_type: i32,
    msgkey: String,
    content: String,
    expire_at_s: i64,
    ttl: i32,
}

impl MessageValues {
    fn new(message: &StoredMessage, now_s: i64) -> Self {
        let body = &message.body;
        Self {
            app_id: message.mailbox.app_id,
            uid: message.mailbox.uid,
            msg_id: message.msg_id,
            create_time_us: message.create_time_us,
            dedupe_key: message.dedupe_key.clone(),
            from_uid: body.from_uid,
            to_uid: body.to_uid,
            contacter: body.contacter,
            category: body.category,
            kind: body.kind,
            priority: body.priority,
            business_type: body.business_type,
            msgkey: body.msgkey.clone(),
            content: body.content.clone(),
            expire_at_s: body.expire_at_s,
            ttl: ttl_seconds(body.expire_at_s, now_s),
        }
    }
}

#[derive(scylla::SerializeRow)]
struct DeliveryValues {
    app_id: AppId,
    uid: Uid,
    dedupe_key: String,
    msg_id: MsgId,
}

#[derive(scylla::SerializeRow)]
struct RaiseHead {
    app_id: AppId,
    uid: Uid,
    head: MsgId,
    written_at: i64,
}

#[derive(scylla::SerializeRow)]
struct RaiseReadUpTo {
    app_id: AppId,
    uid: Uid,
    read_up_to: MsgId,
    written_at: i64,
}

#[derive(scylla::SerializeRow)]
struct HideValues {
    app_id: AppId,
    uid: Uid,
    hidden_broadcasts: BTreeSet<BroadcastId>,
}

#[derive(scylla::SerializeRow)]
struct DeleteValues {
    app_id: AppId,
    uid: Uid,
    msg_id: MsgId,
}

#[derive(scylla::SerializeRow)]
struct BroadcastValues {
    app_id: AppId,
    broadcast_id: BroadcastId,
    body: String,
}

#[derive(scylla::SerializeRow)]
struct PublicStateValues {
    app_id: AppId,
    last_seq: PublicSeq,
    whitelist: BTreeMap<Uid, PublicSeq>,
    whitelist_revision: i32,
}

/// A row of `messages` as the mailbox reads select it. A partition that has only static
/// columns (state, no messages) reads as one row without `msg_id`.
#[derive(scylla::DeserializeRow)]
struct MessageRow {
    app_id: AppId,
    uid: Uid,
    msg_id: Option<MsgId>,
    #[scylla(default_when_null)]
    create_time_us: i64,
    #[scylla(default_when_null)]
    dedupe_key: String,
    #[scylla(default_when_null)]
    from_uid: Uid,
    #[scylla(default_when_null)]
    to_uid: Uid,
    #[scylla(default_when_null)]
    contacter: Uid,
    #[scylla(default_when_null)]
    category: i32,
    #[scylla(rename = "type", default_when_null)]
    kind: i32,
    #[scylla(default_when_null)]
    priority: i32,
    #[scylla(default_when_null)]
    business_type: i32,
    #[scylla(default_when_null)]
    msgkey: String,
    #[scylla(default_when_null)]
    content: String,
    #[scylla(default_when_null)]
    expire_at_s: i64,
}

impl MessageRow {
    fn into_message(self) -> Result<Option<StoredMessage>, StoreError> {
        let Some(msg_id) = self.msg_id else { return Ok(None) };
        if self.dedupe_key.is_empty() {
            return Err(StoreError::Corrupt(format!(
                "message {msg_id} of mailbox ({}, {}) has no dedupe key",
                self.app_id, self.uid
            )));
        }
        Ok(Some(StoredMessage {
            mailbox: Mailbox::new(self.app_id, self.uid),
            msg_id,
            create_time_us: self.create_time_us,
            dedupe_key: self.dedupe_key,
            body: MessageBody {
                from_uid: self.from_uid,
                to_uid: self.to_uid,
                contacter: self.contacter,
                category: self.category,
                kind: self.kind,
                priority: self.priority,
                business_type: self.business_type,
                msgkey: self.msgkey,
                content: self.content,
                expire_at_s: self.expire_at_s,
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_follows_expiry_within_cassandras_limits() {
        let now = 1_800_000_000;
        assert_eq!(ttl_seconds(0, now), 0, "never expires");
        assert_eq!(ttl_seconds(now + 60, now), 60);
        assert_eq!(ttl_seconds(now - 60, now), 1, "expired already: gone in a second");
        assert_eq!(ttl_seconds(i64::MAX, now) as i64, LAST_32_BIT_EXPIRY_S - now, "capped at 2038");
        let after_2038 = i32::MAX as i64 + 1;
        assert_eq!(ttl_seconds(i64::MAX, after_2038) as i64, MAX_TTL_S, "capped at 20 years");
        assert_eq!(ttl_seconds(i64::MIN, now), 1);
    }

    #[test]
    fn each_range_and_order_has_its_statement() {
        let mut seen = BTreeSet::new();
        for after in [false, true] {
            for before in [false, true] {
                for order in [Order::Ascending, Order::Descending] {
                    let index = Statements::read_mailbox_index(after, before, order);
                    let cql = read_mailbox_cql(after, before, order == Order::Descending);
                    assert_eq!(cql.contains("msg_id > ?"), after);
                    assert_eq!(cql.contains("msg_id < ?"), before);
                    assert_eq!(cql.contains("DESC"), order == Order::Descending);
                    assert!(seen.insert(index), "index {index} taken twice");
                }
            }
        }
        assert_eq!(seen, (0..8).collect());
        // The loop in `Statements::prepare` builds them in index order.
        for index in 0..8 {
            let order = if index & 4 != 0 { Order::Descending } else { Order::Ascending };
            assert_eq!(Statements::read_mailbox_index(index & 1 != 0, index & 2 != 0, order), index);
        }
    }
}
