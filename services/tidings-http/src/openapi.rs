//! The OpenAPI document of the v1 API, served at `/openapi.json`.

use axum::Json;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::bodies::{
    Accepted, Actor, ActorKind, AttributesBody, Audience, AuditAction, AuditEntry, AuditList, AuditSubject, Broadcast,
    BroadcastContent, BroadcastDraftRequest, BroadcastList, BroadcastPatchRequest, BroadcastState, CommandKind,
    ContentFormat, HistoryResponse, LifecycleAction, MailboxEntry, Platform, Reach, ReachCounts, ReachHour,
    ReadRequest, RecallAccepted, RecallByMsgkeyRequest, SendAccepted, SendMode, SendRequest, Source, SyncResponse,
    WhitelistBody,
};
use crate::error::{ErrorBody, ErrorDetail};
use crate::routes::business::*;
use crate::routes::clients::*;

/// The OpenAPI document of the v1 API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Tidings", description = "Message-platform backend for instant messaging: private mailboxes and a public mailbox merged at pull time."),
    paths(
        send_message, recall_by_request_id, recall_by_msgkey, get_attributes, put_attributes, delete_attributes,
        create_broadcast, list_broadcasts, get_broadcast, modify_broadcast, delete_broadcast,
        broadcast_action, get_whitelist, put_whitelist, get_audit, sync, history, mark_read, delete_message
    ),
    components(schemas(
        SendRequest, SendMode, SendAccepted, RecallByMsgkeyRequest, RecallAccepted, AttributesBody,
        BroadcastDraftRequest, BroadcastPatchRequest, Broadcast,
        BroadcastContent, ContentFormat, BroadcastState, Audience, Platform, LifecycleAction, BroadcastList, WhitelistBody,
        SyncResponse, HistoryResponse, MailboxEntry, Source, CommandKind, ReadRequest, Accepted, ErrorBody, ErrorDetail,
        AuditList, AuditEntry, AuditSubject, AuditAction, Actor, ActorKind, Reach, ReachCounts, ReachHour
    )),
    modifiers(&BearerAuth, &CommonErrors),
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

/// The error answers any operation may give, added to every operation that does not
/// describe them itself, so that no operation, present or future, leaves one out.
struct CommonErrors;

impl CommonErrors {
    const ANSWERS: [(&'static str, &'static str); 5] = [
        ("400", "bad input (path, query, header or body), named in `field`; nothing was written"),
        ("401", "no token, or a malformed, forged or expired one"),
        ("403", "the token's role or app does not allow this operation"),
        ("500", "an internal error; nothing is known to have been written"),
        ("503", "the event log or the store is unavailable; nothing was accepted; retry"),
    ];
    /// Operations that take a body answer this one too.
    const TOO_LARGE: (&'static str, &'static str) = ("413", "the body is above the limit (2 MiB); nothing was read");
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let operations = openapi.paths.paths.values_mut().flat_map(|item| {
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
        });
        for operation in operations {
            add_error_answers(operation);
        }
    }
}

fn add_error_answers(operation: &mut Operation) {
    let with_body = operation.request_body.is_some().then_some(CommonErrors::TOO_LARGE);
    for (status, description) in CommonErrors::ANSWERS.into_iter().chain(with_body) {
        operation.responses.responses.entry(status.to_owned()).or_insert_with(|| {
            let body = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
            ResponseBuilder::new().description(description).content("application/json", body).build().into()
        });
    }
}

pub(crate) async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use tidings_domain::sync::SyncCursor;
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;

    use super::*;

    #[test]
    fn the_cursor_parameter_is_documented_with_the_domains_pattern() {
        let document = ApiDoc::openapi();
        let sync = document.paths.paths["/v1/mailbox/sync"].get.as_ref().expect("GET sync");
        let cursor = sync.parameters.iter().flatten().find(|p| p.name == "cursor").expect("a cursor parameter");
        let Some(RefOr::T(Schema::Object(schema))) = &cursor.schema else { panic!("an inline string schema") };
        assert_eq!(schema.pattern.as_deref(), Some(SyncCursor::PATTERN));
    }

    /// `schemas/openapi.json` is what clients generate their code from (the TypeScript SDK
    /// does), so it must be the served document. `TIDINGS_WRITE_OPENAPI=1 cargo test -p
    /// tidings-http committed` rewrites it after a change of the API.
    #[test]
    fn the_committed_document_is_the_served_one() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/openapi.json");
        let served = ApiDoc::openapi().to_pretty_json().expect("serializable") + "\n";
        if std::env::var_os("TIDINGS_WRITE_OPENAPI").is_some() {
            std::fs::write(&path, &served).expect("writing schemas/openapi.json");
        }
        let committed = std::fs::read_to_string(&path).expect("schemas/openapi.json");
        assert!(
            committed == served,
            "schemas/openapi.json is stale: rerun with TIDINGS_WRITE_OPENAPI=1, then regenerate the SDK's types"
        );
    }

    #[test]
    fn every_operation_documents_the_common_error_answers() {
        let document = ApiDoc::openapi();
        for (path, item) in &document.paths.paths {
            for operation in [&item.get, &item.put, &item.post, &item.delete, &item.patch].into_iter().flatten() {
                for (status, _) in CommonErrors::ANSWERS {
                    assert!(operation.responses.responses.contains_key(status), "{path}: no {status}");
                }
            }
        }
    }
}
