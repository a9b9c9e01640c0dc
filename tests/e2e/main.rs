//! End-to-end scenarios over real HTTP against running `tidings` processes: each scenario
//! runs once against `tidings all-in-one` on embedded engines and once against separate
//! ingest, projector (two, in one group) and pull processes on real Kafka and Cassandra.

mod harness;
mod interop;
mod openapi;

/// Runs each scenario as a test per deployment.
macro_rules! scenarios {
    ($($scenario:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::Server::start(super::harness::Mode::Embedded).await).await;
                }
            )*
        }
        mod distributed {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::Server::start(super::harness::Mode::Distributed).await).await;
                }
            )*
        }
    };
}

// After the macro, which its scenarios use too.
mod audit;
mod console;
mod gateway;
mod reach;
mod recall;
mod replay;
mod templates;

use audit::the_audit_trail_names_each_step_and_its_actor_once;
use console::an_operator_logs_in_to_the_console_and_drafts_a_broadcast;
use reach::reach_counts_each_user_once_by_platform_and_read_marks_count_reads;
use recall::{
    a_recalled_batch_send_leaves_every_mailbox_and_tells_who_synced_it,
    a_recalled_broadcast_sends_one_delete_command_to_those_who_synced_it,
};
use replay::a_projection_rebuilt_from_the_log_verifies_equal_and_a_corrupted_row_is_named;
use templates::a_templated_broadcast_is_rendered_for_each_user_and_a_runaway_one_falls_back;

scenarios!(
    unicast_reaches_only_its_recipient_with_every_field,
    batch_reaches_thirty_users_and_repeated_syncs_deliver_once,
    private_chat_lands_in_both_mailboxes_with_the_partner_as_contacter,
    msgkey_sent_twice_delivers_once,
    broadcast_lifecycle_from_draft_to_stop,
    a_user_who_appears_after_publication_still_gets_the_broadcast,
    audience_filters_by_platform_core_level_and_login,
    expired_broadcasts_and_messages_disappear,
    deleting_a_broadcast_hides_it_for_that_user_only_and_private_deletes_stick,
    read_marks_show_in_later_pulls,
    a_killed_process_loses_nothing_it_acknowledged,
    bad_input_gets_a_clear_error_and_writes_nothing,
    pulls_do_not_read_the_public_mailbox_from_the_store,
    openapi_metrics_and_health_are_served,
    a_projection_rebuilt_from_the_log_verifies_equal_and_a_corrupted_row_is_named,
    the_audit_trail_names_each_step_and_its_actor_once,
    an_operator_logs_in_to_the_console_and_drafts_a_broadcast,
    reach_counts_each_user_once_by_platform_and_read_marks_count_reads,
    a_recalled_broadcast_sends_one_delete_command_to_those_who_synced_it,
    a_recalled_batch_send_leaves_every_mailbox_and_tells_who_synced_it,
    a_templated_broadcast_is_rendered_for_each_user_and_a_runaway_one_falls_back,
);

use std::time::{Duration, Instant};

use harness::{REFRESH, Server, contents, eventually, visible_within};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tidings_http::CallerRole;

const APP: i64 = 7;

/// Syncs `user` from the beginning until `expected` messages arrived.
async fn wait_for_messages(server: &Server, uid: i64, expected: usize) -> Vec<Value> {
    let user = server.user(APP, uid);
    eventually(&format!("uid {uid} has {expected} messages"), visible_within(), || async {
        let (messages, _) = user.sync_all("").await;
        (messages.len() >= expected).then_some(messages)
    })
    .await
}

fn unicast(to: i64, content: &str) -> Value {
    json!({"mode": "unicast", "from_uid": 1, "to_uids": [to], "content": content})
}

