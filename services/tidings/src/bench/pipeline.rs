//! `tidings bench pipeline`: the hot paths, measured on the engines the configuration names
//! (embedded ones by default), and printed as a table.
//!
//! Phases, in one fresh namespace (see [`Isolated`]):
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

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::MultiProgress;
use serde::Serialize;
use tidings_domain::client::{ClientVersion, Viewer};
use tidings_domain::message::Mailbox;
use tidings_domain::sync::SyncCursor;
use tidings_ingest::{BroadcastDraftRequest, SendMode, SendRequest};
use tidings_ports::EventLog;
use tidings_scylla::ceiling::{InsertLoad, prepared_insert_rate};
use tokio_util::sync::CancellationToken;

use super::report::{Align, Latencies, Machine, Table, count, ms, write_json};
use super::{APP, Isolated, ScratchDir, StallWatch, describe_engines, join_all, progress};
use crate::config::{Config, LogConfig, Overrides, StoreConfig};
use crate::server::{Pipeline, Role, open_engines};
use tidings_ports::metered::{CountingLog, MeteredStore};

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
    kafka_perf_command: PathBuf,
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
    let isolated = Isolated::new(&config, scratch.path(), "pipeline").await?;
    let engines = describe_engines(&isolated.config);
    eprintln!("engines: {engines}; machine: {}", machine.summary());
    let rows = run_phases(&isolated.config, &args).await;
    isolated.finish().await?;
    let rows = rows?;

    println!();
    println!("{}", table(&rows).render());
    println!("engines: {engines}; projectors: {}; machine: {}", args.projectors, machine.summary());
    if let Some(path) = &args.json {
        let report = PipelineReport {
            command: super::report::command_line(),
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
    let (log, store) = open_engines(config, &Role::ALL).await?;
    let log = CountingLog::new(log);
    let store = MeteredStore::new(store);
    let pipeline = Pipeline::assemble(config, log.clone(), store.clone());
    let mut rows = Vec::new();

    eprintln!("ingest: {} users x {} messages ...", args.users, args.messages_per_user);
    let mut ingest = ingest_phase(&pipeline, args).await?;
    let appended = log.appended();
    let mean_bytes = (appended.bytes / appended.events.max(1)) as usize;
    if let (true, LogConfig::Kafka(kafka)) = (args.ceilings, &config.log) {
        eprintln!("ceiling: Kafka's ProducerPerformance, {} records of {mean_bytes} B ...", count(appended.events));
        let ceiling = kafka_ceiling(args, config, &log, &kafka.bootstrap_servers, appended.events, mean_bytes).await?;
        ingest.of_ceiling = Some(ingest.per_second / ceiling.per_second);
        rows.extend([ingest, ceiling]);
    } else {
        rows.push(ingest);
    }

    eprintln!("projection: {} instance(s) in one group ...", args.projectors);
    let stop = CancellationToken::new();
    let mut projectors = tokio::task::JoinSet::new();
    for _ in 0..args.projectors {
        let (projector, stop) = (pipeline.projector.clone(), stop.clone());
        projectors.spawn(async move { projector.run(stop).await.context("projector") });
    }
    let outcome = async {
        let mut projection = projection_phase(&store, appended.events, args.projectors).await?;
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
    stop.cancel();
    while let Some(done) = projectors.join_next().await {
        done.context("a projector panicked")??;
    }
    outcome.map(|()| rows)
}

async fn ingest_phase(pipeline: &Pipeline, args: &PipelineArgs) -> anyhow::Result<BenchRow> {
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
                let request = SendRequest::text(SendMode::Batch, 0, to_uids, content);
                let sent = Instant::now();
                let accepted = ingest.send(APP, &request).await?;
                latencies.push(sent.elapsed());
                delivered += accepted.deliveries as u64;
                bar.inc(accepted.deliveries as u64);
            }
            anyhow::Ok((delivered, latencies))
        });
    }
    let (delivered, latencies) = join_all(workers).await?;
    bar.finish_and_clear();
    let phase = format!("ingest -> log (batch sends of {batch}, acked when durable)");
    Ok(row(phase, delivered, "events", started.elapsed(), latencies))
}

