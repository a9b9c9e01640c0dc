//! What business servers and operators call: sends, broadcasts, the whitelist, the audit
//! trail.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tidings_domain::audit::AuditSubject;
use tidings_domain::broadcast::LifecycleAction;
use tidings_domain::message::{Attributes, Mailbox};
use tidings_domain::{AppId, BroadcastId, Uid};
use tidings_ingest::{MAX_AUDIT_LIMIT, SendReference};
use utoipa::IntoParams;

use super::{applied, parse_number, query_params};
use crate::BusinessState;
use crate::auth::{CallerRole, Claims};
use crate::bodies::{
    Accepted, AttributesBody, AuditEntry, AuditList, Broadcast, BroadcastDraftRequest, BroadcastList,
    BroadcastPatchRequest, RecallAccepted, RecallByMsgkeyRequest, SendAccepted, SendRequest, WhitelistBody,
};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, ValidJson, ValidPath};

#[derive(Debug, Deserialize)]
pub(crate) struct AppPath {
    app_id: AppId,
}

#[derive(Debug, Deserialize)]
pub(crate) struct SendPath {
    app_id: AppId,
    request_id: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct UserPath {
    app_id: AppId,
    uid: Uid,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BroadcastPath {
    app_id: AppId,
    broadcast_id: BroadcastId,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ActionPath {
    app_id: AppId,
    broadcast_id: BroadcastId,
    action: String,
}

/// Send a message: unicast, batch unicast or private chat.
#[utoipa::path(post, path = "/v1/apps/{app_id}/messages", tag = "business servers",
    params(("app_id" = i64, Path, description = "the app; must match the token's")),
    request_body = SendRequest,
    responses((status = 202, description = "durably accepted by the log", body = SendAccepted),
        (status = 400, description = "bad input; nothing was written", body = ErrorBody),
        (status = 429, description = "this app's sends are above `ingest.sends_per_second_per_app`; nothing was written; retry after `Retry-After` seconds", body = ErrorBody,
            headers(("Retry-After" = i64, description = "seconds to wait")))))]
pub(crate) async fn send_message(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<AppPath>,
    ValidJson(request): ValidJson<SendRequest>,
) -> Result<(StatusCode, Json<SendAccepted>), ApiError> {
    claims.require(&[CallerRole::App], path.app_id)?;
    state.rates.admit(path.app_id)?;
    let accepted = state.ingest.send(path.app_id, &request.into()).await?;
    Ok((StatusCode::ACCEPTED, Json(SendAccepted::from(accepted))))
}

/// Recall a send by the `request_id` it was answered with: the message leaves every
/// recipient's mailbox, and each device that synced it gets a delete command.
#[utoipa::path(post, path = "/v1/apps/{app_id}/messages/{request_id}/recall", tag = "business servers",
    params(("app_id" = i64, Path, description = "the app; must match the token's"),
        ("request_id" = String, Path, description = "the send's `request_id`")),
    responses((status = 202, description = "durably accepted by the log", body = RecallAccepted),
        (status = 404, description = "no send with this request_id in the app (a send is found once projected, within moments of its answer)", body = ErrorBody)))]
pub(crate) async fn recall_by_request_id(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<SendPath>,
) -> Result<(StatusCode, Json<RecallAccepted>), ApiError> {
    claims.require(&[CallerRole::App], path.app_id)?;
    let accepted = state.ingest.recall_send(path.app_id, &SendReference::Request(path.request_id)).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted.into())))
}

/// Recall every send a sender made under a msgkey: the messages leave every recipient's
/// mailbox, and each device that synced one gets a delete command.
#[utoipa::path(post, path = "/v1/apps/{app_id}/messages/recall", tag = "business servers",
    params(("app_id" = i64, Path, description = "the app; must match the token's")),
    request_body = RecallByMsgkeyRequest,
    responses((status = 202, description = "durably accepted by the log", body = RecallAccepted),
        (status = 404, description = "no send under this msgkey in the app (yet: a send is found once projected, within moments of its answer; retry shortly after a send)", body = ErrorBody)))]
