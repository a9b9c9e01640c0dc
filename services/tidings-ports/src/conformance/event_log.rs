//! The checks of the [`EventLog`] and [`Subscription`](crate::log::Subscription) contracts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::harness::{PATIENCE, assert_nothing_more, payloads, poll_until, positions, record, unique_name};
use crate::log::{EventLog, LogRecord};

/// Appends `count` records under one key, in one call; payloads are `"{key}/{i}"`.
async fn append_run(log: &dyn EventLog, topic: &str, key: &str, count: usize) {
    let records = (0..count).map(|i| record(topic, key, format!("{key}/{i}"))).collect();
    log.append(records).await.expect("append");
}

fn expected_run(key: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{key}/{i}")).collect()
}

/// Every record appended comes back once, records of one key in the order appended,
/// whether appended in one call or in successive calls, each key in one partition.
pub async fn appended_records_come_back_in_key_order(log: Arc<dyn EventLog>) {
    let topic = unique_name("order");
    let keys: Vec<String> = (0..8).map(|k| format!("key-{k}")).collect();
    // One call interleaving every key…
    let interleaved = (0..5)
        .flat_map(|i| keys.iter().map(move |key| (key, i)))
        .map(|(key, i)| record(&topic, key, format!("{key}/{i}")))
        .collect();
    log.append(interleaved).await.expect("append");
    // …then one call per record, keys alternating.
    for i in 5..10 {
        for key in &keys {
            log.append(vec![record(&topic, key, format!("{key}/{i}"))]).await.expect("append");
        }
    }

    let mut subscription = log.subscribe(&unique_name("group"), std::slice::from_ref(&topic)).await.expect("subscribe");
    let received = poll_until(subscription.as_mut(), 80, "all records").await;
    assert_nothing_more(subscription.as_mut(), "after all records").await;

    let mut by_key: BTreeMap<String, Vec<&LogRecord>> = BTreeMap::new();
    for record in &received {
        assert_eq!(record.position.topic, topic);
        by_key.entry(String::from_utf8_lossy(&record.key).into_owned()).or_default().push(record);
    }
    assert_eq!(by_key.keys().cloned().collect::<Vec<_>>(), keys);
    for (key, records) in &by_key {
        let got: Vec<String> =
            records.iter().map(|record| String::from_utf8_lossy(&record.payload).into_owned()).collect();
        assert_eq!(got, expected_run(key, 0..10), "records of {key}");
        let partitions: BTreeSet<i32> = records.iter().map(|r| r.position.partition).collect();
        assert_eq!(partitions.len(), 1, "{key} spread over partitions {partitions:?}");
    }
    let mut last_offset: HashMap<i32, i64> = HashMap::new();
    for record in &received {
        let position = &record.position;
        if let Some(last) = last_offset.insert(position.partition, position.offset) {
            assert!(
                position.offset > last,
                "partition {} handed out offset {} after {last}",
                position.partition,
                position.offset,
            );
        }
    }
}

/// A group that never committed reads what was appended before it subscribed.
pub async fn a_new_group_starts_at_the_beginning(log: Arc<dyn EventLog>) {
    let topic = unique_name("beginning");
    append_run(log.as_ref(), &topic, "a", 5).await;
    let topics = std::slice::from_ref(&topic);

    let mut first = log.subscribe(&unique_name("group"), topics).await.expect("subscribe");
    let received = poll_until(first.as_mut(), 5, "first group").await;
    first.commit(&positions(&received)).await.expect("commit");
    drop(first);

    let mut second = log.subscribe(&unique_name("group"), topics).await.expect("subscribe");
    let received = poll_until(second.as_mut(), 5, "second group").await;
    assert_eq!(payloads(&received), expected_run("a", 0..5));
}

