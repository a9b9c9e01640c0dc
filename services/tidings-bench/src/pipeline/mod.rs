//! `tidings-bench pipeline`: the hot paths, measured on the engines the configuration names
//! (embedded ones by default), and printed as a table.
//!
//! Phases, in one fresh namespace (see [`BenchNamespace`]):
//! 1. ingest: concurrent batch sends, each acknowledged once its events are durable in the
//!    log;
//! 2. projection: `--projectors` instances of the projector in one consumer group drain
//!    what ingest wrote into the store;
//! 3. broadcasts: some are created and published, and the public cache refreshed;
//! 4. pulls: concurrent merged syncs (private page + cached public mailbox) of random users.
//!
//! With `--ceilings`, the engines' raw rates on the same machine come beside: Kafka's own
//! producer benchmark with the records ingest wrote (count and mean size), and a loop of
//! plain prepared inserts into the CQL store with as many rows as projection wrote. Each
//! Tidings figure then reads as a share of its engine's ceiling.

mod ceilings;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::MultiProgress;
use serde::Serialize;
use tidings_domain::message::SendMode;
use tidings_domain::sync::SyncCursor;
use tidings_ingest::{BroadcastDraft, SendCommand};
use tidings_server::engines::{Engines, LogConfig, StoreConfig};
use tidings_server::{Config, Overrides};
use tidings_testkit::CountingStore;
use tidings_testkit::cql_ceiling::InsertLoad;

use self::ceilings::{cql_ceiling, kafka_ceiling};
use crate::namespace::{BenchNamespace, ScratchDir};
use crate::pull_storm::{PullStorm, join_counts};
use crate::report::{Align, Latencies, Machine, Table, count, ms, write_json};
use crate::running::RunningPipeline;
use crate::waits::StallWatch;
use crate::{APP, bench_actor, progress};

