//! `tidings bench broadcast`: the public mailbox's claims, measured.
//!
//! For each user count N, on the engines the configuration names (embedded ones in a fresh
//! directory per run):
//! 1. **Public mailbox.** One broadcast is created and published. Measured: the time from
//!    the publish call until a pull shows it (projection plus the pull worker's cache
//!    refresh), then checked on a sample of users.
//! 2. **Fan-out on write.** The same message goes to every user as a private row, the way
//!    batch deliveries go: ingest batch sends of `max_batch_recipients` users each, then the
//!    projector (running as it does in a deployment). Measured: the time from the first send
//!    until the projector has durably inserted all N rows, then checked on a sample of users'
//!    pulls.
//!
//!    For both: bytes added to the store (the store's own accounting,
//!    [`tidings_ports::Store::storage_bytes`]) and events written to the log (counted by
//!    [`CountingLog`] around the configured log: deliveries, broadcast commands, notify
//!    signals).
//! 3. **Pull storm.** Many simulated users sync concurrently from random mailboxes, first
//!    with the public-mailbox cache on (refreshed on the configured interval), then with it
//!    off ([`CacheMode::Bypass`]: the public mailbox read from the store on every pull).
//!    Each twice: first syncs (no cursor: the private timeline is read too) and incremental
//!    syncs (a cursor up to date on private messages, as a client has that pulls after a
//!    broadcast). Measured: pulls/s, p50/p99 latency and reads of the public mailbox from
//!    the store.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::MultiProgress;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tidings_domain::BroadcastId;
use tidings_domain::broadcast::LifecycleAction;
use tidings_domain::client::{ClientVersion, Viewer};
use tidings_domain::message::Mailbox;
use tidings_domain::sync::{Source, SyncCursor, SyncPage};
use tidings_ingest::{BroadcastDraftRequest, SendMode, SendRequest};
use tidings_ports::Store;
use tidings_puller::{CacheMode, PublicMailboxCache, Puller};
use tokio_util::sync::CancellationToken;

use super::report::{self, Align, Latencies, Machine, Table, bytes, count, ms, ratio};
use super::{APP, Isolated, ScratchDir, StallWatch, describe_engines, join_all, progress};
use crate::config::{Config, Overrides};
use crate::server::{Pipeline, Role, open_engines};
use tidings_ports::metered::{Appended, CountingLog, MeteredStore};

#[derive(Debug, Clone, clap::Args)]
pub struct BroadcastArgs {
    /// User counts, one run each, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000, 100_000, 1_000_000])]
    users: Vec<i64>,
    /// Bytes of the message's content (the article reckons 4 KB per message).
    #[arg(long, default_value_t = 1024)]
    content_bytes: usize,
    /// Concurrent batch sends during the fan-out.
    #[arg(long, default_value_t = 32)]
    senders: usize,
    /// Users whose pulls check that a delivery reached them (besides the first and last).
    #[arg(long, default_value_t = 1_000)]
    sample: usize,
    /// Simulated users syncing concurrently in the pull storm.
    #[arg(long, default_value_t = 64)]
    pullers: usize,
    /// Seconds of pull storm, for each cache mode.
    #[arg(long, default_value_t = 10)]
    pull_seconds: u64,
    /// Messages per sync.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Before the storms, wait up to this long for the process to go quiet (an embedded
    /// store compacts what the fan-out wrote, in the background).
    #[arg(long, default_value_t = 120)]
    settle_max_seconds: u64,
    /// Where embedded engines keep their data, a folder per run [default: a fresh
    /// temporary directory, removed afterwards].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Also write the results as JSON to this file (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// What `--json` writes.
#[derive(Debug, Serialize)]
struct BroadcastReport {
    command: String,
    machine: Machine,
    engines: String,
    refresh_interval_ms: u64,
    max_batch_recipients: usize,
    content_bytes: usize,
    pullers: usize,
    pull_seconds: u64,
    runs: Vec<RunReport>,
}

#[derive(Debug, Serialize)]
struct RunReport {
    users: i64,
    public_mailbox: Reach,
    fan_out: Reach,
    /// Fan-out's cost over the public mailbox's.
    ratios: Ratios,
    /// How long the process took to go quiet (background compaction) before the storms.
    settled_after_s: f64,
    storms: Vec<Storm>,
}

/// What reaching every user once cost.
#[derive(Debug, Clone, Serialize)]
struct Reach {
    approach: &'static str,
    /// From the publish call (public) or the first send (fan-out) until every user can see
    /// the message.
    visible_after_s: f64,
    /// Public: until the publish call returned (projected). Fan-out: until every send was
    /// durably accepted by the log.
    accepted_after_s: f64,
    /// Added to the store, by its own accounting; none when the store can't tell.
    store_bytes: Option<u64>,
    log_events: u64,
    log_bytes: u64,
    /// Users whose pull showed the message (all of those checked).
    users_checked: usize,
    load_1m: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
struct Ratios {
    time: Option<f64>,
    store_bytes: Option<f64>,
    log_events: Option<f64>,
}

/// Which cursor the storm's pulls carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum SyncKind {
    /// No cursor: a new device's first sync, which reads the private timeline.
    First,
    /// A cursor up to date on private messages and before the broadcast: what a client
    /// that was in sync has when it pulls after a broadcast.
    Incremental,
}

impl SyncKind {
    fn as_str(&self) -> &'static str {
        match self {
            SyncKind::First => "first",
            SyncKind::Incremental => "incremental",
        }
    }
}

