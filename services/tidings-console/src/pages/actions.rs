//! Lifecycle actions: a confirmation page that says whom the action reaches, then the
//! action itself. An action the broadcast's state does not allow (a stale page, a typed URL)
//! is refused with the reason, and nothing changes.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use tidings_domain::broadcast::{Broadcast, LifecycleAction};
use tidings_domain::{AppId, BroadcastId};
use tidings_ingest::IngestError;

use crate::ConsoleState;
use crate::form::{EditorValues, FieldErrors, Mutation};
use crate::pages::audience_summary;
use crate::pages::broadcasts::{action_label, broadcast_path, done, refused_page};
use crate::pages::layout::{csrf_field, page};
use crate::refusal::Refusal;
use crate::session::Session;

pub async fn confirm(
    State(state): State<ConsoleState>,
    session: Session,
    Path((app_id, broadcast_id, action)): Path<(AppId, BroadcastId, String)>,
) -> Result<Response, Refusal> {
    session.require_app(app_id)?;
    let broadcast = state.ingest.broadcast(app_id, broadcast_id).await?;
    let action = parse_action(&action)?;
    if let Err(illegal) = broadcast.transitioned(action, 0, 0) {
        return illegal_page(&state, &session, &broadcast, &illegal.to_string()).await;
    }
    let whom = whom_it_reaches(&state, &broadcast, action).await?;
    let body = html! {
        p #whom { (whom) }
        form method="post" action=(format!("{}/actions/{}", broadcast_path(&broadcast), action.as_str())) {
            (csrf_field(&session))
            button type="submit" #confirm { "Confirm: " (action_label(action)) }
            " "
            a href=(broadcast_path(&broadcast)) { "Cancel" }
        }
    };
    Ok(page(&format!("{} broadcast {broadcast_id}?", action_label(action)), &session, body).into_response())
}

pub async fn perform(
    State(state): State<ConsoleState>,
    Path((app_id, broadcast_id, action)): Path<(AppId, BroadcastId, String)>,
    Mutation { session, .. }: Mutation,
) -> Result<Response, Refusal> {
    session.require_app(app_id)?;
    let broadcast = state.ingest.broadcast(app_id, broadcast_id).await?;
    let action = parse_action(&action)?;
    match state.ingest.broadcast_action(app_id, broadcast_id, action, &session.actor()).await {
        Ok(applied) if action == LifecycleAction::Delete => {
            let _ = applied;
            Ok(Redirect::to(&crate::pages::layout::app_path(app_id, "broadcasts")).into_response())
        }
        Ok(applied) => Ok(Redirect::to(&done(&applied.broadcast, action.as_str(), applied.projected)).into_response()),
        Err(error @ (IngestError::Conflict(_) | IngestError::Superseded(_))) => {
            illegal_page(&state, &session, &broadcast, &error.to_string()).await
        }
        Err(other) => Err(other.into()),
    }
}

fn parse_action(name: &str) -> Result<LifecycleAction, Refusal> {
    name.parse().map_err(|_| Refusal::NotFound(format!("the action {name:?}")))
}

async fn illegal_page(
    state: &ConsoleState,
    session: &Session,
    broadcast: &Broadcast,
    reason: &str,
) -> Result<Response, Refusal> {
    let values = EditorValues::of(&broadcast.content);
    refused_page(state, session, broadcast, Some(&capitalized(reason)), &values, &FieldErrors::new()).await
}

/// What confirming `action` does, and to whom.
async fn whom_it_reaches(
    state: &ConsoleState,
    broadcast: &Broadcast,
    action: LifecycleAction,
) -> Result<String, Refusal> {
    let audience = audience_summary(&broadcast.content.audience);
    Ok(match action {
        LifecycleAction::PrePublish => {
            let whitelist = state.ingest.whitelist(broadcast.app_id).await?;
            let shown: Vec<String> = whitelist.iter().take(20).map(|uid| uid.to_string()).collect();
            let more = if whitelist.len() > shown.len() { ", …" } else { "" };
            format!(
                "Pre-publishing shows it only to the {} whitelisted users ({}{more}) who match its audience ({audience}), within about a second. Nobody else sees it.",
                whitelist.len(),
                shown.join(", ")
            )
        }
        LifecycleAction::Publish => format!(
            "Publishing shows it to every user of the app who matches its audience ({audience}), within about a second: online clients are told to sync, the others get it on their next sync."
        ),
        LifecycleAction::Stop => format!(
            "Stopping takes it out of every pull of the users who match its audience ({audience}) within about a second. Devices that already synced it keep their copy."
        ),
        LifecycleAction::Recall => format!(
            "Recalling takes it out of every pull of the users who match its audience ({audience}) within about a second, for good: a recalled broadcast can't be published again. Devices that already synced it get a command to drop their copy at their next sync."
        ),
        LifecycleAction::Delete => {
            "Deleting removes it from every pull and from this console's list, for good.".to_owned()
        }
    })
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
