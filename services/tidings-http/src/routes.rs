//! The v1 operations, one handler each, with their OpenAPI descriptions.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tidings_domain::broadcast::{Audience, Broadcast, BroadcastContent, BroadcastState, LifecycleAction};
use tidings_domain::client::Platform;
use tidings_domain::sync::{HistoryDirection, MailboxEntry, Source, SyncCursor};
use tidings_domain::{AppId, BroadcastId, MsgId};
use tidings_ingest::{
    BroadcastApplied, BroadcastDraftRequest, BroadcastPatchRequest, SendAccepted, SendMode, SendRequest, WhitelistBody,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use crate::auth::Role;
use crate::error::{ApiError, ErrorBody, ErrorDetail};
use crate::extract::{Caller, MailboxOwner, ValidJson};
use crate::{BusinessState, ClientState};

/// What business servers and operators call: sends, broadcasts, the whitelist.
pub(crate) fn business_routes() -> Router<BusinessState> {
    Router::new()
        .route("/v1/apps/{app_id}/messages", post(send_message))
        .route("/v1/apps/{app_id}/broadcasts", post(create_broadcast).get(list_broadcasts))
        .route(
            "/v1/apps/{app_id}/broadcasts/{broadcast_id}",
            get(get_broadcast).patch(modify_broadcast).delete(delete_broadcast),
        )
        .route("/v1/apps/{app_id}/broadcasts/{broadcast_id}/{action}", post(broadcast_action))
        .route("/v1/apps/{app_id}/whitelist", get(get_whitelist).put(put_whitelist))
}

/// What clients call: their own mailbox.
pub(crate) fn client_routes() -> Router<ClientState> {
    Router::new()
        .route("/v1/mailbox/sync", get(sync))
        .route("/v1/mailbox/history", get(history))
        .route("/v1/mailbox/read", post(mark_read))
        .route("/v1/mailbox/messages/{msg_id}", delete(delete_message))
}

/// The OpenAPI document of the v1 API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Tidings", description = "Message-platform backend for instant messaging: private mailboxes and a public mailbox merged at pull time."),
    paths(
        send_message, create_broadcast, list_broadcasts, get_broadcast, modify_broadcast, delete_broadcast,
        broadcast_action, get_whitelist, put_whitelist, sync, history, mark_read, delete_message
    ),
    components(schemas(
        SendRequest, SendMode, SendAccepted, BroadcastDraftRequest, BroadcastPatchRequest, Broadcast,
        BroadcastContent, BroadcastState, Audience, Platform, LifecycleAction, BroadcastList, WhitelistBody,
        SyncResponse, HistoryResponse, MailboxEntry, Source, ReadRequest, Accepted, ErrorBody, ErrorDetail
    )),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
#[derive(Debug)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

pub(crate) async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// Path parameters; a malformed one is answered with its name.
#[derive(Debug)]
pub struct ValidPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ValidPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ValidPath(value))
            .map_err(|rejection: PathRejection| ApiError::field("path", rejection.body_text()))
    }
}

#[derive(Debug, Deserialize)]
struct AppPath {
    app_id: AppId,
}

#[derive(Debug, Deserialize)]
struct BroadcastPath {
    app_id: AppId,
    broadcast_id: BroadcastId,
}

#[derive(Debug, Deserialize)]
struct ActionPath {
    app_id: AppId,
    broadcast_id: BroadcastId,
    action: String,
}

/// A list of broadcasts.
#[derive(Debug, Serialize, ToSchema)]
pub struct BroadcastList {
    pub broadcasts: Vec<Broadcast>,
}

/// An incremental sync page.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncResponse {
    /// New messages, private and public merged, in `msg_id` order.
    pub messages: Vec<MailboxEntry>,
    /// Pass it back to get what comes next; opaque.
    pub cursor: String,
    /// Whether more is waiting right now.
    pub has_more: bool,
}

/// A history page.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryResponse {
    /// In `msg_id` order.
    pub messages: Vec<MailboxEntry>,
    pub has_more: bool,
}

/// `POST /v1/mailbox/read`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// Everything up to this `msg_id` reads as read.
    pub up_to: MsgId,
}

/// Durably accepted; visible to pulls once projected.
#[derive(Debug, Serialize, ToSchema)]
pub struct Accepted {
    pub accepted: bool,
}

/// `GET /v1/mailbox/sync` query.
#[derive(Debug, Deserialize, IntoParams)]
pub struct SyncQuery {
    /// The cursor of the previous sync; none means from the beginning.
    pub cursor: Option<String>,
    /// How many messages at most (default 50, at most 200).
    pub limit: Option<String>,
}

/// `GET /v1/mailbox/history` query: exactly one of `before` and `after`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct HistoryQuery {
    /// Messages with `msg_id` below this one, the newest of them.
    pub before: Option<String>,
    /// Messages with `msg_id` above this one, the oldest of them.
    pub after: Option<String>,
    /// How many messages at most (default 50, at most 200).
    pub limit: Option<String>,
}

