//! Logging in and out. Attempts are rate limited per operator (app and name), so a
//! password can't be guessed at the speed of the server; a wrong name and a wrong password
//! get the same answer.

use std::num::NonZeroU32;

use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota};
use maud::{Markup, html};
use serde::Deserialize;
use tidings_domain::AppId;
use tracing::info;

use crate::ConsoleState;
use crate::form::{Fields, Mutation};
use crate::pages::layout::{app_path, field_error, public_page};
use crate::session::NoSession;

/// Past this many tracked operators, forget those whose limit has recovered.
const TRACKED_OPERATORS: usize = 10_000;

#[derive(Debug)]
pub struct LoginLimiter {
    attempts: DefaultKeyedRateLimiter<(AppId, String)>,
}

impl LoginLimiter {
    pub fn new(per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        Self { attempts: DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute)) }
    }

    /// Whether one more attempt for this operator is allowed now.
    fn allow(&self, app_id: AppId, name: &str) -> bool {
        if self.attempts.len() > TRACKED_OPERATORS {
            self.attempts.retain_recent();
        }
        self.attempts.check_key(&(app_id, name.to_owned())).is_ok()
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    session: Option<String>,
}

pub async fn form(Query(query): Query<LoginQuery>) -> Markup {
    let notice = query.session.as_deref().and_then(NoSession::parse).map(|why| why.explanation());
    login_page(&LoginValues::default(), notice, None)
}

#[derive(Debug, Default)]
struct LoginValues {
    app: String,
    name: String,
}

pub async fn submit(State(state): State<ConsoleState>, Form(pairs): Form<Vec<(String, String)>>) -> Response {
    let fields = Fields::from(pairs);
    let values = LoginValues { app: fields.text("app"), name: fields.text("name") };
    let password = fields.get("password").unwrap_or_default().to_owned();
    let Ok(app_id) = values.app.parse::<AppId>() else {
        let error = LoginError { field: "app", message: format!("{:?} is not an app id", values.app) };
        return (StatusCode::UNPROCESSABLE_ENTITY, login_page(&values, None, Some(error))).into_response();
    };
    if !state.logins.allow(app_id, &values.name) {
        let error = LoginError {
            field: "password",
            message: "Too many login attempts for this operator: wait a minute and try again.".into(),
        };
        return (StatusCode::TOO_MANY_REQUESTS, login_page(&values, None, Some(error))).into_response();
    }
    match state.accounts.authenticate(app_id, &values.name, &password).await {
        Ok(operator) => {
            info!(app_id, operator = %operator.name, "operator logged in");
            let (_, cookie) = state.sessions.open(app_id, &operator.name);
            (StatusCode::SEE_OTHER, [(header::SET_COOKIE, cookie), (header::LOCATION, app_path(app_id, "broadcasts"))])
                .into_response()
        }
        Err(tidings_accounts::LoginError::InvalidCredentials) => {
            let error = LoginError { field: "password", message: "Wrong app, name or password.".into() };
            (StatusCode::UNAUTHORIZED, login_page(&values, None, Some(error))).into_response()
        }
        Err(error) => crate::refusal::Refusal::Unavailable(error.to_string()).into_response(),
    }
}

pub async fn logout(State(state): State<ConsoleState>, _: Mutation) -> Response {
    (StatusCode::SEE_OTHER, [(header::SET_COOKIE, state.sessions.close()), (header::LOCATION, "/console/login".into())])
        .into_response()
}

struct LoginError {
    field: &'static str,
    message: String,
}

fn login_page(values: &LoginValues, notice: Option<&str>, error: Option<LoginError>) -> Markup {
    let error_for = |field: &str| error.as_ref().filter(|e| e.field == field).map(|e| e.message.as_str());
    public_page(
        "Log in",
        html! {
            @if let Some(notice) = notice { p.notice role="status" { (notice) } }
            form.editor method="post" action="/console/login" {
                label for="app" { "App id" }
                input #app type="number" name="app" value=(values.app) required;
                (field_error(error_for("app")))
                label for="name" { "Operator name" }
                input #name type="text" name="name" value=(values.name) autocomplete="username" required;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                (field_error(error_for("password")))
                p { button type="submit" { "Log in" } }
            }
            p.muted { "Operators are created with " code { "tidings operator add --app <app> --name <name>" } "." }
        },
    )
}
