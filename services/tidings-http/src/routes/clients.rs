//! What clients call: their own mailbox.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tidings_domain::MsgId;
use tidings_domain::sync::{HistoryDirection, SyncCursor};
use utoipa::IntoParams;

use super::{limit, parse_number, query_params};
use crate::ClientState;
use crate::bodies::{Accepted, HistoryResponse, ReadRequest, SyncResponse};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{MailboxOwner, ValidJson, ValidPath};

/// `GET /v1/mailbox/sync` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// The cursor of the previous sync; none means from the beginning.
    pub cursor: Option<String>,
    /// How many messages at most (default 50, at most 200).
    pub limit: Option<String>,
}

/// `GET /v1/mailbox/history` query: exactly one of `before` and `after`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Messages with `msg_id` below this one, the newest of them.
    pub before: Option<String>,
    /// Messages with `msg_id` above this one, the oldest of them.
    pub after: Option<String>,
    /// How many messages at most (default 50, at most 200).
    pub limit: Option<String>,
}

/// What is new since the cursor, private and public merged in `msg_id` order. The client
/// identifies itself with `platform`, `app_version`, `core_level` headers, or the same
/// tokens in its User-Agent.
#[utoipa::path(get, path = "/v1/mailbox/sync", tag = "clients", params(SyncQuery),
    responses((status = 200, body = SyncResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn sync(
    State(state): State<ClientState>,
    owner: MailboxOwner,
    query: Result<Query<SyncQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SyncResponse>, ApiError> {
    let query = query_params(query)?;
    let cursor = SyncCursor::decode(query.cursor.as_deref().unwrap_or_default())?;
    let limit = limit(&state, query.limit.as_deref())?;
    let page = state.puller.sync(owner.mailbox, &owner.viewer, cursor, limit).await?;
    Ok(Json(page.into()))
}

/// A page of history before or after a `msg_id`, private and public merged.
#[utoipa::path(get, path = "/v1/mailbox/history", tag = "clients", params(HistoryQuery),
    responses((status = 200, body = HistoryResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn history(
    State(state): State<ClientState>,
    owner: MailboxOwner,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<HistoryResponse>, ApiError> {
    let query = query_params(query)?;
    let direction = match (query.before.as_deref(), query.after.as_deref()) {
        (Some(before), None) => HistoryDirection::Before(parse_number("before", before)?),
        (None, Some(after)) => HistoryDirection::After(parse_number("after", after)?),
        _ => return Err(ApiError::field("before", "give exactly one of before and after")),
    };
    let limit = limit(&state, query.limit.as_deref())?;
    let page = state.puller.history(owner.mailbox, &owner.viewer, direction, limit).await?;
    Ok(Json(page.into()))
}

/// Mark everything up to a `msg_id` read.
#[utoipa::path(post, path = "/v1/mailbox/read", tag = "clients", request_body = ReadRequest,
    responses((status = 202, body = Accepted), (status = 400, body = ErrorBody)))]
pub(crate) async fn mark_read(
    State(state): State<ClientState>,
    owner: MailboxOwner,
    ValidJson(request): ValidJson<ReadRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    state.ingest.mark_read(owner.mailbox, request.up_to).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { accepted: true })))
}

/// Delete a message from the caller's mailbox; for a broadcast, hide it for this user only.
#[utoipa::path(delete, path = "/v1/mailbox/messages/{msg_id}", tag = "clients",
    params(("msg_id" = i64, Path)), responses((status = 202, body = Accepted), (status = 400, body = ErrorBody)))]
pub(crate) async fn delete_message(
    State(state): State<ClientState>,
    owner: MailboxOwner,
    ValidPath(msg_id): ValidPath<MsgId>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    match state.puller.visible_broadcast(&owner.viewer, owner.mailbox.app_id, msg_id).await? {
        Some(broadcast_id) => state.ingest.hide_broadcast(owner.mailbox, broadcast_id).await?,
        None => state.ingest.delete_message(owner.mailbox, msg_id).await?,
    }
    Ok((StatusCode::ACCEPTED, Json(Accepted { accepted: true })))
}
