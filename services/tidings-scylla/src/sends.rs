//! The recall index on CQL: the `sends` table (migration V005), one partition per app and
//! send key, a row per recipient, the deliveries' dedupe key static.

use std::sync::Arc;

use scylla::client::session::Session;
use scylla::statement::batch::{Batch, BatchType};
use tidings_domain::{AppId, Uid};
use tidings_ports::{FoundSend, IndexedSend, StoreError};

use crate::bounded::run_bounded;
use crate::error;
use crate::paging::all_rows;
use crate::rows::SendValues;
use crate::statements::Statements;

/// How many partitions' batches one call has in flight at once.
const WRITES_IN_FLIGHT: usize = 32;

/// One UNLOGGED batch per partition (app and send key): a single mutation, so each key's
/// recipients land together; different keys are independent.
pub(crate) async fn index_sends(
    session: &Arc<Session>,
    statements: &Statements,
    sends: &[IndexedSend],
) -> Result<(), StoreError> {
    let mut writes = Vec::new();
    for send in sends {
        for send_key in send.keys() {
            let mut batch = Batch::new(BatchType::Unlogged);
            batch.set_is_idempotent(true);
            let values: Vec<SendValues> = send
                .recipients
                .iter()
                .map(|uid| {
                    batch.append_statement(statements.index_send.clone());
                    SendValues {
                        app_id: send.app_id,
                        send_key: send_key.to_owned(),
                        uid: *uid,
                        dedupe_key: send.dedupe_key.clone(),
                    }
                })
                .collect();
            let session = Arc::clone(session);
            writes.push(async move {
                session.batch(&batch, &values).await.map_err(|e| error::execution("index sends", e))?;
                Ok(())
            });
        }
    }
    run_bounded(writes, WRITES_IN_FLIGHT).await
}

pub(crate) async fn find_send(
    session: &Session,
    statements: &Statements,
    app_id: AppId,
    key: &str,
) -> Result<Option<FoundSend>, StoreError> {
    let rows: Vec<(Uid, Option<String>)> =
        all_rows(session, "find send", &statements.find_send, &(app_id, key)).await?;
    let Some(dedupe_key) = rows.first().map(|(_, dedupe_key)| dedupe_key.clone().unwrap_or_default()) else {
        return Ok(None);
    };
    Ok(Some(FoundSend { dedupe_key, recipients: rows.into_iter().map(|(uid, _)| uid).collect() }))
}
