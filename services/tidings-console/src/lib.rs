//! The operator console: server-rendered pages at `/console/` on the business listener,
//! where operators drive their app's full-user broadcasts (docs/design.md#the-operator-console).
//!
//! - [`session`]: login sessions in a signed `HttpOnly`, `SameSite=Strict` cookie, and
//!   the CSRF token of every mutating form; [`login`]: the login page, rate limited.
//! - [`form`]: the CSRF-checked form extractor and the broadcast editor's parsing.
//! - `pages`: one module per page; each mutation goes through [`tidings_ingest::Ingest`],
//!   the same commands, checks and events as the HTTP API, with the operator as the actor.
//! - [`refusal`]: why a request is refused, always before anything changed.
//!
//! Pages are HTML rendered on the server (maud), with no script: every page works in any
//! browser, and what the console shows is what the store holds at that moment.

mod chart;
pub mod form;
pub mod login;
mod pages;
pub mod refusal;
pub mod session;
mod settings;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::Redirect;
use axum::routing::{get, post};
use tidings_accounts::Accounts;
use tidings_domain::audit::Actor;
use tidings_domain::{AppId, BroadcastId};
use tidings_ingest::Ingest;
use tidings_ports::Store;
use tidings_reach::ReachStats;

pub use settings::ConsoleSettings;

use crate::login::LoginLimiter;
use crate::refusal::Refusal;
use crate::session::{Session, Sessions};

/// What the console's handlers share.
#[derive(Debug, Clone)]
pub struct ConsoleState {
    ingest: Ingest,
    store: Arc<dyn Store>,
    accounts: Accounts,
    sessions: Arc<Sessions>,
    logins: Arc<LoginLimiter>,
}

impl ConsoleState {
    /// `secret` is the deployment's auth secret; sessions are signed under a key derived
    /// from it, apart from the API's tokens.
    pub fn new(
        ingest: Ingest,
        store: Arc<dyn Store>,
        accounts: Accounts,
        secret: &[u8],
        settings: &ConsoleSettings,
    ) -> Self {
        Self {
            ingest,
            store,
            accounts,
            sessions: Arc::new(Sessions::new(secret, settings.session_ttl, settings.secure_cookie)),
            logins: Arc::new(LoginLimiter::new(settings.login_attempts_per_minute)),
        }
    }
}

impl ConsoleState {
    /// A broadcast's reach, the unions of its stored sketches.
    async fn reach(&self, app_id: AppId, broadcast_id: BroadcastId) -> Result<ReachStats, Refusal> {
        Ok(self.ingest.broadcast_reach(app_id, broadcast_id).await?)
    }
}

/// The console's routes, under `/console`.
pub fn console_router(state: ConsoleState) -> Router {
    use pages::{actions, audit, broadcasts, preview, whitelist};
    Router::new()
        .route("/console", get(|| async { Redirect::permanent("/console/") }))
        .route("/console/", get(home))
        .route("/console/login", get(login::form).post(login::submit))
        .route("/console/logout", post(login::logout))
        .route("/console/apps/{app_id}/broadcasts", get(broadcasts::list).post(broadcasts::create))
        .route("/console/apps/{app_id}/broadcasts/new", get(broadcasts::new))
        .route("/console/apps/{app_id}/broadcasts/{broadcast_id}", get(broadcasts::show).post(broadcasts::modify))
        .route(
            "/console/apps/{app_id}/broadcasts/{broadcast_id}/actions/{action}",
            get(actions::confirm).post(actions::perform),
        )
        .route("/console/apps/{app_id}/whitelist", get(whitelist::show).post(whitelist::replace))
        .route("/console/apps/{app_id}/preview", get(preview::show))
        .route("/console/apps/{app_id}/audit", get(audit::show))
        .with_state(state)
}

async fn home(session: Result<Session, Refusal>) -> Result<Redirect, Refusal> {
    let session = session?;
    Ok(Redirect::to(&pages::layout::app_path(session.app_id, "broadcasts")))
}

impl FromRequestParts<ConsoleState> for Session {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        let cookies = parts.headers.get(header::COOKIE).and_then(|value| value.to_str().ok());
        state.sessions.verify(cookies).map_err(Refusal::NoSession)
    }
}

impl Session {
    /// Who the audit trail names for this session's changes.
    pub fn actor(&self) -> Actor {
        Actor::Operator(self.operator.clone())
    }

    /// Refuses pages of an app this operator does not operate.
    pub fn require_app(&self, app_id: AppId) -> Result<(), Refusal> {
        match self.app_id == app_id {
            true => Ok(()),
            false => Err(Refusal::OtherApp { theirs: self.app_id, asked: app_id }),
        }
    }
}
