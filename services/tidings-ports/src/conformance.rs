//! The conformance suite: what every adapter of [`EventLog`] and [`Store`] must do, written
//! once from the contracts in the traits' docs.
//!
//! An adapter runs it from one of its integration tests:
//!
//! ```ignore
//! tidings_ports::event_log_conformance_tests!(async { open_fresh_log().await });
//! tidings_ports::store_conformance_tests!(async { open_fresh_store().await });
//! ```
//!
//! Each macro expands, in the calling file, into a module (`event_log_conformance`,
//! `store_conformance`) holding one `#[tokio::test]` per check of [`event_log`] or
//! [`store`]. The factory expression is evaluated once per test and must yield a
//! [`Fixture`]: an `Arc<A>` with `A: EventLog` (or `Store`), the `Arc<dyn …>` itself, or
//! either paired with what must outlive the check (e.g. the adapter's temporary
//! directory); items of the calling file are in scope. The calling crate needs `tokio` (with `macros` and `rt-multi-thread`)
//! among its dev-dependencies.
//!
//! The checks assume only what the contracts promise, so they hold for the embedded
//! engines as well as for Kafka and a CQL server. Real engines are shared between tests and
//! between runs, so every check works on fresh names: its own topics, consumer groups,
//! `app_id`s and `uid`s, from [`unique_name`] and [`unique_id`]. Waits are bounded by
//! [`PATIENCE`], long enough for a Kafka consumer group to form.
//!
//! Durability across a restart is not here: a generic suite cannot restart an engine. Each
//! adapter tests it on its own (reopen the embedded data directory; restart the broker).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::log::{EventLog, LogRecord, OutgoingRecord, RecordPosition, Subscription};
use crate::store::Store;

/// What a conformance macro's factory yields: the adapter under test, maybe with what must
/// live as long as the check does (`(adapter, guard)`: the guard is dropped after it).
pub trait Fixture<Port: ?Sized> {
    fn adapter(&self) -> Arc<Port>;
}

macro_rules! fixtures_of {
    ($port:ident) => {
        impl<A: $port + 'static> Fixture<dyn $port> for Arc<A> {
            fn adapter(&self) -> Arc<dyn $port> {
                self.clone()
            }
        }

        impl Fixture<dyn $port> for Arc<dyn $port> {
            fn adapter(&self) -> Arc<dyn $port> {
                Arc::clone(self)
            }
        }

        impl<F: Fixture<dyn $port>, Guard> Fixture<dyn $port> for (F, Guard) {
            fn adapter(&self) -> Arc<dyn $port> {
                self.0.adapter()
            }
        }
    };
}

fixtures_of!(EventLog);
fixtures_of!(Store);

/// How long a check waits for something the contract says will happen.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A name no other check, test run or process uses, e.g. for a topic or a consumer group:
/// `prefix` followed by time, process and counter; only `[a-z0-9-]` are added.
pub fn unique_name(prefix: &str) -> String {
    let (nanos, process, count) = uniqueness_sources();
    format!("{prefix}-{nanos:x}-{process:x}-{count}")
}

/// A positive id no other check, test run or process uses, e.g. for an `app_id` or a `uid`.
pub fn unique_id() -> i64 {
    let (nanos, process, count) = uniqueness_sources();
    let mixed = splitmix64(nanos ^ splitmix64(process ^ splitmix64(count)));
    // Positive and below 2^62, so ids derived by adding small numbers stay positive.
    (mixed >> 2) as i64
}

fn uniqueness_sources() -> (u64, u64, u64) {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos =
        SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_nanos() as u64).unwrap_or_default();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    (nanos, u64::from(std::process::id()), count)
}

fn splitmix64(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Expands into one `#[tokio::test]` per check of [`event_log`], in a module
/// `event_log_conformance`; see the [module docs](self).
#[macro_export]
macro_rules! event_log_conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::__conformance_tests!(
            event_log_conformance,
            EventLog,
            event_log,
            $factory,
            [
                appended_records_come_back_in_key_order,
                a_new_group_starts_at_the_beginning,
                poll_returns_at_most_max_records,
                poll_returns_nothing_after_max_wait_when_nothing_is_there,
                a_resubscribed_group_resumes_right_after_its_committed_offsets,
                uncommitted_records_are_handed_out_again,
                consumer_groups_are_independent,
                records_appended_during_a_waiting_poll_are_delivered_to_it,
                lag_counts_appended_but_uncommitted_records,
                concurrent_appends_are_all_written_in_order_per_key,
            ]
        );
    };
}