#[derive(Debug, Clone, clap::Args)]
pub struct PipelineArgs {
    /// Users (mailboxes) in the app.
    #[arg(long, default_value_t = 2_000)]
    users: i64,
    /// Private messages delivered to each user.
    #[arg(long, default_value_t = 25)]
    messages_per_user: usize,
    /// Published broadcasts in the public mailbox.
    #[arg(long, default_value_t = 10)]
    broadcasts: usize,
    /// Concurrent senders and pullers (and CQL inserts in flight for the ceiling).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Projector instances in one consumer group (more than one needs Kafka: each embedded
    /// consumer reads every partition).
    #[arg(long, default_value_t = 1)]
    projectors: usize,
    /// How long the pull phase runs, in seconds.
    #[arg(long, default_value_t = 10)]
    pull_seconds: u64,
    /// Messages per sync.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Also measure the raw rates of the configured Kafka and CQL store (embedded engines
    /// have none to compare with).
    #[arg(long)]
    ceilings: bool,
    /// The command that runs Kafka's ProducerPerformance tool with the arguments it is given.
    #[arg(long, value_name = "COMMAND", default_value = "infra/kafka/producer-perf.sh")]
    pub kafka_perf_command: PathBuf,
    /// Where embedded engines keep their data [default: a fresh temporary directory,
    /// removed afterwards].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Also write the results as JSON to this file (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// One row of the result table.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    pub phase: String,
    pub operations: u64,
    pub unit: &'static str,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// This rate over the engine's raw rate (a ceiling row's `per_second`), when measured.
    pub of_ceiling: Option<f64>,
}

/// What `--json` writes.
#[derive(Debug, Serialize)]
struct PipelineReport {
    command: String,
    machine: Machine,
    engines: String,
    projectors: usize,
    rows: Vec<BenchRow>,
}

pub async fn run(args: PipelineArgs, config_file: Option<&Path>) -> anyhow::Result<()> {
    let machine = Machine::describe();
    let config = Config::load(config_file, &Overrides::default())?;
    anyhow::ensure!(
        args.users >= 1 && args.messages_per_user >= 1,
        "--users and --messages-per-user must be at least 1"
    );
    anyhow::ensure!(args.concurrency >= 1, "--concurrency must be at least 1");
    anyhow::ensure!(
        args.projectors == 1 || matches!(config.log, LogConfig::Kafka(_)),
        "--projectors above 1 needs log.provider = \"kafka\": embedded consumers each read every partition"
    );
    anyhow::ensure!(args.projectors >= 1, "--projectors must be at least 1");
    let scratch = ScratchDir::new(args.data_dir.as_deref())?;
    let namespace = BenchNamespace::create(&config, scratch.path(), "pipeline").await?;
    let engines = Engines::describe(&namespace.config);
    eprintln!("engines: {engines}; machine: {}", machine.summary());
    let rows = run_phases(&namespace.config, &args).await;
    namespace.drop_keyspace().await?;
    let rows = rows?;

    println!();
    println!("{}", table(&rows).render());
    println!("engines: {engines}; projectors: {}; machine: {}", args.projectors, machine.summary());
    if let Some(path) = &args.json {
        let report = PipelineReport {
            command: crate::report::command_line(),
            machine,
            engines,
            projectors: args.projectors,
            rows,
        };
        write_json(path, &report)?;
    }
    Ok(())
}

async fn run_phases(config: &Config, args: &PipelineArgs) -> anyhow::Result<Vec<BenchRow>> {
    let mut pipeline = RunningPipeline::open(config).await?;
    let mut rows = Vec::new();

    eprintln!("ingest: {} users x {} messages ...", args.users, args.messages_per_user);
    let mut ingest = ingest_phase(&pipeline, args).await?;
    let appended = pipeline.log.appended();
    let mean_bytes = (appended.bytes / appended.events.max(1)) as usize;
    if let (true, LogConfig::Kafka(kafka)) = (args.ceilings, &config.log) {
        eprintln!("ceiling: Kafka's ProducerPerformance, {} records of {mean_bytes} B ...", count(appended.events));
        let ceiling =
            kafka_ceiling(args, config, &pipeline.log, &kafka.bootstrap_servers, appended.events, mean_bytes).await?;
        ingest.of_ceiling = Some(ingest.per_second / ceiling.per_second);
        rows.extend([ingest, ceiling]);
    } else {
        rows.push(ingest);
    }

    eprintln!("projection: {} instance(s) in one group ...", args.projectors);
    pipeline.start_projectors(args.projectors);
    let outcome = async {
        let mut projection = projection_phase(&pipeline.store, appended.events, args.projectors).await?;
        if let (true, StoreConfig::Scylla(settings)) = (args.ceilings, &config.store) {
            eprintln!("ceiling: prepared inserts into the CQL store, {} rows ...", count(projection.operations));
            let load = InsertLoad {
                rows: projection.operations,
                in_flight: args.concurrency,
                row_bytes: mean_bytes,
                partitions: args.users as u64,
            };
            let ceiling = cql_ceiling(settings, load).await?;
            projection.of_ceiling = Some(projection.per_second / ceiling.per_second);
            rows.extend([projection, ceiling]);
        } else {
            rows.push(projection);
        }

        eprintln!("broadcasts: {} ...", args.broadcasts);
        publish_broadcasts(&pipeline, args.broadcasts).await?;
        pipeline.public.refresh().await?;

        eprintln!("pulls for {} s with {} concurrent pullers ...", args.pull_seconds, args.concurrency);
        rows.push(pull_phase(&pipeline, args).await?);
        anyhow::Ok(())
    }
    .await;
    pipeline.stop().await?;
    outcome.map(|()| rows)
}

async fn ingest_phase(pipeline: &RunningPipeline, args: &PipelineArgs) -> anyhow::Result<BenchRow> {
    let batch = pipeline.ingest.settings().max_batch_recipients;
    let uids: Vec<i64> = (1..=args.users).collect();
    let chunks: Vec<Vec<i64>> = uids.chunks(batch).map(<[i64]>::to_vec).collect();
    let sends: Vec<(usize, Vec<i64>)> =
        (0..args.messages_per_user).flat_map(|round| chunks.iter().cloned().map(move |c| (round, c))).collect();
    let bar = progress::counter(
        args.users as u64 * args.messages_per_user as u64,
        "ingest",
        "deliveries",
        &MultiProgress::new(),
    );
    let sends = Arc::new(std::sync::Mutex::new(sends));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (sends, ingest, bar) = (sends.clone(), pipeline.ingest.clone(), bar.clone());
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut delivered = 0u64;
            loop {
                let next = sends.lock().expect("lock poisoned").pop();
                let Some((round, to_uids)) = next else { break };
                let content = format!("bench message {round}: {}", "x".repeat(64));
                let request = SendCommand::text(SendMode::Batch, 0, to_uids, content);
                let sent = Instant::now();
                let accepted = ingest.send(APP, &request).await?;
                latencies.push(sent.elapsed());
                delivered += accepted.deliveries as u64;
                bar.inc(accepted.deliveries as u64);
            }
            anyhow::Ok((delivered, latencies))
        });
    }
    let (delivered, latencies) = join_counts(workers).await?;
    bar.finish_and_clear();
    let phase = format!("ingest -> log (batch sends of {batch}, acked when durable)");
    Ok(row(phase, delivered, "events", started.elapsed(), latencies))
}

