//! Why a console request is refused, and the page or redirect that says so. Every refusal
//! happens before anything is written: the page says "nothing was changed" and means it.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use tidings_domain::AppId;
use tidings_ingest::IngestError;
use tracing::warn;

use crate::pages::layout::public_page;
use crate::session::NoSession;

#[derive(Debug)]
pub enum Refusal {
    /// No valid session: back to the login page, which says why.
    NoSession(NoSession),
    /// A mutating form without this session's CSRF token.
    Csrf,
    /// An operator of one app asking for another's pages.
    OtherApp {
        theirs: AppId,
        asked: AppId,
    },
    NotFound(String),
    /// The store or the log failed; the operator may retry.
    Unavailable(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            Refusal::NoSession(why) => {
                let location = format!("/console/login?session={}", why.as_str());
                return (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
            }
            Refusal::Csrf => (
                StatusCode::FORBIDDEN,
                "Refused",
                "The form carried no valid CSRF token for your session. Nothing was changed: reload the page and try again.".to_owned(),
            ),
            Refusal::OtherApp { theirs, asked } => (
                StatusCode::FORBIDDEN,
                "Refused",
                format!("You are an operator of app {theirs}, not of app {asked}. Nothing was changed."),
            ),
            Refusal::NotFound(what) => (StatusCode::NOT_FOUND, "Not found", format!("{what} does not exist.")),
            Refusal::Unavailable(reason) => {
                warn!(%reason, "console request failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Unavailable",
                    format!("The request could not be completed ({reason}). Nothing was confirmed: try again."),
                )
            }
        };
        let body = public_page(
            title,
            html! { p.problem role="alert" { (message) } p { a href="/console/" { "Back to the console" } } },
        );
        (status, body).into_response()
    }
}

/// Errors of ingest that are not the operator's input (those are shown next to the field).
impl From<IngestError> for Refusal {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::NotFound(what) => Refusal::NotFound(what),
            other => Refusal::Unavailable(other.to_string()),
        }
    }
}

impl From<tidings_ports::StoreError> for Refusal {
    fn from(error: tidings_ports::StoreError) -> Self {
        Refusal::Unavailable(error.to_string())
    }
}
