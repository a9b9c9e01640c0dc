//! The operator console over plain HTTP, on the business listener of either deployment (the
//! browser test, `tests/console`, drives it in Chromium): `tidings operator add`, a login,
//! a CSRF-checked form that appends the same event the API would, with the operator as
//! its actor.

use std::io::Write;
use std::process::Stdio;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::APP;
use crate::harness::Server;

const PASSWORD: &str = "correct horse battery";

/// Adds an operator with the CLI, as the README says: the embedded engines lock their
/// directory, so the servers are stopped around it (a CQL store needs no stop).
async fn add_operator(server: &mut Server, name: &str) {
    assert!(server.terminate().await, "the servers stop cleanly");
    let mut add = server
        .command(&["operator", "add", "--app", &APP.to_string(), "--name", name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tidings operator add");
    writeln!(add.stdin.take().expect("stdin"), "{PASSWORD}").expect("write the password");
    let output = add.wait_with_output().expect("tidings operator add");
    assert!(output.status.success(), "operator add failed: {}", String::from_utf8_lossy(&output.stderr));
    server.start_again().await;
}

fn csrf_of(page: &str) -> String {
    let start = page.find("name=\"csrf\" value=\"").expect("a CSRF field on the page") + 19;
    page[start..start + page[start..].find('"').expect("closing quote")].to_owned()
}

pub async fn an_operator_logs_in_to_the_console_and_drafts_a_broadcast(mut server: Server) {
    add_operator(&mut server, "alice").await;
    let base = server.business_api().to_owned();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let home = http.get(format!("{base}/console/")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    assert_eq!(home.headers()[LOCATION], "/console/login?session=missing");

    let login = |password: &'static str| {
        let form = [("app", APP.to_string()), ("name", "alice".into()), ("password", password.into())];
        http.post(format!("{base}/console/login")).form(&form).send()
    };
    let refused = login("wrong password").await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.text().await.unwrap().contains("Wrong app, name or password."));

    let accepted = login(PASSWORD).await.unwrap();
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    let set_cookie = accepted.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    let editor =
        http.get(format!("{base}/console/apps/{APP}/broadcasts/new")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(editor.status(), StatusCode::OK);
    let csrf = csrf_of(&editor.text().await.unwrap());
    let draft = |csrf: Option<&str>| {
        let mut form = vec![
            ("content", "from the console".to_owned()),
            ("category", "1".into()),
            ("type", "0".into()),
            ("priority", "0".into()),
            ("business_type", "0".into()),
            ("expire_at", "2099-01-01T00:00".into()),
            ("audience.platforms.ios", "on".into()),
        ];
        form.extend(csrf.map(|csrf| ("csrf", csrf.to_owned())));
        http.post(format!("{base}/console/apps/{APP}/broadcasts")).header(COOKIE, &cookie).form(&form).send()
    };
    let forged = draft(None).await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let operator = server.operator(APP);
    let (_, listed) = operator.get(&format!("/v1/apps/{APP}/broadcasts")).await;
    assert_eq!(listed["broadcasts"].as_array().map(Vec::len), Some(0), "a refused form writes nothing: {listed}");

    let created = draft(Some(&csrf)).await.unwrap();
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let location = created.headers()[LOCATION].to_str().unwrap().to_owned();
    let id: i64 = location.rsplit('/').next().unwrap().split('?').next().unwrap().parse().unwrap();
    let (status, broadcast) = operator.get(&format!("/v1/apps/{APP}/broadcasts/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{broadcast}");
    assert_eq!(broadcast["state"], "draft", "{broadcast}");
    assert_eq!(broadcast["content"]["content"], "from the console", "{broadcast}");
    assert_eq!(broadcast["content"]["category"], 1, "{broadcast}");
    assert_eq!(broadcast["content"]["audience"]["platforms"], serde_json::json!(["ios"]), "{broadcast}");

    let (status, audit) = operator.get(&format!("/v1/apps/{APP}/audit?broadcast_id={id}")).await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let entry = &audit["entries"][0];
    assert_eq!(entry["action"], "created", "{audit}");
    assert_eq!(entry["actor"], serde_json::json!({"kind": "operator", "name": "alice"}), "{audit}");
}