fn query_params<T: DeserializeOwned>(
    query: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    query.map(|Query(q)| q).map_err(|rejection| ApiError::field("query", rejection.body_text()))
}

fn parse_number(field: &str, value: &str) -> Result<i64, ApiError> {
    value.parse().map_err(|_| ApiError::field(field, format!("{field}: {value:?} is not an integer")))
}

fn limit(state: &ClientState, value: Option<&str>) -> Result<usize, ApiError> {
    let Some(value) = value else { return Ok(state.limits.default_limit) };
    let max = state.limits.max_limit;
    value
        .parse::<usize>()
        .ok()
        .filter(|limit| (1..=max).contains(limit))
        .ok_or_else(|| ApiError::field("limit", format!("limit: {value:?} is not a number from 1 to {max}")))
}

/// `201`/`200` when the projection already shows the change, `202` when it is durably
/// accepted and on its way.
fn applied(applied: BroadcastApplied, done: StatusCode) -> (StatusCode, Json<Broadcast>) {
    let status = if applied.projected { done } else { StatusCode::ACCEPTED };
    (status, Json(applied.broadcast))
}

/// Send a message: unicast, batch unicast or private chat.
#[utoipa::path(post, path = "/v1/apps/{app_id}/messages", tag = "business servers",
    params(("app_id" = i64, Path, description = "the app; must match the token's")),
    request_body = SendRequest,
    responses((status = 202, description = "durably accepted by the log", body = SendAccepted),
        (status = 400, description = "bad input; nothing was written", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn send_message(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<AppPath>,
    ValidJson(request): ValidJson<SendRequest>,
) -> Result<(StatusCode, Json<SendAccepted>), ApiError> {
    claims.require(&[Role::App], path.app_id)?;
    let accepted = state.ingest.send(path.app_id, &request).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

/// Create a broadcast draft.
#[utoipa::path(post, path = "/v1/apps/{app_id}/broadcasts", tag = "broadcasts",
    params(("app_id" = i64, Path)), request_body = BroadcastDraftRequest,
    responses((status = 201, description = "created", body = Broadcast),
        (status = 202, description = "accepted, projection pending", body = Broadcast),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_broadcast(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<AppPath>,
    ValidJson(request): ValidJson<BroadcastDraftRequest>,
) -> Result<(StatusCode, Json<Broadcast>), ApiError> {
    claims.require(&[Role::Operator, Role::App], path.app_id)?;
    Ok(applied(state.ingest.create_broadcast(path.app_id, &request).await?, StatusCode::CREATED))
}

/// List the app's broadcasts (deleted ones excluded).
#[utoipa::path(get, path = "/v1/apps/{app_id}/broadcasts", tag = "broadcasts",
    params(("app_id" = i64, Path)),
    responses((status = 200, body = BroadcastList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_broadcasts(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<AppPath>,
) -> Result<Json<BroadcastList>, ApiError> {
    claims.require(&[Role::Operator, Role::App], path.app_id)?;
    Ok(Json(BroadcastList { broadcasts: state.ingest.list_broadcasts(path.app_id).await? }))
}

/// One broadcast: state, version, content, audience.
#[utoipa::path(get, path = "/v1/apps/{app_id}/broadcasts/{broadcast_id}", tag = "broadcasts",
    params(("app_id" = i64, Path), ("broadcast_id" = i64, Path)),
    responses((status = 200, body = Broadcast), (status = 404, body = ErrorBody)))]
async fn get_broadcast(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<BroadcastPath>,
) -> Result<Json<Broadcast>, ApiError> {
    claims.require(&[Role::Operator, Role::App], path.app_id)?;
    Ok(Json(state.ingest.broadcast(path.app_id, path.broadcast_id).await?))
}

/// Modify a broadcast's content, expiry or audience; keeps its identity, bumps its version.
#[utoipa::path(patch, path = "/v1/apps/{app_id}/broadcasts/{broadcast_id}", tag = "broadcasts",
    params(("app_id" = i64, Path), ("broadcast_id" = i64, Path)), request_body = BroadcastPatchRequest,
    responses((status = 200, body = Broadcast), (status = 202, body = Broadcast), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "not modifiable in its state", body = ErrorBody)))]
async fn modify_broadcast(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<BroadcastPath>,
    ValidJson(patch): ValidJson<BroadcastPatchRequest>,
) -> Result<(StatusCode, Json<Broadcast>), ApiError> {
    claims.require(&[Role::Operator, Role::App], path.app_id)?;
    Ok(applied(state.ingest.modify_broadcast(path.app_id, path.broadcast_id, &patch).await?, StatusCode::OK))
}

/// Delete a broadcast, from any state.
#[utoipa::path(delete, path = "/v1/apps/{app_id}/broadcasts/{broadcast_id}", tag = "broadcasts",
    params(("app_id" = i64, Path), ("broadcast_id" = i64, Path)),
    responses((status = 200, body = Broadcast), (status = 202, body = Broadcast), (status = 404, body = ErrorBody)))]