/// Waits until the running projectors have inserted `expected` rows. Timed from the first
/// insert, so joining the consumer group is not counted (it is printed).
async fn projection_phase(store: &MeteredStore, expected: u64, projectors: usize) -> anyhow::Result<BenchRow> {
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

/// Kafka's ProducerPerformance writing `records` records of `record_bytes` to a fresh topic
/// of the run's partition count, with Tidings' producer settings.
async fn kafka_ceiling(
    args: &PipelineArgs,
    config: &Config,
    log: &CountingLog,
    bootstrap_servers: &str,
    records: u64,
    record_bytes: usize,
) -> anyhow::Result<BenchRow> {
    let topic = format!("{}.ceiling", config.topics.prefix);
    // Subscribing creates the topic like Tidings' own; the broker does not auto-create.
    drop(log.subscribe(&format!("{}-ceiling", config.projector.group), std::slice::from_ref(&topic)).await?);
    let output = tokio::process::Command::new(&args.kafka_perf_command)
        .args(["--topic", &topic, "--num-records", &records.to_string()])
        .args(["--record-size", &record_bytes.to_string(), "--throughput", "-1"])
        .args(["--command-property", &format!("bootstrap.servers={bootstrap_servers}"), "acks=all"])
        .arg("enable.idempotence=true")
        .output()
        .await
        .with_context(|| format!("running {}", args.kafka_perf_command.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "{} failed ({}): {}{}",
        args.kafka_perf_command.display(),
        output.status,
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    let summary = ProducerPerfSummary::parse(&stdout)
        .with_context(|| format!("no summary line in ProducerPerformance's output:\n{stdout}"))?;
    Ok(BenchRow {
        phase: format!("ceiling: Kafka ProducerPerformance ({record_bytes} B, acks=all, idempotent)"),
        operations: summary.records,
        unit: "records",
        seconds: summary.records as f64 / summary.per_second,
        per_second: summary.per_second,
        p50_ms: Some(summary.p50_ms),
        p99_ms: Some(summary.p99_ms),
        of_ceiling: None,
    })
}

/// The last line of ProducerPerformance's output: "N records sent, R records/sec (M MB/sec),
/// A ms avg latency, X ms max latency, P ms 50th, Q ms 95th, S ms 99th, T ms 99.9th."
#[derive(Debug, PartialEq)]
struct ProducerPerfSummary {
    records: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl ProducerPerfSummary {
    fn parse(output: &str) -> Option<Self> {
        let line = output.lines().rev().find(|line| line.contains("records sent,"))?;
        let number_before = |label: &str| -> Option<f64> {
            let end = line.find(label)?;
            line[..end].split([',', ' ', '(']).rev().find(|word| !word.is_empty())?.parse().ok()
        };
        Some(Self {
            records: number_before(" records sent")? as u64,
            per_second: number_before(" records/sec")?,
            p50_ms: number_before(" ms 50th")?,
            p99_ms: number_before(" ms 99th")?,
        })
    }
}

/// A loop of plain prepared single-row inserts into the run's keyspace.
async fn cql_ceiling(settings: &tidings_scylla::ScyllaSettings, load: InsertLoad) -> anyhow::Result<BenchRow> {
    let session = Arc::new(tidings_scylla::open_session(settings).await?);
    let elapsed = prepared_insert_rate(session, &settings.keyspace, load).await?;
    let phase = format!("ceiling: CQL prepared INSERT, {} in flight ({} B rows)", load.in_flight, load.row_bytes);
    Ok(row(phase, load.rows, "rows", elapsed, Vec::new()))
}

/// Creates and publishes broadcasts through ingest, which waits for the running projectors.
async fn publish_broadcasts(pipeline: &Pipeline, count: usize) -> anyhow::Result<()> {
    for n in 0..count {
        let draft = BroadcastDraftRequest::text(format!("bench broadcast {n}"), tidings_domain::time::now_s() + 3600);
        let created = pipeline.ingest.create_broadcast(APP, &draft).await?;
        anyhow::ensure!(created.projected, "the projector did not project broadcast {n} in time");
        let id = created.broadcast.broadcast_id;
        let published =
            pipeline.ingest.broadcast_action(APP, id, tidings_domain::broadcast::LifecycleAction::Publish).await?;
        anyhow::ensure!(published.projected, "the projector did not project the publication of broadcast {n} in time");
    }
    Ok(())
}

async fn pull_phase(pipeline: &Pipeline, args: &PipelineArgs) -> anyhow::Result<BenchRow> {
    let duration = Duration::from_secs(args.pull_seconds);
    let bar = progress::timer(duration, "pull", &MultiProgress::new());
    let started = Instant::now();
    let deadline = started + duration;
    let pulls = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..args.concurrency {
        let (puller, pulls) = (pipeline.puller.clone(), pulls.clone());
        let (users, limit) = (args.users, args.limit);
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut returned = 0u64;
            let mut uid = (worker as i64 * 7919) % users + 1;
            while Instant::now() < deadline {
                uid = (uid * 48_271) % users + 1;
                let viewer = Viewer { uid, guest: false, version: ClientVersion::default() };
                let pulled = Instant::now();
                let page = puller.sync(Mailbox::new(APP, uid), &viewer, SyncCursor::default(), limit).await?;
                latencies.push(pulled.elapsed());
                returned += page.messages.len() as u64;
                pulls.fetch_add(1, Ordering::Relaxed);
                // Each simulated client is its own task: let the others run between pulls.
                tokio::task::yield_now().await;
            }
            anyhow::Ok((returned, latencies))
        });
    }
    while !workers.is_empty() && Instant::now() < deadline {
        bar.set_position(started.elapsed().as_millis() as u64);
        bar.set_message(format!(
            "{} pulls/s",
            count((pulls.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()) as u64)
        ));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (returned, latencies) = join_all(workers).await?;
    bar.finish_and_clear();
    anyhow::ensure!(returned > 0, "pulls returned no messages: the benchmark data is missing");
    let pulls = latencies.len() as u64;
    Ok(row("puller (merged syncs, public mailbox cached)".to_owned(), pulls, "pulls", started.elapsed(), latencies))
}

fn row(phase: String, operations: u64, unit: &'static str, elapsed: Duration, latencies: Vec<Duration>) -> BenchRow {
    let latencies = Latencies::new(latencies);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_producer_performance_summary() {
        let output = "1000 records sent, 500.0 records/sec (0.10 MB/sec), 3.0 ms avg latency, 9.0 ms max latency.\n\
                      200000 records sent, 58633.831721 records/sec (11.18 MB/sec), 115.61 ms avg latency, \
                      525.00 ms max latency, 101 ms 50th, 223 ms 95th, 237 ms 99th, 257 ms 99.9th.\n";
        assert_eq!(
            ProducerPerfSummary::parse(output),
            Some(ProducerPerfSummary { records: 200_000, per_second: 58_633.831721, p50_ms: 101.0, p99_ms: 237.0 })
        );
        assert_eq!(ProducerPerfSummary::parse("Exception in thread main\n"), None);
    }
}
