//! Personalized broadcasts: a templated broadcast is rendered for each user at pull, with
//! the attributes a business server set for them; one that runs past its limits falls back
//! to its plain content without failing the pull, and one that does not compile is refused
//! naming its line (docs/design.md#templates).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::APP;
use crate::harness::{Server, contents, eventually, visible_within};

fn template(content: &str, fallback: &str) -> serde_json::Value {
    json!({"content": content, "content_format": "template", "fallback_content": fallback,
        "expire_at": tidings_domain::time::now_s() + 3600})
}

pub(crate) async fn a_templated_broadcast_is_rendered_for_each_user_and_a_runaway_one_falls_back(server: Server) {
    let operator = server.operator(APP);
    let (status, refused) =
        operator.post(&format!("/v1/apps/{APP}/broadcasts"), template("Hello\n{{ uid ", "Hello")).await;
    assert_eq!((status, refused["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("content")), "{refused}");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("line 2"), "the error names the template's line: {message}");

    let app = server.app(APP);
    let attributes = |uid: i64| format!("/v1/apps/{APP}/users/{uid}/attributes");
    for (uid, nickname) in [(81, "Ann"), (82, "小明")] {
        let (status, _) = app.call(Method::PUT, &attributes(uid), Some(json!({"nickname": nickname}))).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    for (bad, field) in [(json!({"2fa": "on"}), "2fa"), (json!({"nickname": 5}), "nickname")] {
        let (status, refused) = app.call(Method::PUT, &attributes(83), Some(bad)).await;
        assert_eq!((status, refused["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{refused}");
    }

    let greeting = operator.create_broadcast(APP, template("Hello {{ attrs.nickname }} ({{ uid }})", "Hello")).await;
    let runaway =
        operator.create_broadcast(APP, template("{% for i in range(100000) %}{{ i }}{% endfor %}", "too long")).await;
    for id in [greeting, runaway] {
        let (status, published) = operator.broadcast_action(APP, id, "publish").await;
        assert_eq!(status, StatusCode::OK, "{published}");
    }
    for uid in [81, 82] {
        let user = server.user(APP, uid);
        let mut seen = eventually(&format!("uid {uid} gets both broadcasts"), visible_within(), || async {
            let (messages, _) = user.sync_all("").await;
            (messages.len() >= 2).then_some(contents(&messages))
        })
        .await;
        seen.sort();
        let nickname = if uid == 81 { "Ann" } else { "小明" };
        assert_eq!(seen, vec![format!("Hello {nickname} ({uid})"), "too long".to_owned()], "uid {uid}");
    }
    let (status, kept) = app.get(&attributes(82)).await;
    assert_eq!((status, kept), (StatusCode::OK, json!({"nickname": "小明"})));
    // Without its attributes, 81's render reads an undefined `attrs.nickname`: the fallback.
    let (status, _) = app.call(Method::DELETE, &attributes(81), None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let user = server.user(APP, 81);
    eventually("81's attributes are gone and its render falls back", visible_within(), || async {
        let (messages, _) = user.sync_all("").await;
        contents(&messages).contains(&"Hello".to_owned()).then_some(())
    })
    .await;
}