async fn delete_broadcast(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<BroadcastPath>,
) -> Result<(StatusCode, Json<Broadcast>), ApiError> {
    claims.require(&[Role::Operator, Role::App], path.app_id)?;
    let result = state.ingest.broadcast_action(path.app_id, path.broadcast_id, LifecycleAction::Delete).await?;
    Ok(applied(result, StatusCode::OK))
}

/// Move a broadcast through its lifecycle: `prepublish` (whitelist only), `publish`,
/// `stop`, `recall`.
#[utoipa::path(post, path = "/v1/apps/{app_id}/broadcasts/{broadcast_id}/{action}", tag = "broadcasts",
    params(("app_id" = i64, Path), ("broadcast_id" = i64, Path),
        ("action" = String, Path, description = "prepublish | publish | stop | recall")),
    responses((status = 200, body = Broadcast), (status = 202, body = Broadcast), (status = 404, body = ErrorBody),
        (status = 409, description = "illegal transition; nothing was written", body = ErrorBody)))]
async fn broadcast_action(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<ActionPath>,
) -> Result<(StatusCode, Json<Broadcast>), ApiError> {
    claims.require(&[Role::Operator, Role::App], path.app_id)?;
    let action = match path.action.as_str() {
        "prepublish" => LifecycleAction::PrePublish,
        "publish" => LifecycleAction::Publish,
        "stop" => LifecycleAction::Stop,
        "recall" => LifecycleAction::Recall,
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no broadcast action {other:?}: expected prepublish, publish, stop or recall"),
            ));
        }
    };
    let result = state.ingest.broadcast_action(path.app_id, path.broadcast_id, action).await?;
    Ok(applied(result, StatusCode::OK))
}

/// The app's whitelist of pre-publication testers.
#[utoipa::path(get, path = "/v1/apps/{app_id}/whitelist", tag = "broadcasts",
    params(("app_id" = i64, Path)), responses((status = 200, body = WhitelistBody)))]
async fn get_whitelist(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<AppPath>,
) -> Result<Json<WhitelistBody>, ApiError> {
    claims.require(&[Role::Operator, Role::App], path.app_id)?;
    Ok(Json(WhitelistBody { uids: state.ingest.whitelist(path.app_id).await? }))
}

/// Replace the whitelist; takes effect without a restart.
#[utoipa::path(put, path = "/v1/apps/{app_id}/whitelist", tag = "broadcasts",
    params(("app_id" = i64, Path)), request_body = WhitelistBody,
    responses((status = 200, body = WhitelistBody), (status = 202, body = WhitelistBody), (status = 400, body = ErrorBody)))]
async fn put_whitelist(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<AppPath>,
    ValidJson(body): ValidJson<WhitelistBody>,
) -> Result<(StatusCode, Json<WhitelistBody>), ApiError> {
    claims.require(&[Role::Operator, Role::App], path.app_id)?;
    let projected = state.ingest.replace_whitelist(path.app_id, &body.uids).await?;
    let status = if projected { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok((status, Json(body)))
}

/// What is new since the cursor, private and public merged in `msg_id` order. The client
/// identifies itself with `platform`, `app_version`, `core_level` headers, or the same
/// tokens in its User-Agent.
#[utoipa::path(get, path = "/v1/mailbox/sync", tag = "clients", params(SyncQuery),
    responses((status = 200, body = SyncResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn sync(
    State(state): State<ClientState>,
    owner: MailboxOwner,
    query: Result<Query<SyncQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<SyncResponse>, ApiError> {
    let query = query_params(query)?;
    let cursor = SyncCursor::decode(query.cursor.as_deref().unwrap_or_default())?;
    let limit = limit(&state, query.limit.as_deref())?;
    let page = state.puller.sync(owner.mailbox, &owner.viewer, cursor, limit).await?;
    Ok(Json(SyncResponse { messages: page.messages, cursor: page.cursor.encode(), has_more: page.has_more }))
}

/// A page of history before or after a `msg_id`, private and public merged.
#[utoipa::path(get, path = "/v1/mailbox/history", tag = "clients", params(HistoryQuery),
    responses((status = 200, body = HistoryResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn history(
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
    Ok(Json(HistoryResponse { messages: page.messages, has_more: page.has_more }))
}

/// Mark everything up to a `msg_id` read.
#[utoipa::path(post, path = "/v1/mailbox/read", tag = "clients", request_body = ReadRequest,
    responses((status = 202, body = Accepted), (status = 400, body = ErrorBody)))]
async fn mark_read(
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
async fn delete_message(
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
