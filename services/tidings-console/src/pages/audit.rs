//! The audit trail: who made each change to the app's broadcasts and whitelist, and when,
//! as the projector recorded it from the events (the actor travels in each event).

use axum::extract::{Path, State};
use maud::{Markup, html};
use tidings_domain::audit::{AuditEntry, AuditSubject};
use tidings_domain::{AppId, BroadcastId};

use crate::ConsoleState;
use crate::pages::layout::{app_path, page};
use crate::refusal::Refusal;
use crate::session::Session;

/// Entries a page shows at most.
const SHOWN: usize = 200;

pub async fn show(
    State(state): State<ConsoleState>,
    session: Session,
    Path(app_id): Path<AppId>,
) -> Result<Markup, Refusal> {
    session.require_app(app_id)?;
    let entries = state.ingest.audit(app_id, None, SHOWN).await?;
    Ok(page("Audit trail", &session, entries_table(&entries, true)))
}

/// A broadcast's trail (or the whole app's), newest first.
pub async fn trail(state: &ConsoleState, app_id: AppId, broadcast_id: Option<BroadcastId>) -> Result<Markup, Refusal> {
    let subject = broadcast_id.map(AuditSubject::Broadcast);
    let entries = state.ingest.audit(app_id, subject, SHOWN).await?;
    Ok(entries_table(&entries, broadcast_id.is_none()))
}

/// The whitelist's changes, newest first.
pub async fn whitelist_trail(state: &ConsoleState, app_id: AppId) -> Result<Markup, Refusal> {
    let entries = state.ingest.audit(app_id, Some(AuditSubject::Whitelist), SHOWN).await?;
    Ok(entries_table(&entries, false))
}

fn entries_table(entries: &[AuditEntry], with_subject: bool) -> Markup {
    html! {
        @if entries.is_empty() { p.muted { "No changes recorded." } }
        @else {
            table.audit {
                thead { tr { th { "When (UTC)" } @if with_subject { th { "What" } } th { "Change" } th { "By" } th { "Revision" } } }
                tbody {
                    @for entry in entries {
                        tr data-action=(entry.action.as_str()) {
                            td { (when(entry.at_us)) }
                            @if with_subject { td { (subject_link(entry)) } }
                            td.change { (entry.action.as_str()) }
                            td.actor { (entry.actor.as_ref().map(|actor| actor.to_string()).unwrap_or_else(|| "(not recorded)".into())) }
                            td.num { (entry.revision) }
                        }
                    }
                }
            }
        }
    }
}

fn subject_link(entry: &AuditEntry) -> Markup {
    match entry.subject {
        AuditSubject::Broadcast(id) => {
            html! { a href=(app_path(entry.app_id, &format!("broadcasts/{id}"))) { "broadcast " (id) } }
        }
        AuditSubject::Whitelist => html! { a href=(app_path(entry.app_id, "whitelist")) { "whitelist" } },
    }
}

fn when(at_us: i64) -> String {
    jiff::Timestamp::from_microsecond(at_us)
        .map(|at| at.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| at_us.to_string())
}
