//! What a client sees: the app's public mailbox as a chosen user, platform, app version and
//! core level would pull it now, by the same rules the pull workers apply, each templated
//! broadcast rendered for that user as a pull renders it (docs/design.md#templates).

use axum::extract::{Path, Query, State};
use maud::{Markup, html};
use serde::Deserialize;
use tidings_domain::AppId;
use tidings_domain::client::{ClientVersion, Platform, Viewer};
use tidings_domain::message::Mailbox;
use tidings_domain::public::PublicMailbox;
use tidings_domain::sync::MailboxEntry;
use tidings_domain::time::now_s;
use tidings_ports::MailboxState;
use tidings_templates::{Context, Personalized, TemplatedContent};

use crate::ConsoleState;
use crate::pages::layout::{app_path, field_error, page, utc_minutes};
use crate::refusal::Refusal;
use crate::session::Session;

#[derive(Debug, Default, Deserialize)]
pub struct PreviewQuery {
    uid: Option<String>,
    platform: Option<String>,
    app_version: Option<String>,
    core_level: Option<String>,
    guest: Option<String>,
}

/// A visible broadcast's entry and, when it is a template, what the viewer is shown of it.
type Previewed = (MailboxEntry, Option<Personalized>);

pub async fn show(
    State(state): State<ConsoleState>,
    session: Session,
    Path(app_id): Path<AppId>,
    Query(query): Query<PreviewQuery>,
) -> Result<Markup, Refusal> {
    session.require_app(app_id)?;
    let asked = query.uid.is_some();
    let viewer = viewer_of(&query);
    let entries = match (&viewer, asked) {
        (Ok(viewer), true) => {
            let broadcasts = state.store.list_broadcasts(app_id).await?;
            let whitelist = state.store.public_state(app_id).await?.whitelist;
            let mailbox = PublicMailbox::new(app_id, broadcasts, whitelist);
            let user = state.store.mailbox_state(Mailbox::new(app_id, viewer.uid)).await?;
            Some(previewed(&mailbox, viewer, &user))
        }
        _ => None,
    };
    let error = |field: &str| match &viewer {
        Err((name, message)) if asked && *name == field => Some(message.as_str()),
        _ => None,
    };
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    Ok(page(
        "Preview",
        &session,
        html! {
            form.editor method="get" action=(app_path(app_id, "preview")) {
                label for="uid" { "User (uid)" }
                input #uid type="number" name="uid" value=(text(&query.uid)) required;
                (field_error(error("uid")))
                label for="platform" { "Platform" }
                select #platform name="platform" {
                    option value="" selected[query.platform.as_deref().unwrap_or_default().is_empty()] { "(not told)" }
                    @for platform in Platform::ALL {
                        option value=(platform.as_str()) selected[query.platform.as_deref() == Some(platform.as_str())] { (platform.as_str()) }
                    }
                }
                (field_error(error("platform")))
                label for="app_version" { "App version (empty: not told)" }
                input #app_version type="text" name="app_version" value=(text(&query.app_version));
                label for="core_level" { "Core level (empty: not told)" }
                input #core_level type="number" name="core_level" value=(text(&query.core_level));
                (field_error(error("core_level")))
                label { input type="checkbox" name="guest" checked[query.guest.is_some()]; " A guest (not logged in)" }
                p { button type="submit" { "Preview" } }
            }
            @if let Some(entries) = entries {
                h2 { "What this client sees now (" (entries.len()) ")" }
                @if entries.is_empty() { p.muted #preview-empty { "No broadcast." } }
                @else {
                    table #preview {
                        thead { tr { th { "Broadcast" } th { "Content" } th { "Rendering" } th { "Expires" } } }
                        tbody {
                            @for (entry, personalized) in &entries {
                                tr data-broadcast=(entry.broadcast_id.unwrap_or_default()) {
                                    td { (entry.broadcast_id.unwrap_or_default()) }
                                    td.content { (personalized.as_ref().map_or(&entry.content, |shown| &shown.content)) }
                                    (rendering(personalized.as_ref()))
                                    td { (utc_minutes(entry.expire)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// The broadcasts `viewer` sees now (but those they hid), each template rendered for them
/// with their attributes or fallen back, as a pull shows it.
fn previewed(mailbox: &PublicMailbox, viewer: &Viewer, user: &MailboxState) -> Vec<Previewed> {
    let context = Context::for_viewer(viewer, &user.attributes);
    let templated = |entry: &MailboxEntry| {
        let broadcast =
            mailbox.broadcasts().iter().find(|broadcast| Some(broadcast.broadcast_id) == entry.broadcast_id)?;
        TemplatedContent::of(&broadcast.content)
    };
    mailbox
        .visible_entries(viewer, &user.hidden_broadcasts, now_s())
        .into_iter()
        .map(|entry| {
            let personalized = templated(&entry).map(|template| template.personalize(&context));
            (entry, personalized)
        })
        .collect()
}

/// How an entry's content came about: as written, rendered, or the fallback and why.
fn rendering(personalized: Option<&Personalized>) -> Markup {
    match personalized {
        None => html! { td.rendering data-outcome="text" { "text" } },
        Some(Personalized { fell_back: None, .. }) => html! { td.rendering data-outcome="rendered" { "rendered" } },
        Some(Personalized { fell_back: Some(why), .. }) => {
            html! { td.rendering data-outcome="fallback" { "fallback content: " (why) } }
        }
    }
}

/// The viewer the form describes, or the field that is wrong and why. The client fields
/// are read as the pull workers read a client's headers.
fn viewer_of(query: &PreviewQuery) -> Result<Viewer, (&'static str, String)> {
    let uid = query.uid.as_deref().unwrap_or_default().trim();
    let uid = uid.parse().ok().filter(|uid| *uid > 0).ok_or(("uid", format!("{uid:?} is not a positive uid")))?;
    let version =
        ClientVersion::from_parts(query.platform.as_deref(), query.app_version.as_deref(), query.core_level.as_deref())
            .map_err(|error| (error.field(), error.to_string()))?;
    Ok(Viewer { uid, guest: query.guest.is_some(), version })
}
