//! The event log conformance suite, and Kafka-specific checks, against a real broker:
//! `TIDINGS_TEST_KAFKA` (default `127.0.0.1:9092`, what `infra/kafka/start.sh` starts).
//! Every check uses its own topics and groups, so runs can share the broker. Without a
//! broker the tests fail; they never skip.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use tidings_kafka::{KafkaLog, KafkaSettings, RetentionFinding};
use tidings_ports::conformance::{PATIENCE, poll_until, positions, record, unique_name};
use tidings_ports::{EventLog, LogRecord, OutgoingRecord, RecordPosition};

/// Partitions per test topic: several, so keys spread over partitions.
const PARTITIONS: i32 = 4;

fn bootstrap_servers() -> String {
    std::env::var("TIDINGS_TEST_KAFKA").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

async fn kafka_log() -> Arc<KafkaLog> {
    let bootstrap_servers = bootstrap_servers();
    let settings = KafkaSettings {
        bootstrap_servers: bootstrap_servers.clone(),
        partitions: PARTITIONS,
        replication_factor: 1,
        client_id: "tidings-kafka-tests".to_owned(),
        ..KafkaSettings::default()
    };
    KafkaLog::connect(settings).await.unwrap_or_else(|error| {
        panic!("Kafka is not reachable at {bootstrap_servers}: run infra/kafka/start.sh (or set TIDINGS_TEST_KAFKA): {error}")
    })
}

tidings_ports::event_log_conformance_tests!(kafka_log());
tidings_ports::log_history_conformance_tests!(kafka_log());

/// Beyond the suite: when a second member joins, the partitions it takes over are handed
/// to it from the group's committed position, and a late commit by the first member of
/// records it polled before the rebalance neither errors nor rewinds the new owner; on the
/// partitions the first member got back, the same commit moves past the given positions.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_commit_after_a_rebalance_never_rewinds_the_new_owner() {
    let log = kafka_log().await;
    let topic = unique_name("rebalance");
    let group = unique_name("group");
    let topics = std::slice::from_ref(&topic);
    // Enough keys that every partition holds some records.
    let records: Vec<OutgoingRecord> = (0..64)
        .flat_map(|key| (0..3).map(move |i| (key, i)))
        .map(|(key, i)| record(&topic, &format!("key-{key}"), format!("{key}/{i}")))
        .collect();
    log.append(records).await.expect("append");

    let mut first = log.subscribe(&group, topics).await.expect("subscribe");
    let polled_by_first = poll_until(first.as_mut(), 64 * 3, "the first member").await;

    // The second member joins; both keep polling so the group rebalances and, nothing
    // being committed, every partition is handed out again to its new owner.
    let mut second = log.subscribe(&group, topics).await.expect("subscribe");
    let deadline = Instant::now() + PATIENCE;
    let mut polled_by_second: Vec<LogRecord> = Vec::new();
    let mut polled_by_first_again: Vec<LogRecord> = Vec::new();
    let handed_out_again = |first: &[LogRecord], second: &[LogRecord]| -> usize {
        first.iter().chain(second).map(|record| &record.position).collect::<BTreeSet<_>>().len()
    };
    while polled_by_second.is_empty() || handed_out_again(&polled_by_first_again, &polled_by_second) < 64 * 3 {
        assert!(Instant::now() < deadline, "the second member got {} records", polled_by_second.len());
        let (from_first, from_second) = tokio::join!(
            first.poll(1_000, Duration::from_millis(200)),
            second.poll(1_000, Duration::from_millis(200)),
        );
        polled_by_first_again.extend(from_first.expect("poll first"));
        polled_by_second.extend(from_second.expect("poll second"));
    }
    let taken_over: BTreeSet<i32> = polled_by_second.iter().map(|record| record.position.partition).collect();
    assert!(taken_over.len() < PARTITIONS as usize, "the second member took every partition: {taken_over:?}");
    let expected_by_second: BTreeSet<&RecordPosition> = polled_by_first
        .iter()
        .map(|record| &record.position)
        .filter(|position| taken_over.contains(&position.partition))
        .collect();
    assert_eq!(polled_by_second.iter().map(|record| &record.position).collect::<BTreeSet<_>>(), expected_by_second);

    // The second member commits everything it got; then the first commits the lowest
    // position of each partition it polled before the rebalance.
    second.commit(&positions(&polled_by_second)).await.expect("commit second");
    assert_eq!(second.lag().await.expect("lag"), 0);
    let mut lowest: BTreeMap<i32, RecordPosition> = BTreeMap::new();
    for record in &polled_by_first {
        lowest.entry(record.position.partition).or_insert_with(|| record.position.clone());
    }
    let stale: Vec<RecordPosition> = lowest.into_values().collect();
    first.commit(&stale).await.expect("a stale commit is ignored, not an error");
    assert_eq!(second.lag().await.expect("lag"), 0, "the first member rewound the second's partitions");

    // The first member got its own partitions back and was handed them out again from
    // the start: there its late commit is no rewind, it moves past the position given.
    let first_partitions: BTreeSet<i32> =
        polled_by_first.iter().map(|record| record.position.partition).filter(|p| !taken_over.contains(p)).collect();
    let first_partitions_again: BTreeSet<i32> =
        polled_by_first_again.iter().map(|record| record.position.partition).collect();
    assert_eq!(first_partitions_again, first_partitions);
    let first_lag = first.lag().await.expect("lag") as usize;
    assert_eq!(first_lag, 64 * 3 - expected_by_second.len() - first_partitions.len());
}