/// `poll` never returns more than `max_records`, and handing out in pieces keeps order.
pub async fn poll_returns_at_most_max_records(log: Arc<dyn EventLog>) {
    let topic = unique_name("max-records");
    append_run(log.as_ref(), &topic, "a", 10).await;
    let mut subscription = log.subscribe(&unique_name("group"), std::slice::from_ref(&topic)).await.expect("subscribe");

    let deadline = Instant::now() + PATIENCE;
    let mut received = Vec::new();
    while received.len() < 10 {
        assert!(Instant::now() < deadline, "got only {received:?}");
        let batch = subscription.poll(3, Duration::from_millis(500)).await.expect("poll");
        assert!(batch.len() <= 3, "asked for 3, got {}", batch.len());
        received.extend(batch);
    }
    assert_eq!(payloads(&received), expected_run("a", 0..10));
    assert_nothing_more(subscription.as_mut(), "after ten records").await;
}

/// With nothing to hand out, `poll` returns (empty) instead of hanging: on a topic never
/// written to, and once everything was handed out.
pub async fn poll_returns_nothing_after_max_wait_when_nothing_is_there(log: Arc<dyn EventLog>) {
    let max_wait = Duration::from_millis(300);
    let topic = unique_name("empty");
    let mut subscription = log.subscribe(&unique_name("group"), std::slice::from_ref(&topic)).await.expect("subscribe");
    let polled = tokio::time::timeout(max_wait + PATIENCE, subscription.poll(10, max_wait))
        .await
        .expect("poll on an empty topic hangs")
        .expect("poll");
    assert!(polled.is_empty(), "records on a fresh topic: {polled:?}");

    append_run(log.as_ref(), &topic, "a", 2).await;
    poll_until(subscription.as_mut(), 2, "two records").await;
    let polled = tokio::time::timeout(max_wait + PATIENCE, subscription.poll(10, max_wait))
        .await
        .expect("poll after the last record hangs")
        .expect("poll");
    assert!(polled.is_empty(), "records handed out twice: {polled:?}");
}

/// After a commit, a new member of the group starts right after the highest committed
/// offset; what was polled but not committed is handed out again.
pub async fn a_resubscribed_group_resumes_right_after_its_committed_offsets(log: Arc<dyn EventLog>) {
    let topic = unique_name("resume");
    let group = unique_name("group");
    let topics = std::slice::from_ref(&topic);
    append_run(log.as_ref(), &topic, "a", 10).await;

    let mut subscription = log.subscribe(&group, topics).await.expect("subscribe");
    let received = poll_until(subscription.as_mut(), 10, "first member").await;
    // Positions of one partition: the highest counts, whatever their order.
    let committed = [received[2].position.clone(), received[5].position.clone(), received[1].position.clone()];
    subscription.commit(&committed).await.expect("commit");
    drop(subscription);

    let mut subscription = log.subscribe(&group, topics).await.expect("resubscribe");
    let received = poll_until(subscription.as_mut(), 4, "second member").await;
    assert_eq!(payloads(&received), expected_run("a", 6..10));
    assert_nothing_more(subscription.as_mut(), "after the uncommitted records").await;
}

/// Without a commit, a new member of the group gets everything again (at-least-once).
pub async fn uncommitted_records_are_handed_out_again(log: Arc<dyn EventLog>) {
    let topic = unique_name("uncommitted");
    let group = unique_name("group");
    let topics = std::slice::from_ref(&topic);
    append_run(log.as_ref(), &topic, "a", 4).await;

    let mut subscription = log.subscribe(&group, topics).await.expect("subscribe");
    poll_until(subscription.as_mut(), 4, "first member").await;
    drop(subscription);

    let mut subscription = log.subscribe(&group, topics).await.expect("resubscribe");
    let received = poll_until(subscription.as_mut(), 4, "second member").await;
    assert_eq!(payloads(&received), expected_run("a", 0..4));
}

/// One group's commits move neither another group's position nor its lag.
pub async fn consumer_groups_are_independent(log: Arc<dyn EventLog>) {
    let topic = unique_name("groups");
    let topics = std::slice::from_ref(&topic);
    append_run(log.as_ref(), &topic, "a", 3).await;
    append_run(log.as_ref(), &topic, "b", 3).await;

    let mut first = log.subscribe(&unique_name("group"), topics).await.expect("subscribe");
    let mut second = log.subscribe(&unique_name("group"), topics).await.expect("subscribe");
    let received_by_first = poll_until(first.as_mut(), 6, "first group").await;
    first.commit(&positions(&received_by_first)).await.expect("commit");
    assert_eq!(first.lag().await.expect("lag"), 0);

    let received_by_second = poll_until(second.as_mut(), 6, "second group").await;
    let mut got = payloads(&received_by_second);
    got.sort();
    let mut expected = [expected_run("a", 0..3), expected_run("b", 0..3)].concat();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(second.lag().await.expect("lag"), 6);
}

