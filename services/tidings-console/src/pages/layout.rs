//! The frame every console page shares: head, navigation, the logout form, messages.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use tidings_domain::AppId;

use crate::session::Session;

const STYLE: &str = r#"
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:center}
header a{color:#cfe0ff;text-decoration:none}header .who{margin-left:auto;opacity:.85}
main{padding:1rem 1.2rem;max-width:72rem}h1{font-size:1.35rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;background:#fff;width:100%}th,td{border-bottom:1px solid #e2e5ea;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#eceff3;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
form.editor label{display:block;margin:.5rem 0 .15rem;font-weight:600}
input[type=text],input[type=number],input[type=password],input[type=datetime-local],textarea,select{font:inherit;padding:.25rem .4rem;min-width:16rem}
textarea{width:100%;min-height:5rem}.error{color:#b00020;font-weight:600;margin-left:.4rem}
.notice{background:#e7f3e9;border:1px solid #9ccaa5;padding:.5rem .8rem}.problem{background:#fdecee;border:1px solid #e8a1aa;padding:.5rem .8rem}
.state{font-family:monospace}button{font:inherit;padding:.3rem .9rem;cursor:pointer}.actions form{display:inline-block;margin-right:.4rem}
.inline{display:inline}.muted{color:#667}.hint{color:#667;font-size:.92em;margin:.2rem 0 .5rem}fieldset{border:1px solid #d5d9df;margin:.6rem 0}
"#;

/// A page of the console for a logged-in operator.
pub fn page(title: &str, session: &Session, body: Markup) -> Markup {
    frame(title, Some(session), body)
}

/// A page without a session (login, errors before login).
pub fn public_page(title: &str, body: Markup) -> Markup {
    frame(title, None, body)
}

fn frame(title: &str, session: Option<&Session>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Tidings console" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { "Tidings console" }
                    @if let Some(session) = session {
                        @let app = session.app_id;
                        a href=(app_path(app, "broadcasts")) { "Broadcasts" }
                        a href=(app_path(app, "broadcasts/new")) { "New broadcast" }
                        a href=(app_path(app, "whitelist")) { "Whitelist" }
                        a href=(app_path(app, "preview")) { "Preview" }
                        a href=(app_path(app, "audit")) { "Audit trail" }
                        span.who { "app " (app) " · " (session.operator) }
                        form.inline method="post" action="/console/logout" {
                            (csrf_field(session))
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// The hidden field that carries the session's CSRF token in a mutating form.
pub fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// `/console/apps/{app_id}/{rest}`.
pub fn app_path(app_id: AppId, rest: &str) -> String {
    format!("/console/apps/{app_id}/{rest}")
}

/// A field's error, next to it, when there is one.
pub fn field_error(message: Option<&str>) -> Markup {
    html! { @if let Some(message) = message { span.error role="alert" { (message) } } }
}

/// Unix seconds as `2026-12-01 17:20 UTC`.
pub fn utc_minutes(unix_s: i64) -> String {
    match jiff::Timestamp::from_second(unix_s) {
        Ok(at) => at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => unix_s.to_string(),
    }
}