/// Expands into one `#[tokio::test]` per check of [`store`], in a module
/// `store_conformance`; see the [module docs](self).
#[macro_export]
macro_rules! store_conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::__conformance_tests!(
            store_conformance,
            Store,
            store,
            $factory,
            [
                a_mailbox_never_written_reads_as_default,
                read_mailbox_returns_messages_in_both_orders_up_to_limit,
                read_mailbox_ranges_exclude_their_bounds,
                inserting_the_same_message_twice_keeps_one_row,
                find_delivery_returns_the_msg_id_by_dedupe_key,
                mailbox_head_is_the_largest_inserted_msg_id_even_after_delete,
                delete_removes_from_reads_but_keeps_the_dedupe_key,
                mark_read_up_to_only_raises,
                hide_broadcast_accumulates,
                changes_of_one_call_apply_in_order,
                mailboxes_are_isolated,
                public_changes_read_back,
                reapplying_a_public_change_is_idempotent,
                load_public_mailboxes_holds_visible_broadcasts_and_whitelist,
            ]
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($module:ident, $port:ident, $checks:ident, $factory:expr, [$($check:ident),* $(,)?]) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;

            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let fixture = ($factory).await;
                    let adapter = $crate::conformance::Fixture::<dyn $crate::$port>::adapter(&fixture);
                    $crate::conformance::$checks::$check(adapter).await;
                }
            )*
        }
    };
}

/// Polls until `wanted` records came or [`PATIENCE`] ran out (then panics, naming `what`).
pub async fn poll_until(subscription: &mut dyn Subscription, wanted: usize, what: &str) -> Vec<LogRecord> {
    let deadline = Instant::now() + PATIENCE;
    let mut received = Vec::new();
    while received.len() < wanted {
        assert!(
            Instant::now() < deadline,
            "{what}: got {} of {wanted} records within {PATIENCE:?}: {received:?}",
            received.len(),
        );
        let batch = subscription.poll(wanted - received.len(), Duration::from_millis(500)).await.expect("poll");
        received.extend(batch);
    }
    received
}

/// Asserts that nothing more comes within a short wait.
async fn assert_nothing_more(subscription: &mut dyn Subscription, what: &str) {
    let extra = subscription.poll(100, Duration::from_millis(500)).await.expect("poll");
    assert!(extra.is_empty(), "{what}: unexpected records {extra:?}");
}

/// A record of `topic` under `key`.
pub fn record(topic: &str, key: &str, payload: String) -> OutgoingRecord {
    OutgoingRecord { topic: topic.to_owned(), key: key.as_bytes().to_vec(), payload: payload.into_bytes() }
}

fn payloads(records: &[LogRecord]) -> Vec<String> {
    records.iter().map(|record| String::from_utf8_lossy(&record.payload).into_owned()).collect()
}

/// The records' positions, e.g. to commit them.
pub fn positions(records: &[LogRecord]) -> Vec<RecordPosition> {
    records.iter().map(|record| record.position.clone()).collect()
}

/// The checks of the [`EventLog`] and [`Subscription`] contracts.
pub mod event_log {
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    use std::sync::Arc;

    use super::*;

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

        let mut subscription =
            log.subscribe(&unique_name("group"), std::slice::from_ref(&topic)).await.expect("subscribe");
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
        let mut subscription =
            log.subscribe(&unique_name("group"), std::slice::from_ref(&topic)).await.expect("subscribe");

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
        let mut subscription =
            log.subscribe(&unique_name("group"), std::slice::from_ref(&topic)).await.expect("subscribe");
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
        let mut subscription =
            log.subscribe(&unique_name("group"), std::slice::from_ref(&topic)).await.expect("subscribe");
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
        let mut subscription =
            log.subscribe(&unique_name("group"), std::slice::from_ref(&topic)).await.expect("subscribe");

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

