//! Reads that page through a statement's result, a page at a time.

use std::ops::ControlFlow;

use scylla::client::session::Session;
use scylla::deserialize::row::DeserializeRow;
use scylla::response::PagingState;
use scylla::serialize::row::SerializeRow;
use scylla::statement::prepared::PreparedStatement;
use tidings_ports::StoreError;

use crate::error;

/// Runs `statement` page by page, handing each row to `on_row` until it breaks: a caller
/// that has enough stops fetching pages.
pub(crate) async fn for_each_row<R>(
    session: &Session,
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
        let (result, paging) = session
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
pub(crate) async fn all_rows<R>(
    session: &Session,
    what: &str,
    statement: &PreparedStatement,
    values: &(impl SerializeRow + Sync),
) -> Result<Vec<R>, StoreError>
where
    R: for<'frame, 'metadata> DeserializeRow<'frame, 'metadata> + Send,
{
    let mut rows = Vec::new();
    for_each_row(session, what, statement, values, |row| {
        rows.push(row);
        Ok(ControlFlow::Continue(()))
    })
    .await?;
    Ok(rows)
}
