//! An event Tidings writes to Kafka decodes with a third-party Avro reader (Python's
//! fastavro, in `infra/interop`) given only the `.avsc` files of `schemas/avro`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tidings_domain::event::{Delivery, MailboxEvent};
use tidings_domain::message::{Mailbox, MessageBody};
use tidings_events::EventCodec;
use tidings_kafka::{KafkaLog, KafkaSettings};
use tidings_ports::{EventLog, OutgoingRecord};

#[tokio::test]
async fn events_written_to_kafka_decode_with_a_third_party_avro_reader() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = repository.join("infra/.run/interop-venv/bin/python");
    assert!(python.exists(), "no interop venv at {}: run infra/interop/setup.sh", python.display());
    let bootstrap = std::env::var("TIDINGS_TEST_KAFKA").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let settings = KafkaSettings { bootstrap_servers: bootstrap.clone(), partitions: 1, ..KafkaSettings::default() };
    let log = KafkaLog::connect(settings)
        .await
        .unwrap_or_else(|error| panic!("Kafka is not reachable at {bootstrap} ({error}): run infra/kafka/start.sh"));

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
    });
    let topic = format!("interop-{}-{}", std::process::id(), tidings_domain::time::now_us());
    let payload = EventCodec::new().encode_mailbox(&event);
    log.append(vec![OutgoingRecord { topic: topic.clone(), key: mailbox.log_key().into_bytes(), payload }])
        .await
        .unwrap();

    let output = Command::new(&python)
        .arg(repository.join("infra/interop/read_topic.py"))
        .args(["--bootstrap", &bootstrap, "--topic", &topic, "--count", "1"])
        .output()
        .expect("run the Python reader");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the reader failed: {}{stdout}", String::from_utf8_lossy(&output.stderr));
    let line: Value = serde_json::from_str(stdout.lines().next().expect("one record")).expect("a JSON line");
    assert_eq!(line["schema"], "mailbox_event/v1.avsc");
    assert_eq!(line["key"], "m:3:42");
    let delivered = &line["record"]["event"];
    assert_eq!(delivered["mailbox"]["uid"], 42);
    assert_eq!(delivered["dedupe_key"], "k:7:interop");
    assert_eq!(delivered["create_time_us"], 1_679_757_323_320_865_i64);
    assert_eq!(delivered["body"]["content"], "interop ✓");
    assert_eq!(delivered["body"]["from_uid"], 7);
}