        let mut subscription =
            log.subscribe(&unique_name("group"), std::slice::from_ref(&topic)).await.expect("subscribe");
        let received = poll_until(subscription.as_mut(), 32 * 20, "concurrent appends").await;
        for appender in 0..32 {
            let key = format!("appender-{appender}").into_bytes();
            let mine: Vec<LogRecord> = received.iter().filter(|record| record.key == key).cloned().collect();
            let expected: Vec<String> = (0..20).map(|i: i32| i.to_string()).collect();
            assert_eq!(payloads(&mine), expected, "appender {appender}");
        }
    }
}

/// The checks of the [`Store`] contract.
pub mod store {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use tidings_domain::broadcast::{Broadcast, BroadcastContent, BroadcastState, LifecycleAction};
    use tidings_domain::message::{Mailbox, MessageBody, StoredMessage};
    use tidings_domain::public::{PublicMailbox, PublicState, Whitelist};
    use tidings_domain::{AppId, BroadcastId, MsgId, PublicSeq};

    use super::*;
    use crate::store::{MailboxChange, MailboxState, MsgRange, Order};

    /// `msg_id`s chosen so that any non-numeric order (text, little-endian) shows.
    const IDS: [MsgId; 6] = [5, 1_000, 65_536, 1_700_000_000_000_000, 1_700_000_000_000_001, 4_000_000_000_000_000];

    fn fresh_mailbox() -> Mailbox {
        Mailbox::new(unique_id(), unique_id())
    }

    fn message(mailbox: Mailbox, msg_id: MsgId) -> StoredMessage {
        StoredMessage {
            mailbox,
            msg_id,
            create_time_us: msg_id - 3,
            dedupe_key: format!("delivery-{msg_id}"),
            body: MessageBody {
                from_uid: 7,
                to_uid: mailbox.uid,
                contacter: 7,
                category: 1,
                kind: 2,
                priority: 3,
                business_type: 4,
                msgkey: format!("key-{msg_id}"),
                content: format!("message {msg_id} to {}", mailbox.uid),
                expire_at_s: 0,
            },
        }
    }

    fn inserts(mailbox: Mailbox, ids: &[MsgId]) -> Vec<MailboxChange> {
        ids.iter().map(|id| MailboxChange::Insert(message(mailbox, *id))).collect()
    }

    async fn read(
        store: &dyn Store,
        mailbox: Mailbox,
        after: Option<MsgId>,
        before: Option<MsgId>,
        order: Order,
        limit: usize,
    ) -> Vec<MsgId> {
        store
            .read_mailbox(mailbox, MsgRange { after, before }, order, limit)
            .await
            .expect("read_mailbox")
            .iter()
            .map(|message| message.msg_id)
            .collect()
    }

    async fn read_all(store: &dyn Store, mailbox: Mailbox) -> Vec<StoredMessage> {
        store.read_mailbox(mailbox, MsgRange::default(), Order::Ascending, 1_000).await.expect("read_mailbox")
    }

    async fn state(store: &dyn Store, mailbox: Mailbox) -> MailboxState {
        store.mailbox_state(mailbox).await.expect("mailbox_state")
    }

    async fn apply(store: &dyn Store, changes: Vec<MailboxChange>) {
        store.apply_mailbox_changes(&changes).await.expect("apply_mailbox_changes");
    }

    /// A mailbox nobody wrote to: default state, no messages, no deliveries.
    pub async fn a_mailbox_never_written_reads_as_default(store: Arc<dyn Store>) {
        let mailbox = fresh_mailbox();
        assert_eq!(state(store.as_ref(), mailbox).await, MailboxState::default());
        assert!(read_all(store.as_ref(), mailbox).await.is_empty());
        let found = store.find_delivery(mailbox, "delivery-5").await.expect("find_delivery");
        assert_eq!(found, None);
    }

    /// Messages come back whole, ascending or descending by numeric `msg_id`, at most
    /// `limit` of them, from the start of the order.
    pub async fn read_mailbox_returns_messages_in_both_orders_up_to_limit(store: Arc<dyn Store>) {
        let store = store.as_ref();
        let mailbox = fresh_mailbox();
        apply(store, inserts(mailbox, &IDS[..3])).await;
        apply(store, inserts(mailbox, &IDS[3..])).await;

        let expected: Vec<StoredMessage> = IDS.iter().map(|id| message(mailbox, *id)).collect();
        assert_eq!(read_all(store, mailbox).await, expected);
        let mut descending = IDS.to_vec();
        descending.reverse();
        assert_eq!(read(store, mailbox, None, None, Order::Descending, 100).await, descending);
        assert_eq!(read(store, mailbox, None, None, Order::Ascending, 2).await, IDS[..2]);
        assert_eq!(read(store, mailbox, None, None, Order::Descending, 2).await, [IDS[5], IDS[4]]);
        assert!(read(store, mailbox, None, None, Order::Ascending, 0).await.is_empty());
    }