async fn unicast_reaches_only_its_recipient_with_every_field(server: Server) {
    server
        .app(APP)
        .send(
            APP,
            json!({"mode": "unicast", "from_uid": 5, "to_uids": [10], "content": "hello", "category": 2,
            "type": 3, "priority": 4, "business_type": 6, "msgkey": "k1", "contacter": 9}),
        )
        .await;
    let messages = wait_for_messages(&server, 10, 1).await;
    let message = &messages[0];
    assert_eq!(message["source"], "private");
    assert_eq!(
        (message["from_uid"].as_i64(), message["to_uid"].as_i64(), message["contacter"].as_i64()),
        (Some(5), Some(10), Some(9))
    );
    assert_eq!(
        (message["category"].as_i64(), message["type"].as_i64(), message["priority"].as_i64()),
        (Some(2), Some(3), Some(4))
    );
    assert_eq!((message["business_type"].as_i64(), message["app_id"].as_i64()), (Some(6), Some(APP)));
    assert_eq!((message["msgkey"].as_str(), message["content"].as_str()), (Some("k1"), Some("hello")));
    assert_eq!(message["is_read"], false);
    assert!(message["msg_id"].as_i64().unwrap() > 1_600_000_000_000_000, "msg_id is unix microseconds");
    assert!(message["create_time"].as_i64().is_some() && message["expire"].as_i64() == Some(0));
    let (others, _) = server.user(APP, 11).sync_all("").await;
    assert!(others.is_empty(), "another user got {others:?}");
}

async fn batch_reaches_thirty_users_and_repeated_syncs_deliver_once(server: Server) {
    let uids: Vec<i64> = (100..130).collect();
    server.app(APP).send(APP, json!({"mode": "batch", "from_uid": 1, "to_uids": uids, "content": "to thirty"})).await;
    for uid in &uids {
        let user = server.user(APP, *uid);
        let messages = wait_for_messages(&server, *uid, 1).await;
        assert_eq!(contents(&messages), vec!["to thirty"]);
        let (_, cursor) = user.sync_all("").await;
        let (again, _) = user.sync_all(&cursor).await;
        assert!(again.is_empty(), "a second sync repeated {again:?}");
    }
}

async fn private_chat_lands_in_both_mailboxes_with_the_partner_as_contacter(server: Server) {
    server.app(APP).send(APP, json!({"mode": "private", "from_uid": 21, "to_uids": [22], "content": "hi 22"})).await;
    let receiver = wait_for_messages(&server, 22, 1).await;
    let sender = wait_for_messages(&server, 21, 1).await;
    assert_eq!((receiver[0]["contacter"].as_i64(), sender[0]["contacter"].as_i64()), (Some(21), Some(22)));
    assert_eq!(contents(&receiver), contents(&sender));
}

async fn msgkey_sent_twice_delivers_once(server: Server) {
    let body = json!({"mode": "unicast", "from_uid": 1, "to_uids": [30], "content": "once", "msgkey": "order-42"});
    server.app(APP).send(APP, body.clone()).await;
    server.app(APP).send(APP, body).await;
    server.app(APP).send(APP, unicast(30, "marker")).await;
    let messages = wait_for_messages(&server, 30, 2).await;
    assert_eq!(contents(&messages), vec!["once", "marker"]);
}