/// An admin client of the test broker, for what the adapter does not do itself.
fn admin() -> AdminClient<DefaultClientContext> {
    rdkafka::ClientConfig::new().set("bootstrap.servers", bootstrap_servers()).create().expect("admin client")
}

/// The configs of `topic`: retention.ms and retention.bytes, as the broker reports them.
async fn retention_of(topic: &str) -> (Option<String>, Option<String>) {
    let described = admin()
        .describe_configs(&[ResourceSpecifier::Topic(topic)], &AdminOptions::new())
        .await
        .expect("describe configs");
    let resource = described.into_iter().next().expect("one resource").expect("the topic's configs");
    let value = |key: &str| resource.get(key).and_then(|entry| entry.value.clone());
    (value("retention.ms"), value("retention.bytes"))
}

/// Event topics are the source of truth a rebuild replays: created to keep everything. The
/// notify topic carries hints: created with a short retention.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_topics_keep_history_and_hint_topics_expire() {
    let log = kafka_log().await;
    let (events, hints) = (unique_name("events"), unique_name("hints"));
    log.declare_hint_topics([hints.clone()]);
    log.append(vec![record(&events, "k", "e".into()), record(&hints, "k", "h".into())]).await.expect("append");
    assert_eq!(retention_of(&events).await, (Some("-1".into()), Some("-1".into())));
    assert_eq!(retention_of(&hints).await.0, Some((24 * 3600 * 1000).to_string()));
    let findings = log.retention_findings(&[events.clone(), unique_name("missing")]).await.expect("check");
    assert_eq!(findings, Vec::new(), "a topic the adapter created, and one that does not exist yet");
}

/// A topic made by someone else with the broker's 7-day default is named, with the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_event_topic_that_deletes_history_is_named() {
    let topic = unique_name("weekly");
    let weekly = NewTopic::new(&topic, 1, TopicReplication::Fixed(1)).set("retention.ms", "604800000");
    let created = admin().create_topics(&[weekly], &AdminOptions::new()).await.expect("create topics");
    assert!(created.iter().all(Result::is_ok), "{created:?}");
    let log = kafka_log().await;
    let findings = poll_findings(&log, &topic).await;
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].retention_ms.as_deref(), Some("604800000"));
    let warning = findings[0].to_string();
    assert!(warning.contains(&topic) && warning.contains("retention.ms=-1"), "{warning}");
}

/// The findings for `topic`, once the broker describes it (a new topic's metadata may lag).
async fn poll_findings(log: &KafkaLog, topic: &str) -> Vec<RetentionFinding> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let findings = log.retention_findings(&[topic.to_owned()]).await.expect("check");
        if !findings.is_empty() || Instant::now() > deadline {
            return findings;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