    /// `after` and `before` are exclusive, combine, and apply before `limit` in both orders.
    pub async fn read_mailbox_ranges_exclude_their_bounds(store: Arc<dyn Store>) {
        let store = store.as_ref();
        let mailbox = fresh_mailbox();
        apply(store, inserts(mailbox, &IDS)).await;
        let asc = Order::Ascending;
        let desc = Order::Descending;

        assert_eq!(read(store, mailbox, Some(IDS[1]), None, asc, 100).await, IDS[2..]);
        assert_eq!(read(store, mailbox, None, Some(IDS[3]), asc, 100).await, IDS[..3]);
        assert_eq!(read(store, mailbox, Some(IDS[1]), Some(IDS[4]), asc, 100).await, IDS[2..4]);
        assert_eq!(read(store, mailbox, Some(IDS[0]), Some(IDS[5]), asc, 2).await, IDS[1..3]);
        assert_eq!(read(store, mailbox, Some(IDS[0]), Some(IDS[5]), desc, 2).await, [IDS[4], IDS[3]]);
        assert_eq!(read(store, mailbox, None, Some(IDS[3]), desc, 100).await, [IDS[2], IDS[1], IDS[0]]);
        // Bounds between stored ids.
        assert_eq!(read(store, mailbox, Some(IDS[1] + 1), Some(IDS[3] - 1), asc, 100).await, [IDS[2]]);
        assert!(read(store, mailbox, Some(IDS[5]), None, asc, 100).await.is_empty());
        assert!(read(store, mailbox, None, Some(IDS[0]), desc, 100).await.is_empty());
        assert!(read(store, mailbox, Some(IDS[2]), Some(IDS[3]), asc, 100).await.is_empty());
    }

    /// The same insert, in one call or in two, leaves one row, one delivery and one head.
    pub async fn inserting_the_same_message_twice_keeps_one_row(store: Arc<dyn Store>) {
        let store = store.as_ref();
        let mailbox = fresh_mailbox();
        let once = inserts(mailbox, &IDS[..2]);
        apply(store, once.clone()).await;
        let after_once = (read_all(store, mailbox).await, state(store, mailbox).await);

        apply(store, once.clone()).await;
        apply(store, [once.clone(), once].concat()).await;
        assert_eq!((read_all(store, mailbox).await, state(store, mailbox).await), after_once);
        assert_eq!(after_once.0.len(), 2);
        assert_eq!(after_once.1.head, Some(IDS[1]));
    }

    /// The dedupe key of a delivery finds its `msg_id`, in its own mailbox only.
    pub async fn find_delivery_returns_the_msg_id_by_dedupe_key(store: Arc<dyn Store>) {
        let store = store.as_ref();
        let mailbox = fresh_mailbox();
        apply(store, inserts(mailbox, &IDS[..2])).await;
        for id in &IDS[..2] {
            let found = store.find_delivery(mailbox, &message(mailbox, *id).dedupe_key).await.expect("find_delivery");
            assert_eq!(found, Some(*id));
        }
        let unknown = store.find_delivery(mailbox, "never-delivered").await.expect("find_delivery");
        assert_eq!(unknown, None);
        let elsewhere = store
            .find_delivery(Mailbox::new(mailbox.app_id, unique_id()), &message(mailbox, IDS[0]).dedupe_key)
            .await
            .expect("find_delivery");
        assert_eq!(elsewhere, None);
    }

    /// `head` is the largest `msg_id` ever inserted, whatever the insertion order, and a
    /// deletion does not lower it.
    pub async fn mailbox_head_is_the_largest_inserted_msg_id_even_after_delete(store: Arc<dyn Store>) {
        let store = store.as_ref();
        let mailbox = fresh_mailbox();
        apply(store, inserts(mailbox, &[IDS[0], IDS[3]])).await;
        assert_eq!(state(store, mailbox).await.head, Some(IDS[3]));
        apply(store, inserts(mailbox, &[IDS[1]])).await;
        assert_eq!(state(store, mailbox).await.head, Some(IDS[3]));

        let delete_largest = MailboxChange::Delete { mailbox, msg_id: IDS[3] };
        apply(store, vec![delete_largest]).await;
        assert_eq!(state(store, mailbox).await.head, Some(IDS[3]));
        assert_eq!(read(store, mailbox, None, None, Order::Ascending, 100).await, [IDS[0], IDS[1]]);
    }

