//! `tidings-bench broadcast`: the public mailbox's claims, measured.
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
//!    [`tidings_testkit::CountingLog`] around the configured log: deliveries, broadcast commands, notify
//!    signals).
//! 3. **Pull storm.** Many simulated users sync concurrently from random mailboxes, first
//!    with the public-mailbox cache on (refreshed on the configured interval), then with it
//!    off ([`tidings_puller::CacheMode::Bypass`]: the public mailbox read from the store on every pull).
//!    Each twice: first syncs (no cursor: the private timeline is read too) and incremental
//!    syncs (a cursor up to date on private messages, as a client has that pulls after a
//!    broadcast). Measured: pulls/s, p50/p99 latency and reads of the public mailbox from
//!    the store. With the cache on, storms with reach counting off and on alternate
//!    (`--reach-rounds` of each), and a table gives what counting cost. Then the broadcast
//!    becomes a template (a greeting reading the user's nickname, then the same content),
//!    stormed; then every user gets a nickname, stormed again; a table gives what
//!    personalizing cost against the plain storms.

mod harness;
mod personalized;
mod reach;
mod report;
mod storm;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use tidings_server::engines::Engines;
use tidings_server::{Config, Overrides};

use self::harness::Bench;
use self::report::{BroadcastReport, Content, Ratios, RunReport, SyncKind, print_report};
use crate::namespace::{BenchNamespace, ScratchDir};
use crate::report::{Machine, count, ratio, write_json};
use crate::waits::settle;

#[derive(Debug, Clone, clap::Args)]
pub struct BroadcastArgs {
    /// User counts, one run each, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000, 100_000, 1_000_000])]
    pub users: Vec<i64>,
    /// Bytes of the message's content (the article reckons 4 KB per message).
    #[arg(long, default_value_t = 1024)]
    pub content_bytes: usize,
    /// Concurrent batch sends during the fan-out.
    #[arg(long, default_value_t = 32)]
    pub senders: usize,
    /// Users whose pulls check that a delivery reached them (besides the first and last).
    #[arg(long, default_value_t = 1_000)]
    pub sample: usize,
    /// Simulated users syncing concurrently in the pull storm.
    #[arg(long, default_value_t = 64)]
    pub pullers: usize,
    /// Seconds of pull storm, for each cache mode.
    #[arg(long, default_value_t = 10)]
    pub pull_seconds: u64,
    /// With the cache on, how many storms of each sync kind with reach counting off and
    /// as many on, alternately (docs/design.md#reach).
    #[arg(long, default_value_t = 2)]
    pub reach_rounds: usize,
    /// Messages per sync.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Before the storms, wait up to this long for the process to go quiet (an embedded
    /// store compacts what the fan-out wrote, in the background).
    #[arg(long, default_value_t = 120)]
    pub settle_max_seconds: u64,
    /// Where embedded engines keep their data, a folder per run [default: a fresh
    /// temporary directory, removed afterwards].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Also write the results as JSON to this file (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

pub async fn run(args: BroadcastArgs, config_file: Option<&Path>) -> anyhow::Result<()> {
    let machine = Machine::describe();
    let mut config = Config::load(config_file, &Overrides::default())?;
    // The storm's "cache on" half needs the cache on, whatever the file says.
    config.puller.public_cache = true;
    anyhow::ensure!(args.users.iter().all(|n| *n >= 2), "--users: each count must be at least 2");
    anyhow::ensure!(args.content_bytes >= 1, "--content-bytes must be at least 1");
    anyhow::ensure!(args.senders >= 1 && args.pullers >= 1, "--senders and --pullers must be at least 1");
    anyhow::ensure!(args.reach_rounds >= 1, "--reach-rounds must be at least 1");
    let scratch = ScratchDir::new(args.data_dir.as_deref())?;
    let engines = Engines::describe(&config);
    eprintln!("engines: {engines}; machine: {}", machine.summary());

    let mut runs = Vec::new();
    for &users in &args.users {
        let run_dir = scratch.path().join(format!("users-{users}"));
        let namespace = BenchNamespace::create(&config, &run_dir, &users.to_string()).await?;
        eprintln!("\n== {} users ==", count(users as u64));
        let report = run_once(&namespace.config, &args, users).await.with_context(|| format!("{users} users"));
        namespace.drop_keyspace().await?;
        if !scratch.keeps() {
            let _ = std::fs::remove_dir_all(&run_dir);
        }
        runs.push(report?);
    }

    let report = BroadcastReport {
        command: crate::report::command_line(),
        machine,
        engines,
        refresh_interval_ms: config.puller.refresh_interval.as_millis() as u64,
        max_batch_recipients: config.ingest.max_batch_recipients,
        content_bytes: args.content_bytes,
        pullers: args.pullers,
        pull_seconds: args.pull_seconds,
        runs,
    };
    print_report(&report);
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    Ok(())
}

async fn run_once(config: &Config, args: &BroadcastArgs, users: i64) -> anyhow::Result<RunReport> {
    let bench = Bench::start(config, args, users).await?;
    let outcome = async {
        eprintln!("public mailbox: create + publish one broadcast ...");
        let (public, broadcast_id) = bench.public_mailbox(args).await?;
        eprintln!("  visible to all after {:.3} s; {}", public.visible_after_s, public.footprint_line());
        eprintln!("fan-out on write: {} deliveries ...", count(users as u64));
        let fan_out = bench.fan_out(args).await?;
        eprintln!("  visible to all after {:.3} s; {}", fan_out.visible_after_s, fan_out.footprint_line());
        let ratios = Ratios {
            time: ratio(fan_out.visible_after_s, public.visible_after_s),
            store_bytes: fan_out.store_bytes.zip(public.store_bytes).and_then(|(f, p)| ratio(f as f64, p as f64)),
            log_events: ratio(fan_out.log_events as f64, public.log_events as f64),
        };
        let settled_after_s = settle(Duration::from_secs(args.settle_max_seconds)).await.as_secs_f64();
        let mut storms = Vec::new();
        for kind in [SyncKind::First, SyncKind::Incremental] {
            // Reach off and on in turn, so that drift of the machine (other load, compaction)
            // falls on both alike.
            for round in 0..2 * args.reach_rounds {
                storms.push(bench.storm(args, true, round % 2 == 1, kind, Content::Plain, broadcast_id).await?);
            }
        }
        eprintln!("personalized: the broadcast becomes a template ...");
        bench.rewrite(args, broadcast_id, true).await?;
        for kind in [SyncKind::First, SyncKind::Incremental] {
            storms.push(bench.storm(args, true, false, kind, Content::Template, broadcast_id).await?);
        }
        eprintln!("personalized: every user gets a nickname ...");
        bench.set_nicknames(args).await?;
        for kind in [SyncKind::First, SyncKind::Incremental] {
            storms.push(bench.storm(args, true, false, kind, Content::TemplateWithAttributes, broadcast_id).await?);
        }
        // Last, plain again: the bypassing cache stops the refresh for good.
        bench.rewrite(args, broadcast_id, false).await?;
        for kind in [SyncKind::First, SyncKind::Incremental] {
            storms.push(bench.storm(args, false, false, kind, Content::Plain, broadcast_id).await?);
        }
        anyhow::Ok(RunReport { users, public_mailbox: public, fan_out, ratios, settled_after_s, storms })
    }
    .await;
    bench.pipeline.stop().await?;
    outcome
}
