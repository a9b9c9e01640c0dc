//! Third parties on the Kafka contract, with nothing but the `.avsc` files of `schemas/avro`
//! (Python's fastavro and confluent-kafka, in `infra/interop`): they decode the events
//! Tidings writes, and the events they produce themselves are projected like ingest's
//! (docs/producing-events.md).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tidings_domain::event::{Delivery, MailboxEvent, SendRecord};
use tidings_domain::message::{Mailbox, MessageBody};
use tidings_domain::time::{now_s, now_us};
use tidings_events::{DeadLetter, EventCodec};
use tidings_kafka::{KafkaLog, KafkaSettings};
use tidings_ports::{EventLog, LogRecord, OutgoingRecord, Topics};

use crate::harness::{Mode, Server, contents, eventually, kafka_bootstrap, visible_within};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs a script of `infra/interop` in its venv and returns what it printed, one JSON value
/// per line; fails the test when the script fails.
fn run_interop_script(script: &str, args: &[&str]) -> Vec<Value> {
    let python = repository().join("infra/.run/interop-venv/bin/python");
    assert!(python.exists(), "no interop venv at {}: run infra/interop/setup.sh", python.display());
    let output = Command::new(&python)
        .arg(repository().join("infra/interop").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("run {script}: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{script} failed: {}{stdout}", String::from_utf8_lossy(&output.stderr));
    stdout.lines().map(|line| serde_json::from_str(line).expect("a JSON line")).collect()
}

async fn test_kafka() -> Arc<KafkaLog> {
    let bootstrap = kafka_bootstrap();
    let settings = KafkaSettings { bootstrap_servers: bootstrap.clone(), partitions: 1, ..KafkaSettings::default() };
    KafkaLog::connect(settings)
        .await
        .unwrap_or_else(|error| panic!("Kafka is not reachable at {bootstrap} ({error}): run infra/kafka/start.sh"))
}

#[tokio::test]
async fn events_written_to_kafka_decode_with_a_third_party_avro_reader() {
    let log = test_kafka().await;
    let mailbox = Mailbox::new(3, 42);
    let event = MailboxEvent::Delivered(Delivery {
        mailbox,
        dedupe_key: "k:7:interop".into(),
        create_time_us: 1_679_757_323_320_865,
        body: MessageBody {
            from_uid: 7,
            to_uid: 42,
            content: "interop ✓".into(),
            msgkey: "interop".into(),
            ..Default::default()
        },
        send: Some(SendRecord { request_id: "18c2f1a9b3e01-5d1e0c7a9b3f2e64".into(), recipients: vec![42, 43] }),
    });
    let topic = format!("interop-{}-{}", std::process::id(), now_us());
    let payload = EventCodec::new().encode_mailbox(&event);
    log.append(vec![OutgoingRecord { topic: topic.clone(), key: mailbox.log_key().into_bytes(), payload }])
        .await
        .unwrap();

    let lines =
        run_interop_script("read_topic.py", &["--bootstrap", &kafka_bootstrap(), "--topic", &topic, "--count", "1"]);
    let line = lines.first().expect("one record");
    assert_eq!(line["schema"], "mailbox_event/v2.avsc");
    assert_eq!(line["key"], "m:3:42");
    let delivered = &line["record"]["event"];
    assert_eq!(delivered["mailbox"]["uid"], 42);
    assert_eq!(delivered["dedupe_key"], "k:7:interop");
    assert_eq!(delivered["create_time_us"], 1_679_757_323_320_865_i64);
    assert_eq!(delivered["body"]["content"], "interop ✓");
    assert_eq!(delivered["body"]["from_uid"], 7);
    assert_eq!(delivered["send"]["recipients"], serde_json::json!([42, 43]));
}

const APP: i64 = 9;
/// The mailbox the third party delivers to. Of the deployment's 4 partitions, its key
/// `m:9:46` falls in 0 by Java's partitioner (Tidings') and in 3 by librdkafka's default, so
/// a producer with the wrong one shows.
const UID: i64 = 46;
const BROADCAST_ID: i64 = 1001;

/// `produce.py` on the deployment's topics: each record it wrote, with its position.
fn produce(server: &Server, command: &[&str]) -> Vec<Value> {
    let bootstrap = kafka_bootstrap();
    let mut args = vec!["--bootstrap", &bootstrap, "--prefix", server.topic_prefix()];
    args.extend_from_slice(command);
    run_interop_script("produce.py", &args)
}

/// Produces a delivery of `body` (a `MessageBody` record) to the mailbox `(APP, UID)`.
fn deliver(server: &Server, dedupe_key: &str, create_time_us: i64, body: &Value) {
    let (app, uid, create_time_us, body) =
        (APP.to_string(), UID.to_string(), create_time_us.to_string(), body.to_string());
    produce(
        server,
        &[
            "deliver",
            "--app",
            &app,
            "--uid",
            &uid,
            "--dedupe-key",
            dedupe_key,
            "--create-time-us",
            &create_time_us,
            "--body",
            &body,
        ],
    );
}

/// A pulled message shows every field of the record it came from (a `MessageBody` or a
/// `BroadcastContent`, whose audience a pull doesn't show), `expire_at_s` as `expire`.
fn assert_shows(pulled: &Value, record: &Value) {
    for (field, value) in record.as_object().expect("a record") {
        match field.as_str() {
            "audience" => {}
            "expire_at_s" => assert_eq!(&pulled["expire"], value, "expire"),
            _ => assert_eq!(&pulled[field], value, "{field}"),
        }
    }
}

#[tokio::test]
async fn events_a_third_party_produces_are_projected_once_and_invalid_ones_dead_lettered() {
    let server = Server::start(Mode::Distributed).await;
    // The projectors create the topics as they subscribe; a send through ingest that shows in
    // a pull proves they did and are consuming (a producer must not let the broker create them).
    server
        .app(APP)
        .send(APP, json!({"mode": "unicast", "from_uid": 1, "to_uids": [UID], "content": "by ingest"}))
        .await;
    let user = server.user(APP, UID);
    eventually("the send through ingest is pulled", visible_within(), || async {
        (!user.sync_all("").await.0.is_empty()).then_some(())
    })
    .await;

    let created_us = now_us();
    let body = json!({"from_uid": 5, "to_uid": UID, "contacter": 9, "category": 2, "type": 3, "priority": 4,
        "business_type": 6, "msgkey": "order-1", "content": "produced ✓", "expire_at_s": now_s() + 3600});
    // A retried produce: the same delivery, dedupe key and all, from a second producer.
    deliver(&server, "k:5:order-1", created_us, &body);
    deliver(&server, "k:5:order-1", created_us, &body);
    let audience = json!({"platforms": [], "min_core_level": null, "max_core_level": null, "logged_in_only": false});
    let content = json!({"category": 1, "type": 2, "priority": 3, "business_type": 4, "content": "produced broadcast",
        "expire_at_s": now_s() + 3600, "audience": audience});
    let (app, uid, broadcast_id, content_arg) =
        (APP.to_string(), UID.to_string(), BROADCAST_ID.to_string(), content.to_string());
    let broadcast =
        produce(&server, &["broadcast", "--app", &app, "--broadcast-id", &broadcast_id, "--content", &content_arg]);
    let invalid = produce(&server, &["invalid", "--app", &app, "--uid", &uid]);
    // Its clock an hour behind: the projector stamps msg_ids after the mailbox's last one.
    let mut after = body.clone();
    after["content"] = json!("after the invalid ones");
    deliver(&server, "k:5:order-2", created_us - 3_600_000_000, &after);

    let messages = eventually("the produced messages and broadcast are pulled", visible_within(), || async {
        let (messages, _) = user.sync_all("").await;
        let texts = contents(&messages);
        (texts.contains(&"after the invalid ones".to_owned()) && texts.contains(&"produced broadcast".to_owned()))
            .then_some(messages)
    })
    .await;
    let (private, public): (Vec<Value>, Vec<Value>) = messages.into_iter().partition(|m| m["source"] == "private");
    assert_eq!(contents(&private), ["by ingest", "produced ✓", "after the invalid ones"], "each once, nothing invalid");
    let (produced, after_invalid) = (&private[1], &private[2]);
    assert_shows(produced, &body);
    assert_eq!((produced["app_id"].as_i64(), produced["is_read"].as_bool()), (Some(APP), Some(false)));
    assert_eq!(produced["create_time"].as_i64(), Some(created_us));
    assert_eq!(produced["msg_id"].as_i64(), Some(created_us), "its create time, later than the mailbox's last id");
    assert_eq!(
        after_invalid["msg_id"].as_i64(),
        Some(created_us + 1),
        "stamped after the last id, not by the producer"
    );

    let [published] = &public[..] else { panic!("one broadcast, got {public:?}") };
    assert_shows(published, &content);
    let published_at_us = broadcast.last().expect("the publish event")["record"]["at_us"].as_i64();
    assert_eq!(
        (published["broadcast_id"].as_i64(), published["msg_id"].as_i64()),
        (Some(BROADCAST_ID), published_at_us)
    );
    let (status, shown) = server.operator(APP).get(&format!("/v1/apps/{APP}/broadcasts/{BROADCAST_ID}")).await;
    assert_eq!(
        (status, shown["state"].as_str(), shown["revision"].as_i64()),
        (StatusCode::OK, Some("published"), Some(2))
    );

    let topics = Topics::with_prefix(server.topic_prefix());
    // Ingest's record and the producer's six, keyed alike, share a partition: the partitioners agree.
    let mailbox_records = read_topic(&topics.mailbox, 7).await;
    let partitions: BTreeSet<i32> = mailbox_records.iter().map(|record| record.position.partition).collect();
    assert_eq!(partitions.len(), 1, "one mailbox's records spread over partitions {partitions:?}");

    assert_dead_lettered_with_reasons(&topics.dead_letter, &invalid).await;
}

/// The records `produce.py invalid` wrote are on the dead-letter topic, byte for byte, each
/// with the reason the projector refused it.
async fn assert_dead_lettered_with_reasons(dead_letter_topic: &str, invalid: &[Value]) {
    let codec = EventCodec::new();
    let mut letters: Vec<DeadLetter> = read_topic(dead_letter_topic, invalid.len())
        .await
        .iter()
        .map(|record| codec.decode_dead_letter(&record.payload).expect("a dead letter"))
        .collect();
    letters.sort_by_key(|letter| letter.offset);
    let payloads: Vec<Vec<u8>> = invalid.iter().map(|written| from_hex(written["payload"].as_str().unwrap())).collect();
    for ((letter, written), payload) in letters.iter().zip(invalid).zip(&payloads) {
        assert_eq!(Some(letter.source_topic.as_str()), written["topic"].as_str());
        assert_eq!(
            (Some(i64::from(letter.partition)), Some(letter.offset)),
            (written["partition"].as_i64(), written["offset"].as_i64())
        );
        assert_eq!((&letter.key, &letter.payload), (&format!("m:{APP}:{UID}").into_bytes(), payload), "byte for byte");
    }
    let unknown = u64::from_le_bytes(payloads[1][2..10].try_into().expect("a fingerprint"));
    let reasons: Vec<&str> = letters.iter().map(|letter| letter.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "mailbox_event: bad single-object marker [6e, 6f], expected [c3, 01]",
            &format!("mailbox_event: unknown writer schema fingerprint {unknown:#018x}"),
            "delivery has an empty dedupe_key",
        ]
    );
}

/// At least the first `count` records of `topic`, read with a consumer group of their own.
async fn read_topic(topic: &str, count: usize) -> Vec<LogRecord> {
    let log = test_kafka().await;
    let mut subscription = log.subscribe(&format!("{topic}-reader"), &[topic.to_owned()]).await.expect("subscribe");
    let deadline = Instant::now() + visible_within();
    let mut records = Vec::new();
    while records.len() < count {
        assert!(Instant::now() < deadline, "{} of {count} records on {topic} in {:?}", records.len(), visible_within());
        records.extend(subscription.poll(count, Duration::from_millis(500)).await.expect("poll"));
    }
    records
}

fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|at| u8::from_str_radix(&hex[at..at + 2], 16).expect("hex")).collect()
}
