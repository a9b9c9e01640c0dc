//! The whitelist editor: the users who see pre-published broadcasts. A change is live
//! within about a second, like any change to the public mailbox.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use tidings_domain::AppId;
use tidings_domain::FieldError;
use tidings_ingest::IngestError;

use crate::ConsoleState;
use crate::form::{Mutation, parse_uids};
use crate::pages::audit;
use crate::pages::layout::{app_path, csrf_field, field_error, page};
use crate::refusal::Refusal;
use crate::session::Session;

pub async fn show(
    State(state): State<ConsoleState>,
    session: Session,
    Path(app_id): Path<AppId>,
    axum::extract::Query(query): axum::extract::Query<SavedQuery>,
) -> Result<Markup, Refusal> {
    session.require_app(app_id)?;
    let uids = state.ingest.whitelist(app_id).await?;
    let text = uids.iter().map(|uid| uid.to_string()).collect::<Vec<_>>().join("\n");
    let notice = query.saved.map(|projected| match projected {
        true => "Saved: the whitelist is live.",
        false => "Accepted: the whitelist is live within a moment.",
    });
    whitelist_page(&state, &session, app_id, &text, notice, None).await
}

#[derive(Debug, serde::Deserialize)]
pub struct SavedQuery {
    saved: Option<bool>,
}

pub async fn replace(
    State(state): State<ConsoleState>,
    Path(app_id): Path<AppId>,
    Mutation { session, fields }: Mutation,
) -> Result<Response, Refusal> {
    session.require_app(app_id)?;
    let text = fields.get("uids").unwrap_or_default().to_owned();
    let refused = async |error: FieldError| -> Result<Response, Refusal> {
        let body = whitelist_page(&state, &session, app_id, &text, None, Some(&error.reason)).await?;
        Ok((StatusCode::UNPROCESSABLE_ENTITY, body).into_response())
    };
    let uids = match parse_uids(&text) {
        Ok(uids) => uids,
        Err(error) => return refused(error).await,
    };
    match state.ingest.replace_whitelist(app_id, &uids, &session.actor()).await {
        Ok(projected) => {
            Ok(Redirect::to(&format!("{}?saved={projected}", app_path(app_id, "whitelist"))).into_response())
        }
        Err(IngestError::Invalid(error)) => refused(error).await,
        Err(other) => Err(other.into()),
    }
}

async fn whitelist_page(
    state: &ConsoleState,
    session: &Session,
    app_id: AppId,
    text: &str,
    notice: Option<&str>,
    error: Option<&str>,
) -> Result<Markup, Refusal> {
    let trail = audit::whitelist_trail(state, app_id).await?;
    Ok(page(
        "Whitelist",
        session,
        html! {
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            p { "Whitelisted users see pre-published broadcasts (those their audience admits), so they can be checked on real devices before everyone gets them." }
            form.editor method="post" action=(app_path(app_id, "whitelist")) {
                (csrf_field(session))
                label for="uids" { "Uids (separated by commas, spaces or lines)" }
                textarea #uids name="uids" { (text) }
                (field_error(error))
                p { button type="submit" { "Save whitelist" } }
            }
            h2 { "Changes" }
            (trail)
        },
    ))
}