/// One pull storm.
#[derive(Debug, Clone, Serialize)]
struct Storm {
    sync: SyncKind,
    public_cache: bool,
    pullers: usize,
    seconds: f64,
    pulls: u64,
    pulls_per_second: f64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    /// Messages per pull, on average (each user has one private and one public).
    messages_per_pull: f64,
    /// Reads of the public mailbox from the store during the storm.
    public_store_reads: u64,
    public_store_reads_per_pull: f64,
    /// Reads per refresh interval of the cache (with the cache on, ideally 1).
    public_store_reads_per_interval: f64,
    load_1m: Option<f64>,
}

pub async fn run(args: BroadcastArgs, config_file: Option<&Path>) -> anyhow::Result<()> {
    let machine = Machine::describe();
    let mut config = Config::load(config_file, &Overrides::default())?;
    // The storm's "cache on" half needs the cache on, whatever the file says.
    config.puller.public_cache = true;
    anyhow::ensure!(args.users.iter().all(|n| *n >= 2), "--users: each count must be at least 2");
    anyhow::ensure!(args.content_bytes >= 1, "--content-bytes must be at least 1");
    anyhow::ensure!(args.senders >= 1 && args.pullers >= 1, "--senders and --pullers must be at least 1");
    let scratch = ScratchDir::new(args.data_dir.as_deref())?;
    let engines = describe_engines(&config);
    eprintln!("engines: {engines}; machine: {}", machine.summary());

    let mut runs = Vec::new();
    for &users in &args.users {
        let run_dir = scratch.path().join(format!("users-{users}"));
        let isolated = Isolated::new(&config, &run_dir, &users.to_string()).await?;
        eprintln!("\n== {} users ==", count(users as u64));
        let report = run_once(&isolated.config, &args, users).await.with_context(|| format!("{users} users"));
        isolated.finish().await?;
        if !scratch.keeps() {
            let _ = std::fs::remove_dir_all(&run_dir);
        }
        runs.push(report?);
    }

    let report = BroadcastReport {
        command: report::command_line(),
        machine,
        engines,
        refresh_interval_ms: config.puller.refresh_interval_ms,
        max_batch_recipients: config.ingest.max_batch_recipients,
        content_bytes: args.content_bytes,
        pullers: args.pullers,
        pull_seconds: args.pull_seconds,
        runs,
    };
    print_report(&report);
    if let Some(path) = &args.json {
        report::write_json(path, &report)?;
    }
    Ok(())
}

