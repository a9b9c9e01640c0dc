//! Personalized broadcasts: a templated broadcast is rendered for each user at pull, one
//! that runs past its limits falls back to its plain content without failing the pull, and
//! one that does not compile is refused naming its line (docs/design.md#templates).

use reqwest::StatusCode;
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

    let greeting = operator.create_broadcast(APP, template("Hello {{ uid }}", "Hello")).await;
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
        assert_eq!(seen, vec![format!("Hello {uid}"), "too long".to_owned()], "uid {uid}");
    }
}
