//! The v1 operations, one handler each, with their OpenAPI descriptions: [`business`]
//! (business servers and operators) and [`clients`] (a user's own mailbox).

pub(crate) mod business;
pub(crate) mod clients;

use axum::Json;
use axum::Router;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use serde::de::DeserializeOwned;
use tidings_ingest::BroadcastApplied;

use self::business::*;
use self::clients::*;
use crate::bodies::Broadcast;
use crate::error::ApiError;
use crate::{BusinessState, ClientState};

/// What business servers and operators call: sends and their recall, users' attributes,
/// broadcasts, the whitelist, the audit trail.
pub(crate) fn business_routes() -> Router<BusinessState> {
    Router::new()
        .route("/v1/apps/{app_id}/messages", post(send_message))
        .route("/v1/apps/{app_id}/messages/recall", post(recall_by_msgkey))
        .route("/v1/apps/{app_id}/messages/{request_id}/recall", post(recall_by_request_id))
        .route(
            "/v1/apps/{app_id}/users/{uid}/attributes",
            get(get_attributes).put(put_attributes).delete(delete_attributes),
        )
        .route("/v1/apps/{app_id}/broadcasts", post(create_broadcast).get(list_broadcasts))
        .route(
            "/v1/apps/{app_id}/broadcasts/{broadcast_id}",
            get(get_broadcast).patch(modify_broadcast).delete(delete_broadcast),
        )
        .route("/v1/apps/{app_id}/broadcasts/{broadcast_id}/{action}", post(broadcast_action))
        .route("/v1/apps/{app_id}/whitelist", get(get_whitelist).put(put_whitelist))
        .route("/v1/apps/{app_id}/audit", get(get_audit))
}

/// What clients call: their own mailbox.
pub(crate) fn client_routes() -> Router<ClientState> {
    Router::new()
        .route("/v1/mailbox/sync", get(sync))
        .route("/v1/mailbox/history", get(history))
        .route("/v1/mailbox/read", post(mark_read))
        .route("/v1/mailbox/messages/{msg_id}", delete(delete_message))
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
    (status, Json(applied.broadcast.into()))
}