    /// A deleted message is gone from every read, its dedupe key stays, and deleting again
    /// (or deleting what never was) changes nothing.
    pub async fn delete_removes_from_reads_but_keeps_the_dedupe_key(store: Arc<dyn Store>) {
        let store = store.as_ref();
        let mailbox = fresh_mailbox();
        apply(store, inserts(mailbox, &IDS[..3])).await;
        let delete_middle = MailboxChange::Delete { mailbox, msg_id: IDS[1] };
        apply(store, vec![delete_middle.clone()]).await;
        let after_delete = (read_all(store, mailbox).await, state(store, mailbox).await);
        assert_eq!(after_delete.0, vec![message(mailbox, IDS[0]), message(mailbox, IDS[2])]);
        assert!(read(store, mailbox, Some(IDS[0]), Some(IDS[2]), Order::Descending, 10).await.is_empty());
        let found = store.find_delivery(mailbox, &message(mailbox, IDS[1]).dedupe_key).await.expect("find_delivery");
        assert_eq!(found, Some(IDS[1]));

        let delete_unknown = MailboxChange::Delete { mailbox, msg_id: IDS[4] };
        apply(store, vec![delete_middle, delete_unknown]).await;
        assert_eq!((read_all(store, mailbox).await, state(store, mailbox).await), after_delete);
    }

    /// The read mark only moves up.
    pub async fn mark_read_up_to_only_raises(store: Arc<dyn Store>) {
        let store = store.as_ref();
        let mailbox = fresh_mailbox();
        let mark = |up_to| MailboxChange::MarkReadUpTo { mailbox, up_to };
        apply(store, vec![mark(IDS[3])]).await;
        assert_eq!(state(store, mailbox).await.read_up_to, IDS[3]);
        apply(store, vec![mark(IDS[1])]).await;
        assert_eq!(state(store, mailbox).await.read_up_to, IDS[3]);
        apply(store, vec![mark(IDS[5]), mark(IDS[4])]).await;
        assert_eq!(state(store, mailbox).await.read_up_to, IDS[5]);
        apply(store, vec![mark(IDS[5])]).await;
        assert_eq!(state(store, mailbox).await.read_up_to, IDS[5]);
    }

    /// Hidden broadcasts add up; hiding one again changes nothing.
    pub async fn hide_broadcast_accumulates(store: Arc<dyn Store>) {
        let store = store.as_ref();
        let mailbox = fresh_mailbox();
        let hide = |broadcast_id| MailboxChange::HideBroadcast { mailbox, broadcast_id };
        apply(store, vec![hide(5)]).await;
        apply(store, vec![hide(300), hide(5)]).await;
        apply(store, vec![hide(40)]).await;
        assert_eq!(state(store, mailbox).await.hidden_broadcasts, BTreeSet::from([5, 40, 300]));
        assert!(read_all(store, mailbox).await.is_empty());
    }

    /// One call's changes apply in the order given, across mailboxes.
    pub async fn changes_of_one_call_apply_in_order(store: Arc<dyn Store>) {
        let store = store.as_ref();
        let mailbox = fresh_mailbox();
        let other = Mailbox::new(mailbox.app_id, unique_id());
        let changes = [
            inserts(mailbox, &IDS[..3]),
            vec![
                MailboxChange::Delete { mailbox, msg_id: IDS[1] },
                MailboxChange::MarkReadUpTo { mailbox, up_to: IDS[2] },
                MailboxChange::MarkReadUpTo { mailbox, up_to: IDS[0] },
                MailboxChange::HideBroadcast { mailbox, broadcast_id: 9 },
            ],
            inserts(other, &IDS[4..5]),
            inserts(mailbox, &IDS[3..4]),
        ]
        .concat();
        apply(store, changes).await;

        assert_eq!(read(store, mailbox, None, None, Order::Ascending, 100).await, [IDS[0], IDS[2], IDS[3]]);
        assert_eq!(
            state(store, mailbox).await,
            MailboxState { head: Some(IDS[3]), read_up_to: IDS[2], hidden_broadcasts: BTreeSet::from([9]) }
        );
        assert_eq!(read_all(store, other).await, vec![message(other, IDS[4])]);
        assert_eq!(state(store, other).await.head, Some(IDS[4]));
    }

