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
use crate::error::ApiError;
use crate::extract::{MailboxOwner, ValidJson, ValidPath};

/// The client's version facts, read by every client operation (see [`MailboxOwner`]);
/// where a client can't set headers, the same tokens in its User-Agent
/// (`platform/ios app_version/8.0.25 core_level/220819`) fill in what headers leave out.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code, reason = "describes the headers in the OpenAPI document; MailboxOwner reads them")]
pub struct ClientIdentity {
    /// The client platform: ios, android, win, mac, linux or web, in any letter case; blank
    /// is the same as absent.
    #[param(
        pattern = r"^[ \t]*([Ii][Oo][Ss]|[Aa][Nn][Dd][Rr][Oo][Ii][Dd]|[Ww][Ii][Nn]|[Mm][Aa][Cc]|[Ll][Ii][Nn][Uu][Xx]|[Ww][Ee][Bb])?[ \t]*$"
    )]
    pub platform: Option<String>,
    /// The app's version, e.g. `8.0.25`.
    pub app_version: Option<String>,
    /// The client's core level, an integer such as `220819` (audiences may bound it); blank
    /// is the same as absent.
    #[param(pattern = r"^[ \t]*([+-]?[0-9]+)?[ \t]*$")]
    pub core_level: Option<String>,
}

/// `GET /v1/mailbox/sync` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// The cursor of the previous sync; none means from the beginning.
    // `SyncCursor::PATTERN`, which a test checks this against.
    #[param(
        pattern = r"^(c1\.(0|[1-9a-f][0-9a-f]{0,14}|[1-7][0-9a-f]{15})\.(0|[1-9a-f][0-9a-f]{0,14}|[1-7][0-9a-f]{15}))?$"
    )]
    pub cursor: Option<String>,
    /// How many messages at most (default 50, at most 200).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
}

/// `GET /v1/mailbox/history` query: exactly one of `before` and `after`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Messages with `msg_id` below this one, the newest of them.
    #[param(value_type = Option<i64>)]
    pub before: Option<String>,
    /// Messages with `msg_id` above this one, the oldest of them.
    #[param(value_type = Option<i64>)]
    pub after: Option<String>,
    /// How many messages at most (default 50, at most 200).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
}

/// What is new since the cursor, private and public merged in `msg_id` order. The client
/// identifies itself with `platform`, `app_version`, `core_level` headers, or the same
/// tokens in its User-Agent.
#[utoipa::path(get, path = "/v1/mailbox/sync", tag = "clients", params(SyncQuery, ClientIdentity),
    responses((status = 200, body = SyncResponse)))]
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
#[utoipa::path(get, path = "/v1/mailbox/history", tag = "clients", params(HistoryQuery, ClientIdentity),
    responses((status = 200, body = HistoryResponse)))]
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
#[utoipa::path(post, path = "/v1/mailbox/read", tag = "clients", request_body = ReadRequest, params(ClientIdentity),
    responses((status = 202, body = Accepted)))]
pub(crate) async fn mark_read(
    State(state): State<ClientState>,
    owner: MailboxOwner,
    ValidJson(request): ValidJson<ReadRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    // Reach counts the broadcasts this mark newly covers: the mark before it is read first.
    let before = state.puller.read_mark_before(owner.mailbox).await?;
    state.ingest.mark_read(owner.mailbox, request.up_to).await?;
    state.puller.count_read(owner.mailbox, &owner.viewer, before, request.up_to).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { accepted: true })))
}

/// Delete a message from the caller's mailbox; for a broadcast, hide it for this user only.
#[utoipa::path(delete, path = "/v1/mailbox/messages/{msg_id}", tag = "clients",
    params(("msg_id" = i64, Path), ClientIdentity), responses((status = 202, body = Accepted)))]
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
