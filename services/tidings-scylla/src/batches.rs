//! The LOGGED batches that carry one call's mailbox changes, and how they run.

use std::sync::Arc;

use scylla::client::session::Session;
use scylla::serialize::row::SerializeRow;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use tidings_domain::message::Mailbox;
use tidings_ports::StoreError;

use crate::bounded::run_bounded;
use crate::error;
use crate::plan::MailboxPlan;
use crate::rows::{
    AttributesValues, DeleteValues, DeliveryValues, HideValues, MessageValues, RaiseHead, RaiseReadUpTo,
};
use crate::statements::Statements;

/// The most bytes of message rows one batch carries. A mailbox's changes of one call go in
/// one batch (one mutation, so atomic) unless they weigh more; then they go in several,
/// ascending by `msg_id` (see [`MailboxPlan::into_pieces`]). Far below Cassandra's largest
/// mutation (half a commit-log segment, 16 MiB by default).
const MAX_BATCH_BYTES: usize = 4 << 20;

/// How many mailboxes' batches one call has in flight at once.
const MAILBOX_WRITES_IN_FLIGHT: usize = 32;

/// A batch with the values of its statements, ready to run on any task.
pub(crate) struct PreparedBatch {
    batch: Batch,
    values: Vec<Box<dyn SerializeRow + Send + Sync>>,
}

impl PreparedBatch {
    pub(crate) fn logged() -> Self {
        let mut batch = Batch::new(BatchType::Logged);
        batch.set_is_idempotent(true);
        Self { batch, values: Vec::new() }
    }

    pub(crate) fn push(&mut self, statement: &PreparedStatement, values: impl SerializeRow + Send + Sync + 'static) {
        self.batch.append_statement(statement.clone());
        self.values.push(Box::new(values));
    }

    fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub(crate) async fn run(&self, session: &Session, what: &str) -> Result<(), StoreError> {
        session.batch(&self.batch, &self.values).await.map_err(|e| error::execution(what, e))?;
        Ok(())
    }
}

/// The batches that carry `plan` (one unless it is heavy), in the order to run them.
pub(crate) fn mailbox_batches(statements: &Statements, plan: MailboxPlan<'_>, now_s: i64) -> Vec<PreparedBatch> {
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
        if let Some(attributes) = piece.attributes {
            let values = AttributesValues { app_id, uid, attributes: attributes.clone() };
            batch.push(&statements.replace_attributes, values);
        }
        if !batch.is_empty() {
            batches.push(batch);
        }
    }
    batches
}

/// Runs each mailbox's batches in order; mailboxes are independent, so several of them
/// are written side by side.
pub(crate) async fn write_mailboxes(
    session: &Arc<Session>,
    mut writes: Vec<Vec<PreparedBatch>>,
) -> Result<(), StoreError> {
    if writes.len() <= 1 {
        return match writes.pop() {
            Some(batches) => write_mailbox(Arc::clone(session), batches).await,
            None => Ok(()),
        };
    }
    run_bounded(writes.into_iter().map(|batches| write_mailbox(Arc::clone(session), batches)), MAILBOX_WRITES_IN_FLIGHT)
        .await
}

/// Runs one mailbox's batches in order.
async fn write_mailbox(session: Arc<Session>, batches: Vec<PreparedBatch>) -> Result<(), StoreError> {
    for batch in &batches {
        batch.run(&session, "write mailbox changes").await?;
    }
    Ok(())
}
