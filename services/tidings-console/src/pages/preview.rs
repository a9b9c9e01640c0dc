//! What a client sees: the app's public mailbox as a chosen user, platform and core level
//! would pull it now, by the same rules the pull workers apply.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use maud::{Markup, html};
use serde::Deserialize;
use tidings_domain::AppId;
use tidings_domain::client::{ClientVersion, Platform, Viewer};
use tidings_domain::public::PublicMailbox;
use tidings_domain::time::now_s;

use crate::ConsoleState;
use crate::pages::layout::{app_path, field_error, page, utc_minutes};
use crate::refusal::Refusal;
use crate::session::Session;

#[derive(Debug, Default, Deserialize)]
pub struct PreviewQuery {
    uid: Option<String>,
    platform: Option<String>,
    core_level: Option<String>,
    guest: Option<String>,
}

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
            Some(mailbox.visible_entries(viewer, &BTreeSet::new(), now_s()))
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
                        thead { tr { th { "Broadcast" } th { "Content" } th { "Expires" } } }
                        tbody {
                            @for entry in &entries {
                                tr {
                                    td { (entry.broadcast_id.unwrap_or_default()) }
                                    td { (entry.content) }
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

/// The viewer the form describes, or the field that is wrong and why.
fn viewer_of(query: &PreviewQuery) -> Result<Viewer, (&'static str, String)> {
    let uid = query.uid.as_deref().unwrap_or_default().trim();
    let uid = uid.parse().ok().filter(|uid| *uid > 0).ok_or(("uid", format!("{uid:?} is not a positive uid")))?;
    let platform = match query.platform.as_deref().unwrap_or_default() {
        "" => None,
        name => Some(name.parse::<Platform>().map_err(|error| ("platform", error.to_string()))?),
    };
    let core_level = match query.core_level.as_deref().unwrap_or_default().trim() {
        "" => None,
        level => Some(level.parse().map_err(|_| ("core_level", format!("{level:?} is not a whole number")))?),
    };
    Ok(Viewer { uid, guest: query.guest.is_some(), version: ClientVersion { platform, app_version: None, core_level } })
}