/// The engines of one run, wrapped in counters, with the projector and the cache refresher
/// running in the background as in a deployment.
struct Bench {
    config: Config,
    log: Arc<CountingLog>,
    store: Arc<MeteredStore>,
    pipeline: Pipeline,
    users: i64,
    content: String,
    stop: CancellationToken,
    refresher_stop: CancellationToken,
    background: tokio::task::JoinSet<anyhow::Result<()>>,
}

/// What the store and the log hold at one moment.
#[derive(Debug, Clone, Copy)]
struct Footprint {
    store_bytes: Option<u64>,
    appended: Appended,
}

async fn run_once(config: &Config, args: &BroadcastArgs, users: i64) -> anyhow::Result<RunReport> {
    let bench = Bench::start(config, args, users).await?;
    let outcome = async {
        eprintln!("public mailbox: create + publish one broadcast ...");
        let (public, broadcast_id) = bench.public_mailbox(args).await?;
        eprintln!("  visible to all after {:.3} s; {}", public.visible_after_s, footprint_line(&public));
        eprintln!("fan-out on write: {} deliveries ...", count(users as u64));
        let fan_out = bench.fan_out(args).await?;
        eprintln!("  visible to all after {:.3} s; {}", fan_out.visible_after_s, footprint_line(&fan_out));
        let ratios = Ratios {
            time: ratio(fan_out.visible_after_s, public.visible_after_s),
            store_bytes: fan_out.store_bytes.zip(public.store_bytes).and_then(|(f, p)| ratio(f as f64, p as f64)),
            log_events: ratio(fan_out.log_events as f64, public.log_events as f64),
        };
        let settled_after_s = settle(Duration::from_secs(args.settle_max_seconds)).await.as_secs_f64();
        let mut storms = Vec::new();
        for cached in [true, false] {
            for kind in [SyncKind::First, SyncKind::Incremental] {
                storms.push(bench.storm(args, cached, kind, broadcast_id).await?);
            }
        }
        anyhow::Ok(RunReport { users, public_mailbox: public, fan_out, ratios, settled_after_s, storms })
    }
    .await;
    bench.stop().await?;
    outcome
}

fn footprint_line(reach: &Reach) -> String {
    let store = reach.store_bytes.map_or_else(|| "store bytes unknown".to_owned(), |b| format!("store +{}", bytes(b)));
    format!("{store}; log +{} events ({})", count(reach.log_events), bytes(reach.log_bytes))
}

impl Bench {
    async fn start(config: &Config, args: &BroadcastArgs, users: i64) -> anyhow::Result<Self> {
        let (log, store) = open_engines(config, &Role::ALL).await?;
        let log = CountingLog::new(log);
        let store = MeteredStore::new(store);
        let pipeline = Pipeline::assemble(config, log.clone(), store.clone());
        let stop = CancellationToken::new();
        let refresher_stop = stop.child_token();
        let mut background = tokio::task::JoinSet::new();
        let projector = pipeline.projector.clone();
        let projector_stop = stop.clone();
        background.spawn(async move { projector.run(projector_stop).await.context("projector") });
        pipeline.public.refresh().await.context("loading the public mailbox")?;
        let refresher = pipeline.public.clone().run(config.puller.refresh_interval(), refresher_stop.clone());
        background.spawn(async move {
            refresher.await;
            Ok(())
        });
        let content = content(args.content_bytes);
        Ok(Self { config: config.clone(), log, store, pipeline, users, content, stop, refresher_stop, background })
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        self.stop.cancel();
        while let Some(done) = self.background.join_next().await {
            done.context("background task panicked")??;
        }
        Ok(())
    }

    async fn footprint(&self) -> anyhow::Result<Footprint> {
        let store_bytes = self.store.storage_bytes().await.context("measuring the store")?;
        Ok(Footprint { store_bytes, appended: self.log.appended() })
    }

