//! The pull storms of `tidings-bench broadcast`: syncs with the public-mailbox cache on,
//! then off, and what each cost the store; with the cache on, with reach counting on and
//! off in turn (the counter flushed to the log as a pull worker's is), and with the
//! broadcast plain, templated, and templated with users' attributes.

use std::sync::Arc;
use std::time::Duration;

use tidings_domain::BroadcastId;
use tidings_domain::sync::SyncCursor;
use tidings_events::EventCodec;
use tidings_ports::Store;
use tidings_ports::{EventLog, Topics};
use tidings_puller::{CacheMode, PublicMailboxCache, Puller, run_reach_flush};
use tidings_reach::ReachCounter;
use tokio_util::sync::CancellationToken;

use super::BroadcastArgs;
use super::harness::Bench;
use super::report::{Content, Storm, SyncKind};
use crate::pull_storm::PullStorm;
use crate::report::{self, count, ms};

impl Bench {
    /// Pulls from random users for `args.pull_seconds`, from `args.pullers` tasks; each
    /// pull must show the broadcast. With `reach`, the pulls count reach into a counter of
    /// the storm's own, which a flush task appends to the log every
    /// `puller.reach_flush_interval` meanwhile.
    pub async fn storm(
        &self,
        args: &BroadcastArgs,
        cached: bool,
        reach: bool,
        kind: SyncKind,
        content: Content,
        broadcast_id: BroadcastId,
    ) -> anyhow::Result<Storm> {
        let store: Arc<dyn Store> = self.pipeline.store.clone();
        let mut puller = if cached {
            Puller::new(store.clone(), self.pipeline.public.clone())
        } else {
            // Only the bypassing cache reads the store now: stop the refresh.
            self.pipeline.stop_refresh();
            Puller::new(store.clone(), Arc::new(PublicMailboxCache::new(store, CacheMode::Bypass)))
        };
        let flushing = CancellationToken::new();
        let flush = reach.then(|| {
            let counter = Arc::new(ReachCounter::new());
            puller = puller.clone().with_reach(counter.clone());
            let log: Arc<dyn EventLog> = self.pipeline.log.clone();
            let topics = Topics::with_prefix(&self.pipeline.config.topics.prefix);
            let interval = self.pipeline.config.puller.reach_flush_interval;
            tokio::spawn(run_reach_flush(counter, log, EventCodec::new(), topics, interval, flushing.clone()))
        });
        let label = match (cached, reach) {
            (true, true) => "cache on, reach on",
            (true, false) => "cache on, reach off",
            (false, _) => "cache off",
        };
        eprintln!(
            "pull storm, {label}, {} syncs of a {} broadcast: {} users pulling for {} s ...",
            kind.as_str(),
            content.as_str(),
            args.pullers,
            args.pull_seconds
        );
        let cursor = match kind {
            SyncKind::First => SyncCursor::default(),
            // Every private message so far was stamped before now.
            SyncKind::Incremental => SyncCursor { private_after: tidings_domain::time::now_us(), public_after: 0 },
        };
        let storm = PullStorm {
            puller,
            users: self.users,
            pullers: args.pullers,
            duration: Duration::from_secs(args.pull_seconds),
            limit: args.limit,
            cursor,
            must_show: Some(broadcast_id),
        };
        let reads_before = self.pipeline.store.public_reads();
        let outcome = storm.run(label).await?;
        flushing.cancel();
        if let Some(flush) = flush {
            flush.await?;
        }
        let reads = self.pipeline.store.public_reads() - reads_before;
        let elapsed = outcome.elapsed.as_secs_f64();
        let pulls = outcome.latencies.len() as u64;
        let intervals = elapsed / self.pipeline.config.puller.refresh_interval.as_secs_f64();
        let storm = Storm {
            sync: kind,
            content,
            public_cache: cached,
            reach_counting: reach,
            pullers: args.pullers,
            seconds: elapsed,
            pulls,
            pulls_per_second: pulls as f64 / elapsed,
            p50_ms: outcome.latencies.p50_ms(),
            p99_ms: outcome.latencies.p99_ms(),
            messages_per_pull: outcome.messages as f64 / pulls.max(1) as f64,
            public_store_reads: reads,
            public_store_reads_per_pull: reads as f64 / pulls.max(1) as f64,
            public_store_reads_per_interval: reads as f64 / intervals,
            load_1m: report::load_now(),
        };
        eprintln!(
            "  {} pulls/s, p50 {} ms, p99 {} ms; {} public-mailbox store reads",
            count(storm.pulls_per_second as u64),
            ms(storm.p50_ms),
            ms(storm.p99_ms),
            count(reads)
        );
        Ok(storm)
    }
}