    /// Nothing leaks between mailboxes: not to another uid of the app, not to the same uid
    /// of another app.
    pub async fn mailboxes_are_isolated(store: Arc<dyn Store>) {
        let store = store.as_ref();
        let mailbox = fresh_mailbox();
        let same_app = Mailbox::new(mailbox.app_id, unique_id());
        let same_uid = Mailbox::new(unique_id(), mailbox.uid);
        apply(
            store,
            [
                inserts(mailbox, &IDS[..3]),
                inserts(same_app, &IDS[1..2]),
                vec![
                    MailboxChange::MarkReadUpTo { mailbox: same_uid, up_to: IDS[5] },
                    MailboxChange::HideBroadcast { mailbox: same_app, broadcast_id: 3 },
                ],
            ]
            .concat(),
        )
        .await;

        assert_eq!(read(store, mailbox, None, None, Order::Ascending, 100).await, IDS[..3]);
        assert_eq!(state(store, mailbox).await, MailboxState { head: Some(IDS[2]), ..MailboxState::default() });
        assert_eq!(read_all(store, same_app).await, vec![message(same_app, IDS[1])]);
        assert_eq!(
            state(store, same_app).await,
            MailboxState { head: Some(IDS[1]), read_up_to: 0, hidden_broadcasts: BTreeSet::from([3]) }
        );
        assert!(read_all(store, same_uid).await.is_empty());
        assert_eq!(state(store, same_uid).await, MailboxState { read_up_to: IDS[5], ..MailboxState::default() });
        let leaked = store.find_delivery(same_uid, &message(mailbox, IDS[0]).dedupe_key).await.expect("find_delivery");
        assert_eq!(leaked, None);
    }

    fn content(text: &str) -> BroadcastContent {
        BroadcastContent {
            category: 1,
            kind: 2,
            priority: 3,
            business_type: 4,
            content: text.to_owned(),
            expire_at_s: 4_000_000_000,
            audience: Default::default(),
        }
    }

    fn draft(app_id: AppId, broadcast_id: BroadcastId) -> Broadcast {
        Broadcast::draft(
            app_id,
            broadcast_id,
            content(&format!("broadcast {broadcast_id}")),
            1_700_000_000_000_000 + broadcast_id,
        )
    }

    fn transitioned(broadcast: &Broadcast, actions: &[LifecycleAction], first_seq: PublicSeq) -> Broadcast {
        let mut broadcast = broadcast.clone();
        for (step, action) in actions.iter().enumerate() {
            let at_us = broadcast.updated_at_us + 1_000;
            broadcast =
                broadcast.transitioned(*action, at_us, first_seq + step as PublicSeq).expect("legal transition").0;
        }
        broadcast
    }

    async fn apply_public(store: &dyn Store, app_id: AppId, broadcast: Option<&Broadcast>, state: &PublicState) {
        store.apply_public_change(app_id, broadcast, state).await.expect("apply_public_change");
    }

    async fn public_reads(
        store: &dyn Store,
        app_id: AppId,
        ids: &[BroadcastId],
    ) -> (Vec<Option<Broadcast>>, Vec<Broadcast>, PublicState) {
        let mut each = Vec::new();
        for id in ids {
            each.push(store.broadcast(app_id, *id).await.expect("broadcast"));
        }
        let listed = store.list_broadcasts(app_id).await.expect("list_broadcasts");
        let state = store.public_state(app_id).await.expect("public_state");
        (each, listed, state)
    }

    fn whitelist(members: &[(i64, PublicSeq)]) -> Whitelist {
        Whitelist { members: members.iter().copied().collect() }
    }