    fn reach(&self, approach: &'static str, before: Footprint, after: Footprint) -> Reach {
        let appended = after.appended - before.appended;
        Reach {
            approach,
            visible_after_s: 0.0,
            accepted_after_s: 0.0,
            store_bytes: after.store_bytes.zip(before.store_bytes).map(|(a, b)| a.saturating_sub(b)),
            log_events: appended.events,
            log_bytes: appended.bytes,
            users_checked: 0,
            load_1m: report::load_now(),
        }
    }

    async fn sync(&self, puller: &Puller, uid: i64, limit: usize) -> anyhow::Result<SyncPage> {
        let viewer = Viewer { uid, guest: false, version: ClientVersion::default() };
        Ok(puller.sync(Mailbox::new(APP, uid), &viewer, SyncCursor::default(), limit).await?)
    }

    /// The users whose pulls check a delivery: the first, the last and a random sample.
    fn sample(&self, size: usize) -> BTreeSet<i64> {
        let mut rng = SmallRng::seed_from_u64(self.users as u64);
        let mut sample: BTreeSet<i64> = [1, self.users].into();
        let wanted = (size + 2).min(self.users as usize);
        while sample.len() < wanted {
            sample.insert(rng.random_range(1..=self.users));
        }
        sample
    }

    /// Checks that every sampled user's pull shows what `seen` looks for.
    async fn check_sample(&self, size: usize, seen: impl Fn(&SyncPage) -> bool) -> anyhow::Result<usize> {
        let sample = self.sample(size);
        for &uid in &sample {
            let page = self.sync(&self.pipeline.puller, uid, self.config.puller.max_limit).await?;
            anyhow::ensure!(seen(&page), "user {uid}'s pull does not show the message: {:?}", page.messages);
        }
        Ok(sample.len())
    }