/// A record appended while a member waits in `poll` reaches it in that wait.
pub async fn records_appended_during_a_waiting_poll_are_delivered_to_it(log: Arc<dyn EventLog>) {
    let topic = unique_name("wakeup");
    let mut subscription = log.subscribe(&unique_name("group"), std::slice::from_ref(&topic)).await.expect("subscribe");
    // Lets a remote engine assign the partitions before the wait under test.
    let warm_up = subscription.poll(10, Duration::from_millis(300)).await.expect("poll");
    assert!(warm_up.is_empty(), "records on a fresh topic: {warm_up:?}");

    let appender = {
        let log = Arc::clone(&log);
        let topic = topic.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            append_run(log.as_ref(), &topic, "late", 1).await;
        })
    };
    let started = Instant::now();
    let mut received = Vec::new();
    // One long wait; looping only covers a poll that returns early and empty, which the
    // contract allows. A poll that sleeps through appends fails: it gets nothing in time.
    while received.is_empty() && started.elapsed() < PATIENCE {
        received = subscription.poll(10, PATIENCE.saturating_sub(started.elapsed())).await.expect("poll");
    }
    appender.await.expect("appender");
    assert_eq!(payloads(&received), expected_run("late", 0..1));
}

/// `lag` counts what was appended and not committed, polled or not, and reaches 0 once
/// everything is committed.
pub async fn lag_counts_appended_but_uncommitted_records(log: Arc<dyn EventLog>) {
    let topic = unique_name("lag");
    let mut subscription = log.subscribe(&unique_name("group"), std::slice::from_ref(&topic)).await.expect("subscribe");

    append_run(log.as_ref(), &topic, "a", 4).await;
    let first = poll_until(subscription.as_mut(), 4, "first records").await;
    assert_eq!(subscription.lag().await.expect("lag"), 4);
    subscription.commit(std::slice::from_ref(&first[1].position)).await.expect("commit");
    assert_eq!(subscription.lag().await.expect("lag"), 2);

    for key in ["b", "c", "d"] {
        append_run(log.as_ref(), &topic, key, 1).await;
    }
    let second = poll_until(subscription.as_mut(), 3, "more records").await;
    assert_eq!(subscription.lag().await.expect("lag"), 5);

    let everything = [positions(&first), positions(&second)].concat();
    subscription.commit(&everything).await.expect("commit");
    assert_eq!(subscription.lag().await.expect("lag"), 0);
}

/// Many concurrent appenders all get their records in, each appender's in order.
pub async fn concurrent_appends_are_all_written_in_order_per_key(log: Arc<dyn EventLog>) {
    let topic = unique_name("concurrent");
    let appenders: Vec<_> = (0..32)
        .map(|appender| {
            let log = Arc::clone(&log);
            let topic = topic.clone();
            tokio::spawn(async move {
                for i in 0..20 {
                    log.append(vec![record(&topic, &format!("appender-{appender}"), i.to_string())])
                        .await
                        .expect("append");
                }
            })
        })
        .collect();
    for appender in appenders {
        appender.await.expect("appender");
    }

    let mut subscription = log.subscribe(&unique_name("group"), std::slice::from_ref(&topic)).await.expect("subscribe");
    let received = poll_until(subscription.as_mut(), 32 * 20, "concurrent appends").await;
    for appender in 0..32 {
        let key = format!("appender-{appender}").into_bytes();
        let mine: Vec<LogRecord> = received.iter().filter(|record| record.key == key).cloned().collect();
        let expected: Vec<String> = (0..20).map(|i: i32| i.to_string()).collect();
        assert_eq!(payloads(&mine), expected, "appender {appender}");
    }
}
