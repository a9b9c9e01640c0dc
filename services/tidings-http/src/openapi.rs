//! The OpenAPI document of the v1 API, served at `/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::bodies::{
    Accepted, Audience, Broadcast, BroadcastContent, BroadcastDraftRequest, BroadcastList, BroadcastPatchRequest,
    BroadcastState, HistoryResponse, LifecycleAction, MailboxEntry, Platform, ReadRequest, SendAccepted, SendMode,
    SendRequest, Source, SyncResponse, WhitelistBody,
};
use crate::error::{ErrorBody, ErrorDetail};
use crate::routes::business::*;
use crate::routes::clients::*;

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

pub(crate) async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