    async fn public_mailbox(&self, args: &BroadcastArgs) -> anyhow::Result<(Reach, BroadcastId)> {
        let ingest = &self.pipeline.ingest;
        let before = self.footprint().await?;
        let draft = BroadcastDraftRequest::text(self.content.clone(), tidings_domain::time::now_s() + 24 * 3600);
        let created = ingest.create_broadcast(APP, &draft).await?;
        anyhow::ensure!(created.projected, "the projector did not project the new broadcast in time");
        let id = created.broadcast.broadcast_id;

        let started = Instant::now();
        let published = ingest.broadcast_action(APP, id, LifecycleAction::Publish).await?;
        let accepted_after = started.elapsed();
        anyhow::ensure!(published.projected, "the projector did not project the publication in time");
        let shows = |page: &SyncPage| page.messages.iter().any(|m| m.broadcast_id == Some(id));
        let bar = progress::timer(VISIBILITY_TIMEOUT, "public", &MultiProgress::new());
        bar.set_message("waiting for a pull to show it");
        loop {
            if shows(&self.sync(&self.pipeline.puller, 1, args.limit).await?) {
                break;
            }
            anyhow::ensure!(started.elapsed() < VISIBILITY_TIMEOUT, "no pull showed the broadcast within the timeout");
            bar.set_position(started.elapsed().as_millis() as u64);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let visible_after = started.elapsed();
        bar.finish_and_clear();
        let checked = self.check_sample(args.sample, shows).await?;
        let after = self.footprint().await?;
        let reach = Reach {
            visible_after_s: visible_after.as_secs_f64(),
            accepted_after_s: accepted_after.as_secs_f64(),
            users_checked: checked,
            ..self.reach("public mailbox", before, after)
        };
        Ok((reach, id))
    }

    async fn fan_out(&self, args: &BroadcastArgs) -> anyhow::Result<Reach> {
        let before = self.footprint().await?;
        let inserted_before = self.store.inserted();
        let users = self.users as u64;
        let batch = self.pipeline.ingest.settings().max_batch_recipients as u64;
        let sends = users.div_ceil(batch);
        let bars = MultiProgress::new();
        let sent_bar = progress::counter(users, "sent", "deliveries", &bars);
        let projected_bar = progress::counter(users, "projected", "rows", &bars);

        let started = Instant::now();
        let next = Arc::new(AtomicU64::new(0));
        let mut senders = tokio::task::JoinSet::new();
        for _ in 0..args.senders {
            let next = next.clone();
            let ingest = self.pipeline.ingest.clone();
            let content = self.content.clone();
            let bar = sent_bar.clone();
            senders.spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let send = next.fetch_add(1, Ordering::Relaxed);
                    if send >= sends {
                        break;
                    }
                    let uids: Vec<i64> =
                        (send * batch + 1..=((send + 1) * batch).min(users)).map(|u| u as i64).collect();
                    let recipients = uids.len() as u64;
                    let request = SendRequest::text(SendMode::Batch, 0, uids, content.clone());
                    let sent = Instant::now();
                    ingest.send(APP, &request).await?;
                    latencies.push(sent.elapsed());
                    bar.inc(recipients);
                }
                anyhow::Ok((0, latencies))
            });
        }
        let mut accepted_after = None;
        let mut send_latencies = Vec::with_capacity(sends as usize);
        let mut stall = StallWatch::start();
        loop {
            let projected = self.store.inserted() - inserted_before;
            projected_bar.set_position(projected);
            if projected >= users {
                break;
            }
            stall.check(projected, users)?;
            if accepted_after.is_none() && senders.is_empty() {
                accepted_after = Some(started.elapsed());
            }
            while let Some(done) = senders.try_join_next() {
                send_latencies.append(&mut done.context("a sender panicked")??.1);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let visible_after = started.elapsed();
        send_latencies.append(&mut join_all(senders).await?.1);
        let accepted_after = accepted_after.unwrap_or(visible_after);
        sent_bar.finish_and_clear();
        projected_bar.finish_and_clear();
        let send_latencies = Latencies::new(send_latencies);
        eprintln!(
            "  {} batch sends, p50 {} ms, p99 {} ms; all durable after {:.3} s",
            count(sends),
            ms(send_latencies.p50_ms()),
            ms(send_latencies.p99_ms()),
            accepted_after.as_secs_f64()
        );
        let content_len = self.content.len();
        let shows = |page: &SyncPage| {
            page.messages.iter().any(|m| m.source == Source::Private && m.content.len() == content_len)
        };
        let checked = self.check_sample(args.sample, shows).await?;
        let after = self.footprint().await?;
        Ok(Reach {
            visible_after_s: visible_after.as_secs_f64(),
            accepted_after_s: accepted_after.as_secs_f64(),
            users_checked: checked,
            ..self.reach("fan-out on write", before, after)
        })
    }

    /// Pulls from random users for `args.pull_seconds`, from `args.pullers` tasks.
    async fn storm(
        &self,
        args: &BroadcastArgs,
        cached: bool,
        kind: SyncKind,
        broadcast_id: BroadcastId,
    ) -> anyhow::Result<Storm> {
        let store: Arc<dyn Store> = self.store.clone();
        let puller = if cached {
            self.pipeline.puller.clone()
        } else {
            // Only the bypassing cache reads the store now: stop the refresher.
            self.refresher_stop.cancel();
            Puller::new(store.clone(), Arc::new(PublicMailboxCache::new(store, CacheMode::Bypass)))
        };
        let label = if cached { "cache on" } else { "cache off" };
        eprintln!(
            "pull storm, {label}, {} syncs: {} users pulling for {} s ...",
            kind.as_str(),
            args.pullers,
            args.pull_seconds
        );
        let cursor = match kind {
            SyncKind::First => SyncCursor::default(),
            // Every private message so far was stamped before now.
            SyncKind::Incremental => SyncCursor { private_after: tidings_domain::time::now_us(), public_after: 0 },
        };
        let duration = Duration::from_secs(args.pull_seconds);
        let bar = progress::timer(duration, label, &MultiProgress::new());
        let pulls = Arc::new(AtomicU64::new(0));
        let reads_before = self.store.public_reads();
        let started = Instant::now();
        let deadline = started + duration;
        let mut workers = tokio::task::JoinSet::new();
        for worker in 0..args.pullers {
            let (puller, pulls) = (puller.clone(), pulls.clone());
            let (users, limit) = (self.users, args.limit);
            workers.spawn(async move {
                let mut rng = SmallRng::seed_from_u64(worker as u64);
                let mut latencies = Vec::with_capacity(1 << 16);
                let mut messages = 0u64;
                while Instant::now() < deadline {
                    let uid = rng.random_range(1..=users);
                    let viewer = Viewer { uid, guest: false, version: ClientVersion::default() };
                    let pulled = Instant::now();
                    let page = puller.sync(Mailbox::new(APP, uid), &viewer, cursor, limit).await?;
                    latencies.push(pulled.elapsed());
                    anyhow::ensure!(
                        page.messages.iter().any(|m| m.broadcast_id == Some(broadcast_id)),
                        "user {uid}'s pull lacks the broadcast"
                    );
                    messages += page.messages.len() as u64;
                    pulls.fetch_add(1, Ordering::Relaxed);
                    // Each simulated user is its own task: let the others run between pulls.
                    tokio::task::yield_now().await;
                }
                anyhow::Ok((messages, latencies))
            });
        }
        let ticker = async {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let elapsed = started.elapsed();
                bar.set_position(elapsed.as_millis() as u64);
                let rate = pulls.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64();
                bar.set_message(format!("{} pulls/s", count(rate as u64)));
            }
        };
        let (messages, latencies) = tokio::select! {
            joined = join_all(workers) => joined?,
            () = ticker => unreachable!("the ticker never ends"),
        };
        let elapsed = started.elapsed();
        bar.finish_and_clear();
        let reads = self.store.public_reads() - reads_before;
        let latencies = Latencies::new(latencies);
        let pulls = latencies.len() as u64;
        let intervals = elapsed.as_secs_f64() / self.config.puller.refresh_interval().as_secs_f64();
        let storm = Storm {
            sync: kind,
            public_cache: cached,
            pullers: args.pullers,
            seconds: elapsed.as_secs_f64(),
            pulls,
            pulls_per_second: pulls as f64 / elapsed.as_secs_f64(),
            p50_ms: latencies.p50_ms(),
            p99_ms: latencies.p99_ms(),
            messages_per_pull: messages as f64 / pulls.max(1) as f64,
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

/// Waits until this process uses less than a tenth of a core over a second (or `max` has
/// passed), and says how long that took. Engines that run inside the process (the embedded
/// store's compaction of what the fan-out wrote) would otherwise take the storm's CPU.
async fn settle(max: Duration) -> Duration {
    const QUIET_CORES: f64 = 0.1;
    let started = Instant::now();
    let bar = progress::timer(max, "settling", &MultiProgress::new());
    let mut last = cpu_seconds();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = cpu_seconds();
        let busy = now.zip(last).map(|(now, last)| now - last);
        last = now;
        bar.set_position(started.elapsed().as_millis() as u64);
        if let Some(busy) = busy {
            bar.set_message(format!("the process uses {:.0}% of a core", busy * 100.0));
        }
        if busy.is_none_or(|busy| busy < QUIET_CORES) || started.elapsed() >= max {
            break;
        }
    }
    bar.finish_and_clear();
    let waited = started.elapsed();
    eprintln!("settled after {:.1} s (background work of the engines done)", waited.as_secs_f64());
    waited
}

/// CPU seconds this process has used (Linux `/proc/self/stat`, in USER_HZ = 100 ticks).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command (which may hold spaces) from the 3rd on; utime and stime
    // are the 14th and 15th.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}

const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(60);

/// `len` bytes of random letters and digits: not compressible to nothing, like real text.
fn content(len: usize) -> String {
    let mut rng = SmallRng::seed_from_u64(len as u64);
    (0..len).map(|_| char::from(rng.sample(rand::distr::Alphanumeric))).collect()
}

fn print_report(report: &BroadcastReport) {
    let load = |load: Option<f64>| load.map_or_else(|| "-".to_owned(), |l| format!("{l:.2}"));
    let mut reach = Table::new(&[
        ("users", Align::Right),
        ("approach", Align::Left),
        ("accepted after", Align::Right),
        ("visible to all after", Align::Right),
        ("store bytes added", Align::Right),
        ("per user", Align::Right),
        ("log events", Align::Right),
        ("log bytes", Align::Right),
        ("users checked", Align::Right),
        ("load 1m", Align::Right),
    ]);
    let mut ratios = Table::new(&[
        ("users", Align::Right),
        ("time: fan-out / public", Align::Right),
        ("store bytes: fan-out / public", Align::Right),
        ("log events: fan-out / public", Align::Right),
    ]);
    let mut storms = Table::new(&[
        ("users", Align::Right),
        ("sync", Align::Left),
        ("public cache", Align::Left),
        ("pulls", Align::Right),
        ("pulls/s", Align::Right),
        ("p50 ms", Align::Right),
        ("p99 ms", Align::Right),
        ("msgs/pull", Align::Right),
        ("public-mailbox store reads", Align::Right),
        ("per pull", Align::Right),
        ("per refresh interval", Align::Right),
        ("load 1m", Align::Right),
    ]);
    let times = |r: Option<f64>| r.map_or_else(|| "-".to_owned(), |r| format!("{r:.1}x"));
    for run in &report.runs {
        let users = count(run.users as u64);
        for r in [&run.public_mailbox, &run.fan_out] {
            reach.row(vec![
                users.clone(),
                r.approach.to_owned(),
                format!("{:.3} s", r.accepted_after_s),
                format!("{:.3} s", r.visible_after_s),
                r.store_bytes.map_or_else(|| "n/a".to_owned(), bytes),
                r.store_bytes.map_or_else(|| "n/a".to_owned(), |b| format!("{:.1} B", b as f64 / run.users as f64)),
                count(r.log_events),
                bytes(r.log_bytes),
                count(r.users_checked as u64),
                load(r.load_1m),
            ]);
        }
        ratios.row(vec![
            users.clone(),
            times(run.ratios.time),
            times(run.ratios.store_bytes),
            times(run.ratios.log_events),
        ]);
        for s in &run.storms {
            storms.row(vec![
                users.clone(),
                s.sync.as_str().to_owned(),
                if s.public_cache { "on" } else { "off" }.to_owned(),
                count(s.pulls),
                count(s.pulls_per_second.round() as u64),
                ms(s.p50_ms),
                ms(s.p99_ms),
                format!("{:.1}", s.messages_per_pull),
                count(s.public_store_reads),
                format!("{:.4}", s.public_store_reads_per_pull),
                if s.public_cache { format!("{:.2}", s.public_store_reads_per_interval) } else { "-".to_owned() },
                load(s.load_1m),
            ]);
        }
    }
    println!();
    println!("Reaching every user with one message ({} B of content):", report.content_bytes);
    println!();
    println!("{}", reach.render());
    println!("accepted: public, the publish call returned (projected); fan-out, every batch send durably in the log.");
    println!("visible: public, a pull showed it (projection + cache refresh); fan-out, the projector stored all rows.");
    println!();
    println!("What fan-out on write costs, in multiples of the public mailbox:");
    println!();
    println!("{}", ratios.render());
    println!(
        "Pull storm: {} simulated users syncing for {} s per mode, public cache refreshed every {} ms:",
        report.pullers, report.pull_seconds, report.refresh_interval_ms
    );
    println!();
    println!("{}", storms.render());
    println!("first: syncs without a cursor (the private timeline is read); incremental: a cursor up to date");
    println!("on private messages, before the broadcast. Store reads: loads of the public mailbox from the store.");
    println!();
    println!("engines: {}", report.engines);
    println!("machine: {}", report.machine.summary());
}
