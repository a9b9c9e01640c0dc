//! The list of broadcasts, the editor (new and existing), and a broadcast's page: its
//! state, the actions its state allows, its reach, its audit trail.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use tidings_domain::broadcast::{Broadcast, BroadcastState, ContentFormat, LifecycleAction};
use tidings_domain::client::Platform;
use tidings_domain::time::now_s;
use tidings_domain::{AppId, BroadcastId};
use tidings_ingest::IngestError;

use crate::ConsoleState;
use crate::form::{EditorValues, FieldErrors, Mutation, errors_of, names};
use crate::pages::layout::{app_path, csrf_field, field_error, page, utc_minutes};
use crate::pages::{audience_summary, audit};
use crate::refusal::Refusal;
use crate::session::Session;

pub async fn list(
    State(state): State<ConsoleState>,
    session: Session,
    Path(app_id): Path<AppId>,
) -> Result<Markup, Refusal> {
    session.require_app(app_id)?;
    let mut broadcasts = state.ingest.list_broadcasts(app_id).await?;
    broadcasts.reverse();
    let reach = crate::pages::reach::totals(&state, app_id, &broadcasts).await?;
    Ok(page(
        "Broadcasts",
        &session,
        html! {
            p { a href=(app_path(app_id, "broadcasts/new")) { "New broadcast" } }
            @if broadcasts.is_empty() {
                p.muted { "No broadcasts yet." }
            } @else {
                table #broadcasts {
                    thead { tr { th { "Id" } th { "Content" } th { "Format" } th { "State" } th { "Audience" } th { "Expires" } th { "Delivered" } th { "Read" } } }
                    tbody {
                        @for (broadcast, totals) in broadcasts.iter().zip(&reach) {
                            tr data-broadcast=(broadcast.broadcast_id) {
                                td { a href=(broadcast_path(broadcast)) { (broadcast.broadcast_id) } }
                                td { (excerpt(&broadcast.content.content)) }
                                td.format { (broadcast.content.format.as_str()) }
                                td.state { (broadcast.state.as_str()) }
                                td { (audience_summary(&broadcast.content.audience)) }
                                td { (utc_minutes(broadcast.content.expire_at_s)) }
                                td.num.delivered { (totals.delivered) }
                                td.num.read { (totals.read) }
                            }
                        }
                    }
                }
            }
        },
    ))
}

pub async fn new(session: Session, Path(app_id): Path<AppId>) -> Result<Markup, Refusal> {
    session.require_app(app_id)?;
    let form = editor(
        &session,
        &app_path(app_id, "broadcasts"),
        &EditorValues::blank(now_s()),
        &FieldErrors::new(),
        "Create draft",
    );
    Ok(page("New broadcast", &session, form))
}

