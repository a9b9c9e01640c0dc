//! Checks of the [`LogHistory`](crate::history::LogHistory) contract: extents, reads
//! outside groups, and groups' positions read and moved.

use std::sync::Arc;

use crate::conformance::harness::payloads;
use crate::conformance::{poll_until, positions, record, unique_name};
use crate::history::LogHistory;
use crate::log::RecordPosition;

/// Appends `count` records under one key to a fresh topic; returns the topic.
async fn topic_with_records(log: &dyn LogHistory, count: usize) -> String {
    let topic = unique_name("history");
    let records = (0..count).map(|n| record(&topic, "one-key", format!("record {n}"))).collect();
    log.append(records).await.expect("append");
    topic
}

/// The partition holding the records of a [`topic_with_records`] topic.
async fn the_written_partition(log: &dyn LogHistory, topic: &str) -> crate::history::PartitionExtent {
    let extents = log.partitions(topic).await.expect("partitions");
    assert!(!extents.is_empty(), "no partitions listed for {topic}");
    let partitions: Vec<i32> = extents.iter().map(|extent| extent.partition).collect();
    assert_eq!(partitions, (0..extents.len() as i32).collect::<Vec<_>>(), "partitions in order");
    let written: Vec<_> = extents.into_iter().filter(|extent| extent.end > extent.earliest).collect();
    assert_eq!(written.len(), 1, "one key, one partition: {written:?}");
    written.into_iter().next().expect("one")
}

pub async fn partitions_cover_what_was_appended_and_reads_return_ranges(log: Arc<dyn LogHistory>) {
    assert!(log.partitions(&unique_name("absent")).await.expect("partitions").is_empty());
    let topic = topic_with_records(log.as_ref(), 5).await;
    let extent = the_written_partition(log.as_ref(), &topic).await;
    assert_eq!(extent.end - extent.earliest, 5, "{extent:?}");

    let all = log.read(&topic, extent.partition, extent.earliest, extent.end, 100).await.expect("read");
    assert_eq!(payloads(&all), (0..5).map(|n| format!("record {n}")).collect::<Vec<_>>());
    let offsets: Vec<i64> = all.iter().map(|record| record.position.offset).collect();
    assert_eq!(offsets, (extent.earliest..extent.end).collect::<Vec<_>>());

    let middle = log.read(&topic, extent.partition, extent.earliest + 1, extent.earliest + 3, 100).await.expect("read");
    assert_eq!(payloads(&middle), ["record 1", "record 2"]);
    let capped = log.read(&topic, extent.partition, extent.earliest, extent.end, 2).await.expect("read");
    assert!(!capped.is_empty() && capped.len() <= 2, "{capped:?}");
    assert_eq!(capped[0].position.offset, extent.earliest);
}

pub async fn reading_history_moves_no_group(log: Arc<dyn LogHistory>) {
    let topic = topic_with_records(log.as_ref(), 3).await;
    let extent = the_written_partition(log.as_ref(), &topic).await;
    let group = unique_name("history-group");
    log.read(&topic, extent.partition, extent.earliest, extent.end, 100).await.expect("read");
    let committed = log.committed(&group, &topic).await.expect("committed");
    assert!(committed.iter().all(|position| position.next.is_none()), "{committed:?}");
    let mut member = log.subscribe(&group, std::slice::from_ref(&topic)).await.expect("subscribe");
    assert_eq!(poll_until(member.as_mut(), 3, "a group after a read").await.len(), 3);
}

pub async fn committed_positions_follow_commits_and_can_be_set(log: Arc<dyn LogHistory>) {
    let topic = topic_with_records(log.as_ref(), 4).await;
    let extent = the_written_partition(log.as_ref(), &topic).await;
    let group = unique_name("history-group");
    {
        let mut member = log.subscribe(&group, std::slice::from_ref(&topic)).await.expect("subscribe");
        let records = poll_until(member.as_mut(), 4, "the group's first poll").await;
        member.commit(&positions(&records[..2])).await.expect("commit");
        let committed = log.committed(&group, &topic).await.expect("committed");
        let of_partition = committed.iter().find(|position| position.partition == extent.partition);
        assert_eq!(of_partition.and_then(|position| position.next), Some(extent.earliest + 2), "{committed:?}");
    }
    // Once the member left, the group can be moved, and a new member starts there.
    let deadline = std::time::Instant::now() + crate::conformance::PATIENCE;
    while log.live_members(&group).await.expect("members") > 0 {
        assert!(std::time::Instant::now() < deadline, "the dropped member never left {group}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let next = RecordPosition { topic: topic.clone(), partition: extent.partition, offset: extent.earliest + 3 };
    log.set_committed(&group, &[next]).await.expect("set committed");
    let committed = log.committed(&group, &topic).await.expect("committed");
    let of_partition = committed.iter().find(|position| position.partition == extent.partition);
    assert_eq!(of_partition.and_then(|position| position.next), Some(extent.earliest + 3));
    let mut member = log.subscribe(&group, std::slice::from_ref(&topic)).await.expect("subscribe");
    assert_eq!(payloads(&poll_until(member.as_mut(), 1, "after the move").await), ["record 3"]);
}