pub(crate) async fn recall_by_msgkey(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<AppPath>,
    ValidJson(request): ValidJson<RecallByMsgkeyRequest>,
) -> Result<(StatusCode, Json<RecallAccepted>), ApiError> {
    claims.require(&[CallerRole::App], path.app_id)?;
    let send = SendReference::Msgkey { from_uid: request.from_uid, msgkey: request.msgkey };
    let accepted = state.ingest.recall_send(path.app_id, &send).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted.into())))
}

/// A user's attributes, as projected.
#[utoipa::path(get, path = "/v1/apps/{app_id}/users/{uid}/attributes", tag = "business servers",
    params(("app_id" = i64, Path), ("uid" = i64, Path)),
    responses((status = 200, body = AttributesBody)))]
pub(crate) async fn get_attributes(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<UserPath>,
) -> Result<Json<AttributesBody>, ApiError> {
    claims.require(&[CallerRole::App, CallerRole::Operator], path.app_id)?;
    Ok(Json(AttributesBody(state.ingest.attributes(Mailbox::new(path.app_id, path.uid)).await?)))
}

/// Replace a user's attributes, which personalized broadcasts read (`{{ attrs.nickname }}`).
#[utoipa::path(put, path = "/v1/apps/{app_id}/users/{uid}/attributes", tag = "business servers",
    params(("app_id" = i64, Path), ("uid" = i64, Path)), request_body = AttributesBody,
    responses((status = 202, description = "durably accepted; pulls use them once projected", body = Accepted)))]
pub(crate) async fn put_attributes(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<UserPath>,
    ValidJson(AttributesBody(attributes)): ValidJson<AttributesBody>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    replace_attributes(&state, &claims, &path, attributes).await
}

/// Remove a user's attributes.
#[utoipa::path(delete, path = "/v1/apps/{app_id}/users/{uid}/attributes", tag = "business servers",
    params(("app_id" = i64, Path), ("uid" = i64, Path)),
    responses((status = 202, description = "durably accepted", body = Accepted)))]
pub(crate) async fn delete_attributes(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<UserPath>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    replace_attributes(&state, &claims, &path, Default::default()).await
}

/// `PUT` and `DELETE` of a user's attributes: a replacement, empty for a removal.
async fn replace_attributes(
    state: &BusinessState,
    claims: &Claims,
    path: &UserPath,
    attributes: Attributes,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    claims.require(&[CallerRole::App], path.app_id)?;
    state.ingest.replace_attributes(Mailbox::new(path.app_id, path.uid), attributes).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { accepted: true })))
}

/// Create a broadcast draft.
#[utoipa::path(post, path = "/v1/apps/{app_id}/broadcasts", tag = "broadcasts",
    params(("app_id" = i64, Path)), request_body = BroadcastDraftRequest,
    responses((status = 201, description = "created", body = Broadcast),
        (status = 202, description = "accepted, projection pending", body = Broadcast),
        (status = 409, description = "another change to the broadcast came first; this one changed nothing", body = ErrorBody)))]
pub(crate) async fn create_broadcast(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<AppPath>,
    ValidJson(request): ValidJson<BroadcastDraftRequest>,
) -> Result<(StatusCode, Json<Broadcast>), ApiError> {
    let actor = claims.actor(path.app_id)?;
    Ok(applied(state.ingest.create_broadcast(path.app_id, &request.into(), &actor).await?, StatusCode::CREATED))
}

/// List the app's broadcasts (deleted ones excluded).
#[utoipa::path(get, path = "/v1/apps/{app_id}/broadcasts", tag = "broadcasts",
    params(("app_id" = i64, Path)),
    responses((status = 200, body = BroadcastList)))]