pub async fn create(
    State(state): State<ConsoleState>,
    Path(app_id): Path<AppId>,
    Mutation { session, fields }: Mutation,
) -> Result<Response, Refusal> {
    session.require_app(app_id)?;
    let values = EditorValues::from_fields(&fields);
    let refused = |errors: FieldErrors| {
        let form = editor(&session, &app_path(app_id, "broadcasts"), &values, &errors, "Create draft");
        (StatusCode::UNPROCESSABLE_ENTITY, page("New broadcast", &session, form)).into_response()
    };
    let draft = match values.parse() {
        Ok(edited) => edited.draft(),
        Err(errors) => return Ok(refused(errors)),
    };
    match state.ingest.create_broadcast(app_id, &draft, &session.actor()).await {
        Ok(applied) => Ok(Redirect::to(&done(&applied.broadcast, "created", applied.projected)).into_response()),
        Err(IngestError::Invalid(error)) => Ok(refused(errors_of(error))),
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
    pending: Option<bool>,
}

pub async fn show(
    State(state): State<ConsoleState>,
    session: Session,
    Path((app_id, broadcast_id)): Path<(AppId, BroadcastId)>,
    Query(query): Query<ShowQuery>,
) -> Result<Markup, Refusal> {
    session.require_app(app_id)?;
    let broadcast = state.ingest.broadcast(app_id, broadcast_id).await?;
    let notice = query.done.map(|what| match query.pending {
        Some(true) => format!("Accepted ({what}): the projection shows it within a moment; reload to see it."),
        _ => format!("Done: {what}."),
    });
    let values = EditorValues::of(&broadcast.content);
    broadcast_page(&state, &session, &broadcast, notice.as_deref(), None, &values, &FieldErrors::new()).await
}

pub async fn modify(
    State(state): State<ConsoleState>,
    Path((app_id, broadcast_id)): Path<(AppId, BroadcastId)>,
    Mutation { session, fields }: Mutation,
) -> Result<Response, Refusal> {
    session.require_app(app_id)?;
    let broadcast = state.ingest.broadcast(app_id, broadcast_id).await?;
    let values = EditorValues::from_fields(&fields);
    let patch = match values.parse() {
        Ok(edited) => edited.patch(),
        Err(errors) => return refused_page(&state, &session, &broadcast, None, &values, &errors).await,
    };
    match state.ingest.modify_broadcast(app_id, broadcast_id, &patch, &session.actor()).await {
        Ok(applied) => Ok(Redirect::to(&done(&applied.broadcast, "modified", applied.projected)).into_response()),
        Err(IngestError::Invalid(error)) => {
            refused_page(&state, &session, &broadcast, None, &values, &errors_of(error)).await
        }
        Err(error @ (IngestError::Conflict(_) | IngestError::Superseded(_))) => {
            refused_page(&state, &session, &broadcast, Some(&error.to_string()), &values, &FieldErrors::new()).await
        }
        Err(other) => Err(other.into()),
    }
}

/// A broadcast's page answering a refused command: the problem on top or at its field,
/// the form as it was sent.
pub async fn refused_page(
    state: &ConsoleState,
    session: &Session,
    broadcast: &Broadcast,
    problem: Option<&str>,
    values: &EditorValues,
    errors: &FieldErrors,
) -> Result<Response, Refusal> {
    let body = broadcast_page(state, session, broadcast, None, problem, values, errors).await?;
    let status = if problem.is_some() { StatusCode::CONFLICT } else { StatusCode::UNPROCESSABLE_ENTITY };
    Ok((status, body).into_response())
}

async fn broadcast_page(
    state: &ConsoleState,
    session: &Session,
    broadcast: &Broadcast,
    notice: Option<&str>,
    problem: Option<&str>,
    values: &EditorValues,
    errors: &FieldErrors,
) -> Result<Markup, Refusal> {
    let (app_id, id) = (broadcast.app_id, broadcast.broadcast_id);
    let allowed: Vec<LifecycleAction> =
        LifecycleAction::ALL.into_iter().filter(|action| action.target(broadcast.state).is_some()).collect();
    let modifiable =
        matches!(broadcast.state, BroadcastState::Draft | BroadcastState::PrePublished | BroadcastState::Published);
    let reach = crate::pages::reach::section(state, broadcast).await?;
    let trail = audit::trail(state, app_id, Some(id)).await?;
    Ok(page(
        &format!("Broadcast {id}"),
        session,
        html! {
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            @if let Some(problem) = problem { p.problem role="alert" { (problem.trim_end_matches('.')) ". Nothing was changed." } }
            table {
                tr { th { "State" } td.state #state { (broadcast.state.as_str()) } }
                tr { th { "Format" } td #format { (broadcast.content.format.as_str()) } }
                tr { th { "Audience" } td { (audience_summary(&broadcast.content.audience)) } }
                tr { th { "Expires" } td { (utc_minutes(broadcast.content.expire_at_s)) } }
                tr { th { "Version · revision" } td { (broadcast.version) " · " (broadcast.revision) } }
                tr { th { "Created · updated" } td { (utc_minutes(broadcast.created_at_us / 1_000_000)) " · " (utc_minutes(broadcast.updated_at_us / 1_000_000)) } }
            }
            h2 { "Actions" }
            p.actions {
                @for action in &allowed {
                    a href=(format!("{}/actions/{}", broadcast_path(broadcast), action.as_str())) data-action=(action.as_str()) { (action_label(*action)) }
                    " "
                }
                @if allowed.is_empty() { span.muted { "None: a " (broadcast.state.as_str()) " broadcast allows no action." } }
            }
            h2 { "Reach" }
            (reach)
            @if modifiable {
                h2 { "Edit" }
                (editor(session, &broadcast_path(broadcast), values, errors, "Save changes"))
            }
            h2 { "Audit trail" }
            (trail)
        },
    ))
}

/// The editor of every field of a broadcast, each error next to its input.
fn editor(session: &Session, action: &str, values: &EditorValues, errors: &FieldErrors, submit: &str) -> Markup {
    let error = |name: &str| field_error(errors.get(name).map(String::as_str));
    let number = |name: &'static str, label: &str, value: &str| {
        html! {
            label for=(name) { (label) }
            input id=(name) type="number" name=(name) value=(value);
            (error(name))
        }
    };
    html! {
        form.editor #editor method="post" action=(action) {
            (csrf_field(session))
            label for=(names::CONTENT) { "Content" }
            textarea id=(names::CONTENT) name=(names::CONTENT) { (values.content) }
            (error(names::CONTENT))
            (format_choice(values, error(names::CONTENT_FORMAT), error(names::FALLBACK_CONTENT)))
            (number(names::CATEGORY, "Category", &values.category))
            (number(names::KIND, "Type", &values.kind))
            (number(names::PRIORITY, "Priority", &values.priority))
            (number(names::BUSINESS_TYPE, "Business type", &values.business_type))
            label for=(names::EXPIRE_AT) { "Expires at (UTC)" }
            input id=(names::EXPIRE_AT) type="datetime-local" name=(names::EXPIRE_AT) value=(values.expire_at);
            (error(names::EXPIRE_AT))
            fieldset {
                legend { "Audience" }
                label { "Platforms (none checked: every platform)" }
                @for platform in Platform::ALL {
                    label.inline {
                        input type="checkbox" name=(names::platform(platform)) checked[values.platforms.contains(&platform)];
                        " " (platform.as_str()) " "
                    }
                }
                (error(names::PLATFORMS))
                (number(names::MIN_CORE_LEVEL, "Lowest core level (empty: any)", &values.min_core_level))
                (number(names::MAX_CORE_LEVEL, "Highest core level (empty: any)", &values.max_core_level))
                label {
                    input type="checkbox" name=(names::LOGGED_IN_ONLY) checked[values.logged_in_only];
                    " Logged-in users only (hidden from guests)"
                }
            }
            p { button type="submit" { (submit) } }
        }
    }
}

/// The content format and a template's fallback, with how templates are written.
fn format_choice(values: &EditorValues, format_error: Markup, fallback_error: Markup) -> Markup {
    let formats = [
        (ContentFormat::Text, "text: shown as written"),
        (ContentFormat::Template { fallback_content: String::new() }, "template: rendered for each user"),
    ];
    html! {
        label for=(names::CONTENT_FORMAT) { "Content format" }
        select id=(names::CONTENT_FORMAT) name=(names::CONTENT_FORMAT) {
            @for (format, label) in formats {
                option value=(format.as_str()) selected[values.content_format == format.as_str()] { (label) }
            }
        }
        (format_error)
        p.hint {
            "A template is Jinja syntax, e.g. " code { "Hello {{ uid }}" } " or "
            code { "{% if platform %}…{% endif %}" } ". It sees " code { "uid" } ", " code { "platform" } ", "
            code { "app_version" } ", " code { "core_level" } " (each none when the client didn't say) and "
            code { "attrs" } ", the user's attributes."
        }
        label for=(names::FALLBACK_CONTENT) { "Fallback content (template only)" }
        textarea id=(names::FALLBACK_CONTENT) name=(names::FALLBACK_CONTENT) { (values.fallback_content) }
        (fallback_error)
        p.hint { "Required for a template: shown instead to a user whose render fails (an error, or a limit such as its instruction budget). Ignored for text." }
    }
}

pub fn broadcast_path(broadcast: &Broadcast) -> String {
    app_path(broadcast.app_id, &format!("broadcasts/{}", broadcast.broadcast_id))
}

/// Where a command that went through sends the operator: the broadcast's page, saying so.
pub fn done(broadcast: &Broadcast, what: &str, projected: bool) -> String {
    let pending = if projected { "" } else { "&pending=true" };
    format!("{}?done={what}{pending}", broadcast_path(broadcast))
}

pub fn action_label(action: LifecycleAction) -> &'static str {
    match action {
        LifecycleAction::PrePublish => "Pre-publish to the whitelist",
        LifecycleAction::Publish => "Publish",
        LifecycleAction::Stop => "Stop",
        LifecycleAction::Recall => "Recall",
        LifecycleAction::Delete => "Delete",
    }
}

fn excerpt(content: &str) -> String {
    const SHOWN: usize = 60;
    match content.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}…", &content[..cut]),
        None => content.to_owned(),
    }
}