    /// What `apply_public_change` stores reads back through `broadcast`, `list_broadcasts`
    /// (by numeric id, every state) and `public_state`, for that app only.
    pub async fn public_changes_read_back(store: Arc<dyn Store>) {
        let store = store.as_ref();
        let app_id = unique_id();
        let other_app = unique_id();
        assert_eq!(public_reads(store, app_id, &[3]).await, (vec![None], vec![], PublicState::default()));

        let initial = PublicState::default();
        apply_public(store, app_id, Some(&draft(app_id, 100)), &initial).await;
        apply_public(store, app_id, Some(&draft(app_id, 20)), &initial).await;
        apply_public(store, app_id, Some(&draft(app_id, 3)), &initial).await;
        let published = transitioned(&draft(app_id, 20), &[LifecycleAction::Publish], 1);
        let after_publish = PublicState { last_seq: 1, whitelist: Whitelist::default(), ..PublicState::default() };
        apply_public(store, app_id, Some(&published), &after_publish).await;
        let deleted = transitioned(&draft(app_id, 3), &[LifecycleAction::Delete], 2);
        apply_public(store, app_id, Some(&deleted), &after_publish).await;
        let with_whitelist =
            PublicState { last_seq: 2, whitelist: whitelist(&[(11, 2), (12, 2)]), ..PublicState::default() };
        apply_public(store, app_id, None, &with_whitelist).await;

        assert_eq!(
            public_reads(store, app_id, &[3, 20, 100, 4]).await,
            (
                vec![Some(deleted.clone()), Some(published.clone()), Some(draft(app_id, 100)), None],
                vec![deleted, published, draft(app_id, 100)],
                with_whitelist,
            )
        );
        assert_eq!(public_reads(store, other_app, &[20]).await, (vec![None], vec![], PublicState::default()));
    }

    /// Applying the same public change again changes nothing.
    pub async fn reapplying_a_public_change_is_idempotent(store: Arc<dyn Store>) {
        let store = store.as_ref();
        let app_id = unique_id();
        let published = transitioned(&draft(app_id, 7), &[LifecycleAction::Publish], 1);
        let state = PublicState { last_seq: 1, whitelist: whitelist(&[(5, 1)]), ..PublicState::default() };
        apply_public(store, app_id, Some(&published), &state).await;
        let once = public_reads(store, app_id, &[7]).await;
        apply_public(store, app_id, Some(&published), &state).await;
        apply_public(store, app_id, None, &state).await;
        assert_eq!(public_reads(store, app_id, &[7]).await, once);
        assert_eq!(once.1, vec![published]);
    }

    /// The app's public mailbox holds its pre-published and published broadcasts and its
    /// whitelist; drafts, stopped, recalled and deleted ones stay out.
    pub async fn load_public_mailboxes_holds_visible_broadcasts_and_whitelist(store: Arc<dyn Store>) {
        let store = store.as_ref();
        let app_id = unique_id();
        use LifecycleAction::{Delete, PrePublish, Publish, Recall, Stop};
        let broadcasts = vec![
            draft(app_id, 1),
            transitioned(&draft(app_id, 2), &[PrePublish], 1),
            transitioned(&draft(app_id, 3), &[Publish], 2),
            transitioned(&draft(app_id, 4), &[PrePublish, Publish], 3),
            transitioned(&draft(app_id, 5), &[Publish, Stop], 5),
            transitioned(&draft(app_id, 6), &[Publish, Recall], 6),
            transitioned(&draft(app_id, 7), &[Publish, Delete], 7),
            transitioned(&draft(app_id, 8), &[Delete], 8),
        ];
        let state = PublicState { last_seq: 9, whitelist: whitelist(&[(21, 1), (22, 9)]), ..PublicState::default() };
        for broadcast in &broadcasts {
            apply_public(store, app_id, Some(broadcast), &state).await;
        }

        let loaded = store.load_public_mailboxes().await.expect("load_public_mailboxes");
        let mine: Vec<&PublicMailbox> = loaded.iter().filter(|m| m.app_id == app_id).collect();
        assert_eq!(mine.len(), 1, "public mailboxes of the app: {mine:?}");
        let mailbox = mine[0];
        let mut visible: Vec<(BroadcastId, BroadcastState)> =
            mailbox.broadcasts().iter().map(|b| (b.broadcast_id, b.state)).collect();
        visible.sort_by_key(|(broadcast_id, _)| *broadcast_id);
        assert_eq!(
            visible,
            [(2, BroadcastState::PrePublished), (3, BroadcastState::Published), (4, BroadcastState::Published),]
        );
        assert_eq!(*mailbox, PublicMailbox::new(app_id, broadcasts, state.whitelist));
    }
}