pub(crate) async fn list_broadcasts(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<AppPath>,
) -> Result<Json<BroadcastList>, ApiError> {
    claims.require(&[CallerRole::Operator, CallerRole::App], path.app_id)?;
    let broadcasts = state.ingest.list_broadcasts(path.app_id).await?;
    Ok(Json(BroadcastList { broadcasts: broadcasts.into_iter().map(Broadcast::from).collect() }))
}

/// One broadcast: state, version, content, audience, and its reach.
#[utoipa::path(get, path = "/v1/apps/{app_id}/broadcasts/{broadcast_id}", tag = "broadcasts",
    params(("app_id" = i64, Path), ("broadcast_id" = i64, Path)),
    responses((status = 200, body = Broadcast), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_broadcast(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<BroadcastPath>,
) -> Result<Json<Broadcast>, ApiError> {
    claims.require(&[CallerRole::Operator, CallerRole::App], path.app_id)?;
    let mut broadcast: Broadcast = state.ingest.broadcast(path.app_id, path.broadcast_id).await?.into();
    broadcast.reach = Some(state.ingest.broadcast_reach(path.app_id, path.broadcast_id).await?.into());
    Ok(Json(broadcast))
}

/// Modify a broadcast's content, expiry or audience; keeps its identity, bumps its version.
#[utoipa::path(patch, path = "/v1/apps/{app_id}/broadcasts/{broadcast_id}", tag = "broadcasts",
    params(("app_id" = i64, Path), ("broadcast_id" = i64, Path)), request_body = BroadcastPatchRequest,
    responses((status = 200, body = Broadcast), (status = 202, body = Broadcast),
        (status = 404, body = ErrorBody), (status = 409, description = "not modifiable in its state", body = ErrorBody)))]
pub(crate) async fn modify_broadcast(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<BroadcastPath>,
    ValidJson(patch): ValidJson<BroadcastPatchRequest>,
) -> Result<(StatusCode, Json<Broadcast>), ApiError> {
    let actor = claims.actor(path.app_id)?;
    let result = state.ingest.modify_broadcast(path.app_id, path.broadcast_id, &patch.into(), &actor).await?;
    Ok(applied(result, StatusCode::OK))
}

/// Delete a broadcast, from any state.
#[utoipa::path(delete, path = "/v1/apps/{app_id}/broadcasts/{broadcast_id}", tag = "broadcasts",
    params(("app_id" = i64, Path), ("broadcast_id" = i64, Path)),
    responses((status = 200, body = Broadcast), (status = 202, body = Broadcast), (status = 404, body = ErrorBody),
        (status = 409, description = "another change to the broadcast came first; this one changed nothing", body = ErrorBody)))]
pub(crate) async fn delete_broadcast(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<BroadcastPath>,
) -> Result<(StatusCode, Json<Broadcast>), ApiError> {
    let actor = claims.actor(path.app_id)?;
    let result = state.ingest.broadcast_action(path.app_id, path.broadcast_id, LifecycleAction::Delete, &actor).await?;
    Ok(applied(result, StatusCode::OK))
}

/// Move a broadcast through its lifecycle: `prepublish` (whitelist only), `publish`,
/// `stop`, `recall`.
#[utoipa::path(post, path = "/v1/apps/{app_id}/broadcasts/{broadcast_id}/{action}", tag = "broadcasts",
    params(("app_id" = i64, Path), ("broadcast_id" = i64, Path),
        ("action" = String, Path, description = "prepublish | publish | stop | recall")),
    responses((status = 200, body = Broadcast), (status = 202, body = Broadcast), (status = 404, body = ErrorBody),
        (status = 409, description = "illegal transition; nothing was written", body = ErrorBody)))]
pub(crate) async fn broadcast_action(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<ActionPath>,
) -> Result<(StatusCode, Json<Broadcast>), ApiError> {
    let actor = claims.actor(path.app_id)?;
    // Deleting is `DELETE …/broadcasts/{id}`, not an action path.
    let action = path.action.parse::<LifecycleAction>().ok().filter(|action| *action != LifecycleAction::Delete);
    let Some(action) = action else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no broadcast action {:?}: expected prepublish, publish, stop or recall", path.action),
        ));
    };
    let result = state.ingest.broadcast_action(path.app_id, path.broadcast_id, action, &actor).await?;
    Ok(applied(result, StatusCode::OK))
}