/// Waits until the running projectors have inserted `expected` rows. Timed from the first
/// insert, so joining the consumer group is not counted (it is printed).
async fn projection_phase(store: &CountingStore, expected: u64, projectors: usize) -> anyhow::Result<BenchRow> {
    let bar = progress::counter(expected, "project", "rows", &MultiProgress::new());
    let joined = Instant::now();
    let mut first_insert = None;
    let mut stall = StallWatch::start();
    loop {
        let inserted = store.inserted();
        bar.set_position(inserted);
        if inserted > 0 && first_insert.is_none() {
            first_insert = Some((Instant::now(), inserted));
        }
        if inserted >= expected {
            break;
        }
        stall.check(inserted, expected)?;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    bar.finish_and_clear();
    let (started, before) = first_insert.expect("rows were inserted");
    eprintln!("  first rows inserted {:.2} s after the projectors started", (started - joined).as_secs_f64());
    let instances =
        if projectors == 1 { "1 instance".to_owned() } else { format!("{projectors} instances, one group") };
    let phase = format!("projector ({instances}) -> store");
    Ok(BenchRow { p50_ms: None, p99_ms: None, ..row(phase, expected - before, "rows", started.elapsed(), Vec::new()) })
}

/// Creates and publishes broadcasts through ingest, which waits for the running projectors.
async fn publish_broadcasts(pipeline: &RunningPipeline, count: usize) -> anyhow::Result<()> {
    for n in 0..count {
        let draft = BroadcastDraft::text(format!("bench broadcast {n}"), tidings_domain::time::now_s() + 3600);
        let created = pipeline.ingest.create_broadcast(APP, &draft, &bench_actor()).await?;
        anyhow::ensure!(created.projected, "the projector did not project broadcast {n} in time");
        let id = created.broadcast.broadcast_id;
        let published = pipeline
            .ingest
            .broadcast_action(APP, id, tidings_domain::broadcast::LifecycleAction::Publish, &bench_actor())
            .await?;
        anyhow::ensure!(published.projected, "the projector did not project the publication of broadcast {n} in time");
    }
    Ok(())
}

async fn pull_phase(pipeline: &RunningPipeline, args: &PipelineArgs) -> anyhow::Result<BenchRow> {
    let storm = PullStorm {
        puller: pipeline.puller.clone(),
        users: args.users,
        pullers: args.concurrency,
        duration: Duration::from_secs(args.pull_seconds),
        limit: args.limit,
        cursor: SyncCursor::default(),
        must_show: None,
    };
    let outcome = storm.run("pull").await?;
    anyhow::ensure!(outcome.messages > 0, "pulls returned no messages: the benchmark data is missing");
    let pulls = outcome.latencies.len() as u64;
    let phase = "puller (merged syncs, public mailbox cached)".to_owned();
    Ok(row_of(phase, pulls, "pulls", outcome.elapsed, &outcome.latencies))
}

fn row(phase: String, operations: u64, unit: &'static str, elapsed: Duration, latencies: Vec<Duration>) -> BenchRow {
    row_of(phase, operations, unit, elapsed, &Latencies::new(latencies))
}

fn row_of(phase: String, operations: u64, unit: &'static str, elapsed: Duration, latencies: &Latencies) -> BenchRow {
    let seconds = elapsed.as_secs_f64();
    BenchRow {
        phase,
        operations,
        unit,
        seconds,
        per_second: operations as f64 / seconds.max(f64::EPSILON),
        p50_ms: latencies.p50_ms(),
        p99_ms: latencies.p99_ms(),
        of_ceiling: None,
    }
}

fn table(rows: &[BenchRow]) -> Table {
    let mut table = Table::new(&[
        ("phase", Align::Left),
        ("count", Align::Right),
        ("unit", Align::Left),
        ("seconds", Align::Right),
        ("per second", Align::Right),
        ("p50 ms", Align::Right),
        ("p99 ms", Align::Right),
        ("of ceiling", Align::Right),
    ]);
    for r in rows {
        table.row(vec![
            r.phase.clone(),
            count(r.operations),
            r.unit.to_owned(),
            format!("{:.2}", r.seconds),
            count(r.per_second.round() as u64),
            ms(r.p50_ms),
            ms(r.p99_ms),
            r.of_ceiling.map_or_else(|| "-".to_owned(), |share| format!("{:.0} %", share * 100.0)),
        ]);
    }
    table
}
