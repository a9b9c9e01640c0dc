//! [`ReplayStore`] on CQL: checkpoints in `replay_checkpoints` (migration V002), listings by
//! `SELECT DISTINCT` over partition keys, paged by the driver's paging state. Its statements
//! are prepared on first use, so the live roles don't depend on V002.

use std::ops::ControlFlow;

use scylla::response::PagingState;
use scylla::statement::prepared::PreparedStatement;
use tidings_domain::message::Mailbox;
use tidings_domain::{AppId, MsgId};
use tidings_ports::{MailboxPage, RecordPosition, ReplayStore, StoreError};

use crate::error;
use crate::paging::{all_rows, for_each_row};
use crate::statements::prepare;
use crate::store::ScyllaStore;

/// The replay statements, prepared on first use.
#[derive(Debug)]
pub(crate) struct ReplayStatements {
    checkpoints: PreparedStatement,
    save_checkpoint: PreparedStatement,
    mailboxes: PreparedStatement,
    apps: PreparedStatement,
    deliveries: PreparedStatement,
}

/// Mailboxes per page of [`ReplayStore::mailboxes`]: the driver pages by its own size.
const MAILBOX_PAGE_ROWS: i32 = 1_000;

impl ReplayStatements {
    async fn prepare(store: &ScyllaStore) -> Result<Self, StoreError> {
        let (session, keyspace) = (store.session(), store.keyspace());
        let plain = |text: &str| prepare(session, keyspace, text.to_owned(), None);
        Ok(Self {
            checkpoints: plain("SELECT topic, partition, next_offset FROM replay_checkpoints").await?,
            save_checkpoint: plain("INSERT INTO replay_checkpoints (topic, partition, next_offset) VALUES (?, ?, ?)")
                .await?,
            mailboxes: prepare(
                session,
                keyspace,
                "SELECT DISTINCT app_id, uid FROM messages".into(),
                Some(MAILBOX_PAGE_ROWS),
            )
            .await?,
            apps: plain("SELECT DISTINCT app_id FROM broadcasts").await?,
            deliveries: plain("SELECT dedupe_key, msg_id FROM deliveries WHERE app_id = ? AND uid = ?").await?,
        })
    }
}

/// A statement prepared on first use that fails for want of a table names the migration
/// that creates it.
pub(crate) fn needs_migration(error: StoreError, version: i32) -> StoreError {
    match error {
        StoreError::Corrupt(message) => StoreError::Corrupt(format!(
            "{message} (is the keyspace migrated to V{version:03}? run `tidings schema migrate`)"
        )),
        other => other,
    }
}

impl ScyllaStore {
    async fn replay_statements(&self) -> Result<&ReplayStatements, StoreError> {
        self.replay.get_or_try_init(|| ReplayStatements::prepare(self)).await.map_err(|error| needs_migration(error, 2))
    }
}

#[async_trait::async_trait]
impl ReplayStore for ScyllaStore {
    async fn replay_checkpoints(&self) -> Result<Vec<RecordPosition>, StoreError> {
        let statements = self.replay_statements().await?;
        let rows: Vec<(String, i32, i64)> =
            all_rows(self.session(), "read replay checkpoints", &statements.checkpoints, &()).await?;
        Ok(rows.into_iter().map(|(topic, partition, offset)| RecordPosition { topic, partition, offset }).collect())
    }

    async fn save_replay_checkpoints(&self, next: &[RecordPosition]) -> Result<(), StoreError> {
        let statements = self.replay_statements().await?;
        for position in next {
            self.session()
                .execute_unpaged(&statements.save_checkpoint, (&position.topic, position.partition, position.offset))
                .await
                .map_err(|e| error::execution("save a replay checkpoint", e))?;
        }
        Ok(())
    }

    async fn mailboxes(&self, from: Option<Vec<u8>>, _limit: usize) -> Result<MailboxPage, StoreError> {
        let statements = self.replay_statements().await?;
        let what = "list mailboxes";
        let paging_state = from.map_or_else(PagingState::start, PagingState::new_from_raw_bytes);
        let (result, paging) = self
            .session()
            .execute_single_page(&statements.mailboxes, (), paging_state)
            .await
            .map_err(|e| error::execution(what, e))?;
        let rows = result.into_rows_result().map_err(|e| error::rows(what, e))?;
        let mailboxes = rows
            .rows::<(i64, i64)>()
            .map_err(|e| error::rows(what, e))?
            .map(|row| row.map(|(app_id, uid)| Mailbox::new(app_id, uid)).map_err(|e| error::rows(what, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let next = match paging.into_paging_control_flow() {
            ControlFlow::Break(()) => None,
            ControlFlow::Continue(state) => state.as_bytes_slice().map(|bytes| bytes.to_vec()),
        };
        Ok(MailboxPage { mailboxes, next })
    }

    async fn apps(&self) -> Result<Vec<AppId>, StoreError> {
        let statements = self.replay_statements().await?;
        let mut apps = Vec::new();
        for_each_row(self.session(), "list apps", &statements.apps, &(), |(app_id,): (i64,)| {
            apps.push(app_id);
            Ok(ControlFlow::Continue(()))
        })
        .await?;
        Ok(apps)
    }

    async fn deliveries(&self, mailbox: Mailbox) -> Result<Vec<(String, MsgId)>, StoreError> {
        let statements = self.replay_statements().await?;
        all_rows(self.session(), "list deliveries", &statements.deliveries, &(mailbox.app_id, mailbox.uid)).await
    }
}