/// The app's whitelist of pre-publication testers.
#[utoipa::path(get, path = "/v1/apps/{app_id}/whitelist", tag = "broadcasts",
    params(("app_id" = i64, Path)), responses((status = 200, body = WhitelistBody)))]
pub(crate) async fn get_whitelist(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<AppPath>,
) -> Result<Json<WhitelistBody>, ApiError> {
    claims.require(&[CallerRole::Operator, CallerRole::App], path.app_id)?;
    Ok(Json(WhitelistBody { uids: state.ingest.whitelist(path.app_id).await? }))
}

/// Replace the whitelist; takes effect without a restart.
#[utoipa::path(put, path = "/v1/apps/{app_id}/whitelist", tag = "broadcasts",
    params(("app_id" = i64, Path)), request_body = WhitelistBody,
    responses((status = 200, body = WhitelistBody), (status = 202, body = WhitelistBody),
        (status = 409, description = "another whitelist change came first; this one changed nothing", body = ErrorBody)))]
pub(crate) async fn put_whitelist(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<AppPath>,
    ValidJson(body): ValidJson<WhitelistBody>,
) -> Result<(StatusCode, Json<WhitelistBody>), ApiError> {
    let actor = claims.actor(path.app_id)?;
    let projected = state.ingest.replace_whitelist(path.app_id, &body.uids, &actor).await?;
    let status = if projected { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok((status, Json(body)))
}

/// `GET /v1/apps/{app_id}/audit` query: at most one of `broadcast_id` and `subject`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only the entries of this broadcast.
    #[param(value_type = Option<i64>)]
    pub broadcast_id: Option<String>,
    /// `whitelist`: only the whitelist's entries.
    #[param(pattern = r"^whitelist$")]
    pub subject: Option<String>,
    /// How many entries at most (default 100, at most 1000).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// The default number of entries of one audit page.
const DEFAULT_AUDIT_LIMIT: usize = 100;

/// The audit trail: who created, modified, moved through its lifecycle or deleted each
/// broadcast, and replaced the whitelist, and when; newest first.
#[utoipa::path(get, path = "/v1/apps/{app_id}/audit", tag = "broadcasts",
    params(("app_id" = i64, Path), AuditQuery),
    responses((status = 200, body = AuditList)))]
pub(crate) async fn get_audit(
    State(state): State<BusinessState>,
    Caller(claims): Caller,
    ValidPath(path): ValidPath<AppPath>,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<AuditList>, ApiError> {
    claims.require(&[CallerRole::Operator, CallerRole::App], path.app_id)?;
    let query = query_params(query)?;
    let subject = match (query.broadcast_id.as_deref(), query.subject.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::field("subject", "subject: give broadcast_id or subject, not both"));
        }
        (Some(id), None) => Some(AuditSubject::Broadcast(parse_number("broadcast_id", id)?)),
        (None, Some("whitelist")) => Some(AuditSubject::Whitelist),
        (None, Some(other)) => {
            return Err(ApiError::field("subject", format!("subject: {other:?} is not whitelist")));
        }
        (None, None) => None,
    };
    let limit = match query.limit.as_deref() {
        None => DEFAULT_AUDIT_LIMIT,
        Some(value) => {
            value.parse::<usize>().ok().filter(|limit| (1..=MAX_AUDIT_LIMIT).contains(limit)).ok_or_else(|| {
                ApiError::field("limit", format!("limit: {value:?} is not a number from 1 to {MAX_AUDIT_LIMIT}"))
            })?
        }
    };
    let entries = state.ingest.audit(path.app_id, subject, limit).await?;
    Ok(Json(AuditList { entries: entries.into_iter().map(AuditEntry::from).collect() }))
}