async fn broadcast_lifecycle_from_draft_to_stop(server: Server) {
    let operator = server.operator(APP);
    let (tester, someone) = (server.user(APP, 41), server.user(APP, 42));
    server.app(APP).send(APP, unicast(42, "before")).await;
    wait_for_messages(&server, 42, 1).await;

    let id = operator.create_broadcast(APP, json!({"content": "news"})).await;
    tokio::time::sleep(REFRESH * 2).await;
    let (seen, _) = someone.sync_all("").await;
    assert_eq!(contents(&seen), vec!["before"], "a draft is visible to nobody");

    let (status, _) =
        operator.call(Method::PUT, &format!("/v1/apps/{APP}/whitelist"), Some(json!({"uids": [41]}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, whitelist) = operator.get(&format!("/v1/apps/{APP}/whitelist")).await;
    assert_eq!((status, whitelist), (StatusCode::OK, json!({"uids": [41]})));
    let (status, pre) = operator.broadcast_action(APP, id, "prepublish").await;
    assert_eq!((status, pre["state"].as_str()), (StatusCode::OK, Some("pre_published")));
    let (tester_seen, tester_cursor) =
        eventually("the tester sees the pre-published broadcast", visible_within(), || async {
            let (messages, cursor) = tester.sync_all("").await;
            (!messages.is_empty()).then_some((messages, cursor))
        })
        .await;
    assert_eq!(contents(&tester_seen), vec!["news"]);
    assert_eq!(tester_seen[0]["source"], "public");
    tokio::time::sleep(REFRESH * 2).await;
    assert_eq!(contents(&someone.sync_all("").await.0), vec!["before"], "pre-published is for the whitelist only");

    let (_, someone_cursor) = someone.sync_all("").await;
    let (status, published) = operator.broadcast_action(APP, id, "publish").await;
    assert_eq!((status, published["state"].as_str()), (StatusCode::OK, Some("published")));
    server.app(APP).send(APP, unicast(42, "after")).await;
    let fresh = eventually("everyone sees the published broadcast", visible_within(), || async {
        let (messages, _) = someone.sync_all(&someone_cursor).await;
        (messages.len() >= 2).then_some(messages)
    })
    .await;
    assert_eq!(contents(&fresh), vec!["news", "after"], "merged in msg_id order");
    let ids: Vec<i64> = fresh.iter().map(|m| m["msg_id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));

    let (again, _) = tester.sync_all(&tester_cursor).await;
    assert!(again.is_empty(), "publication re-delivered to the tester: {again:?}");
    let (_, someone_cursor) = someone.sync_all("").await;
    assert!(someone.sync_all(&someone_cursor).await.0.is_empty(), "deliver once");
    let (status, history) = someone.get(&format!("/v1/mailbox/history?before={}&limit=10", i64::MAX)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(contents(history["messages"].as_array().unwrap()), vec!["before", "news", "after"]);

    let (status, stopped) = operator.broadcast_action(APP, id, "stop").await;
    assert_eq!((status, stopped["state"].as_str()), (StatusCode::OK, Some("stopped")));
    let stopped_at = Instant::now();
    eventually("the stopped broadcast is gone from history", visible_within(), || async {
        let (_, page) = someone.get(&format!("/v1/mailbox/history?before={}", i64::MAX)).await;
        (contents(page["messages"].as_array()?) == vec!["before", "after"]).then_some(())
    })
    .await;
    let gone_after = stopped_at.elapsed();
    assert!(gone_after <= REFRESH + Duration::from_secs(1), "stopped broadcast lingered {gone_after:?}");

    let (status, got) = operator.get(&format!("/v1/apps/{APP}/broadcasts/{id}")).await;
    assert_eq!((status, got["state"].as_str(), got["version"].as_i64()), (StatusCode::OK, Some("stopped"), Some(1)));
}

async fn a_user_who_appears_after_publication_still_gets_the_broadcast(server: Server) {
    let operator = server.operator(APP);
    let id = operator.create_broadcast(APP, json!({"content": "welcome all"})).await;
    operator.broadcast_action(APP, id, "publish").await;
    let messages = wait_for_messages(&server, 987_654, 1).await;
    assert_eq!(contents(&messages), vec!["welcome all"]);
}

/// Whether `caller` sees the restricted broadcast, once the unrestricted control one arrived.
async fn sees_restricted(caller: harness::Caller<'_>) -> bool {
    eventually("the control broadcast arrives", visible_within(), || async {
        let (messages, _) = caller.sync_all("").await;
        let texts = contents(&messages);
        texts.contains(&"everyone".to_owned()).then_some(texts.contains(&"ios 200-300".to_owned()))
    })
    .await
}

async fn audience_filters_by_platform_core_level_and_login(server: Server) {
    let operator = server.operator(APP);
    let audience = json!({"audience": {"platforms": ["ios"], "min_core_level": 200, "max_core_level": 300, "logged_in_only": true},
        "content": "ios 200-300"});
    let id = operator.create_broadcast(APP, audience).await;
    operator.broadcast_action(APP, id, "publish").await;
    let control = operator.create_broadcast(APP, json!({"content": "everyone"})).await;
    operator.broadcast_action(APP, control, "publish").await;

    assert!(sees_restricted(server.user(APP, 1).header("platform", "ios").header("core_level", "250")).await);
    assert!(
        sees_restricted(
            server.user(APP, 2).header("user-agent", "IM/1 platform/ios app_version/8.0.25 core_level/220")
        )
        .await
    );
    assert!(!sees_restricted(server.user(APP, 3).header("platform", "android").header("core_level", "250")).await);
    assert!(!sees_restricted(server.user(APP, 4).header("platform", "ios").header("core_level", "199")).await);
    assert!(!sees_restricted(server.user(APP, 5).header("platform", "ios").header("core_level", "301")).await);
    assert!(!sees_restricted(server.user(APP, 6).header("platform", "ios")).await);
    let guest = server.caller_with_token(CallerRole::User, server.token(CallerRole::User, APP, "7", 3600, true));
    assert!(!sees_restricted(guest.header("platform", "ios").header("core_level", "250")).await);
    let (status, error) = server.user(APP, 8).header("platform", "symbian").get("/v1/mailbox/sync").await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("platform")));
}

async fn expired_broadcasts_and_messages_disappear(server: Server) {
    // The lasting message goes first and is awaited: on a fresh broker the first delivery waits
    // for consumer groups to form, which must not eat into the short lifetimes below.
    server.app(APP).send(APP, unicast(50, "lasting")).await;
    wait_for_messages(&server, 50, 1).await;
    const LIFETIME_S: i64 = 5;
    let operator = server.operator(APP);
    let expire_at = tidings_domain::time::now_s() + LIFETIME_S;
    let id = operator.create_broadcast(APP, json!({"content": "short-lived", "expire_at": expire_at})).await;
    operator.broadcast_action(APP, id, "publish").await;
    let brief = json!({"mode": "unicast", "from_uid": 1, "to_uids": [50], "content": "brief", "expire_s": LIFETIME_S});
    server.app(APP).send(APP, brief).await;
    let user = server.user(APP, 50);
    let messages = wait_for_messages(&server, 50, 3).await;
    assert_eq!(messages.len(), 3, "{messages:?}");
    eventually("expired entries disappear", Duration::from_secs(10), || async {
        let (messages, _) = user.sync_all("").await;
        (contents(&messages) == vec!["lasting"]).then_some(())
    })
    .await;
}

async fn deleting_a_broadcast_hides_it_for_that_user_only_and_private_deletes_stick(server: Server) {
    let operator = server.operator(APP);
    let id = operator.create_broadcast(APP, json!({"content": "dismissable"})).await;
    operator.broadcast_action(APP, id, "publish").await;
    server.app(APP).send(APP, unicast(60, "mine")).await;
    let (me, other) = (server.user(APP, 60), server.user(APP, 61));
    let messages = wait_for_messages(&server, 60, 2).await;
    for message in &messages {
        let msg_id = message["msg_id"].as_i64().unwrap();
        let (status, _) = me.call(Method::DELETE, &format!("/v1/mailbox/messages/{msg_id}"), None).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    eventually("both are gone for the user", visible_within(), || async {
        me.sync_all("").await.0.is_empty().then_some(())
    })
    .await;
    assert_eq!(contents(&wait_for_messages(&server, 61, 1).await), vec!["dismissable"]);
    assert_eq!(contents(&other.sync_all("").await.0), vec!["dismissable"]);
}

async fn read_marks_show_in_later_pulls(server: Server) {
    for text in ["one", "two", "three"] {
        server.app(APP).send(APP, unicast(70, text)).await;
    }
    let messages = wait_for_messages(&server, 70, 3).await;
    let second = messages[1]["msg_id"].as_i64().unwrap();
    let user = server.user(APP, 70);
    let (status, _) = user.post("/v1/mailbox/read", json!({"up_to": second})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let read = eventually("read marks", visible_within(), || async {
        let (messages, _) = user.sync_all("").await;
        let flags: Vec<bool> = messages.iter().map(|m| m["is_read"].as_bool().unwrap()).collect();
        (flags == vec![true, true, false]).then_some(flags)
    })
    .await;
    assert_eq!(read.len(), 3);
}

async fn a_killed_process_loses_nothing_it_acknowledged(mut server: Server) {
    let app = server.app(APP);
    let sent: Vec<String> = (0..40).map(|n| format!("survivor {n}")).collect();
    for text in &sent {
        app.send(APP, unicast(80, text)).await;
    }
    let operator = server.operator(APP);
    let id = operator.create_broadcast(APP, json!({"content": "kept"})).await;
    operator.broadcast_action(APP, id, "publish").await;
    drop((app, operator));
    server.kill9_and_restart().await;
    assert!(server.data_dir().exists());
    // Distributed, the killed projectors still hold their partitions until the consumer
    // group's session timeout (10 s) passes: give the restarted ones that long on top.
    let user = server.user(APP, 80);
    let messages =
        eventually("everything acknowledged is back", visible_within() + Duration::from_secs(15), || async {
            let (messages, _) = user.sync_all("").await;
            (messages.len() > sent.len()).then_some(messages)
        })
        .await;
    let mut expected = sent.clone();
    expected.insert(0, "kept".into());
    let mut got = contents(&messages);
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "lost or duplicated across kill -9");
}

async fn bad_input_gets_a_clear_error_and_writes_nothing(server: Server) {
    let app = server.app(APP);
    let path = format!("/v1/apps/{APP}/messages");
    let cases: Vec<(&str, String, &str)> = vec![
        ("malformed body", "{\"mode\": ".into(), "body"),
        ("missing field", json!({"mode": "unicast", "from_uid": 1, "to_uids": [90]}).to_string(), "content"),
        ("unknown mode", json!({"mode": "shout", "from_uid": 1, "to_uids": [90], "content": "x"}).to_string(), "mode"),
        (
            "batch over max",
            json!({"mode": "batch", "from_uid": 1, "to_uids": (1..=51).collect::<Vec<i64>>(), "content": "x"})
                .to_string(),
            "to_uids",
        ),
        (
            "wrong type",
            json!({"mode": "unicast", "from_uid": "one", "to_uids": [90], "content": "x"}).to_string(),
            "from_uid",
        ),
        (
            "unknown field",
            json!({"mode": "unicast", "from_uid": 1, "to_uids": [90], "content": "x", "colour": 1}).to_string(),
            "colour",
        ),
    ];
    for (case, body, field) in cases {
        let (status, error) = app.raw(Method::POST, &path, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {error}");
        assert_eq!(error["error"]["field"].as_str(), Some(field), "{case}: {error}");
        assert!(!error["error"]["message"].as_str().unwrap_or_default().is_empty(), "{case}");
    }
    let oversized = json!({"mode": "unicast", "from_uid": 1, "to_uids": [90], "content": "x".repeat(3 << 20)});
    let (status, error) = app.raw(Method::POST, &path, &oversized.to_string()).await;
    assert_eq!(
        (status, error["error"]["code"].as_str(), error["error"]["field"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large"), Some("body")),
        "{error}"
    );

    let operator = server.operator(APP);
    let id = operator.create_broadcast(APP, json!({"content": "draft"})).await;
    let (status, error) = operator.broadcast_action(APP, id, "stop").await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{error}");
    let (status, _) = operator.broadcast_action(APP, 12345, "publish").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, error) =
        operator.post(&format!("/v1/apps/{APP}/broadcasts"), json!({"content": "x", "expire_at": 1})).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("expire_at")));

    let forged = tidings_http::Authenticator::new(b"not the secret").mint(&tidings_http::Claims {
        role: CallerRole::App,
        app_id: APP,
        sub: "x".into(),
        exp: i64::MAX / 2,
        guest: false,
    });
    let expired = server.token(CallerRole::App, APP, "biz", -3600, false);
    for (case, token) in [("forged", forged), ("expired", expired)] {
        let (status, error) = server.caller_with_token(CallerRole::App, token).post(&path, unicast(90, "sneaky")).await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized")),
            "{case}"
        );
    }
    let (status, _) = server.app(APP + 1).post(&path, unicast(90, "other app")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an app token works only for its own app");
    let (status, _) =
        server.user(APP, 90).at_api_of(CallerRole::App).post(&path, unicast(91, "a user is no business server")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = server.app(APP).at_api_of(CallerRole::User).get("/v1/mailbox/sync").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an app token opens no mailbox");
    let (status, _) = server.user(APP, 90).at_api_of(CallerRole::App).get(&format!("/v1/apps/{APP}/broadcasts")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a user can't read the console's view");
    let (status, error) = server.user(APP, 90).get("/v1/mailbox/sync?cursor=garbage").await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("cursor")));
    let (status, error) = server.user(APP, 90).get("/v1/mailbox/sync?limit=100000").await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("limit")));

    // Nothing of the above was written: a marker sent last is the only message.
    app.send(APP, unicast(90, "marker")).await;
    let messages = wait_for_messages(&server, 90, 1).await;
    tokio::time::sleep(REFRESH).await;
    assert_eq!(contents(&server.user(APP, 90).sync_all("").await.0), vec!["marker"], "{messages:?}");
    let (_, list) = operator.get(&format!("/v1/apps/{APP}/broadcasts")).await;
    assert_eq!(list["broadcasts"].as_array().map(Vec::len), Some(1), "only the one draft exists: {list}");
}

async fn pulls_do_not_read_the_public_mailbox_from_the_store(server: Server) {
    let operator = server.operator(APP);
    let id = operator.create_broadcast(APP, json!({"content": "cached"})).await;
    operator.broadcast_action(APP, id, "publish").await;
    wait_for_messages(&server, 1, 1).await;
    // Per process: each one that keeps a public-mailbox cache (the pull role and the
    // gateway) reads the store about once per refresh interval, whatever the pulls.
    const READS: &str = "tidings_puller_public_store_reads_total";
    let reads_before = server.metric_per_process(READS).await;
    let started = Instant::now();
    let mut pulls = 0;
    while started.elapsed() < Duration::from_secs(2) {
        let user = server.user(APP, 1000 + pulls);
        assert_eq!(user.sync_all("").await.0.len(), 1);
        pulls += 1;
    }
    let elapsed = started.elapsed();
    let reads_after = server.metric_per_process(READS).await;
    let reads: Vec<f64> = reads_after.iter().zip(&reads_before).map(|(after, before)| after - before).collect();
    let refreshes = elapsed.as_secs_f64() / REFRESH.as_secs_f64();
    assert!(pulls > 50, "only {pulls} pulls in {elapsed:?}");
    assert!(
        reads.iter().all(|&reads| reads <= refreshes + 2.0),
        "{reads:?} store reads per process for {pulls} pulls in {elapsed:?} ({refreshes:.1} refresh intervals)"
    );
    assert!(reads.iter().any(|&reads| reads >= 1.0), "the cache was not refreshed at all in {elapsed:?}");
}

async fn openapi_metrics_and_health_are_served(server: Server) {
    let http = reqwest::Client::new();
    let openapi: Value = http.get(format!("{}/openapi.json", server.api())).send().await.unwrap().json().await.unwrap();
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/v1/apps/{app_id}/messages", "/v1/mailbox/sync", "/v1/mailbox/history", "/v1/apps/{app_id}/whitelist"]
    {
        assert!(openapi["paths"][path].is_object(), "{path} missing from OpenAPI");
    }
    for admin in server.admins() {
        for path in ["/health/live", "/health/ready", "/metrics"] {
            let response = http.get(format!("{admin}{path}")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{admin}{path}");
        }
    }
    server.app(APP).send(APP, unicast(1, "count me")).await;
    wait_for_messages(&server, 1, 1).await;
    // The projector counts a batch just after writing its rows, so a pull may see them first.
    for counter in ["tidings_projector_events_total", "tidings_http_requests_total"] {
        eventually(&format!("{counter} counts"), visible_within(), || async {
            (server.metric(counter).await >= 1.0).then_some(())
        })
        .await;
    }
}
