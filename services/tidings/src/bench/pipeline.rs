//! `tidings bench pipeline`: the hot paths on embedded engines, measured and printed as a
//! table.
//!
//! Phases, each on the same fresh data directory:
//! 1. ingest: concurrent batch sends (appends to the log, durable before answering);
//! 2. projection: the projector drains the log into the store;
//! 3. broadcasts: some are created and published, and the public cache refreshed;
//! 4. pulls: concurrent merged syncs (private page + public mailbox) from random users.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tidings_domain::client::{ClientVersion, Viewer};
use tidings_domain::message::Mailbox;
use tidings_domain::sync::SyncCursor;
use tidings_ingest::{BroadcastDraftRequest, SendMode, SendRequest};
use tidings_ports::{Subscription, Topics};

use super::report::{Align, Latencies, Machine, Table, count, ms, write_json};
use super::{ScratchDir, join_all};
use crate::config::Config;
use crate::server::{Pipeline, Role, open_engines};

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
    /// Concurrent senders and pullers.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// How long the pull phase runs, in seconds.
    #[arg(long, default_value_t = 10)]
    pull_seconds: u64,
    /// Messages per sync.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Where to put the data [default: a fresh temporary directory].
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// Also write the results as JSON to this file (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<std::path::PathBuf>,
}

/// One row of the result table.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    pub phase: &'static str,
    pub operations: u64,
    pub unit: &'static str,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

/// What `--json` writes.
#[derive(Debug, Serialize)]
struct PipelineReport {
    command: String,
    machine: Machine,
    rows: Vec<BenchRow>,
}

const APP: i64 = 1;

pub async fn run(args: PipelineArgs) -> anyhow::Result<()> {
    let machine = Machine::describe();
    let scratch = ScratchDir::new(args.data_dir.as_deref())?;
    let config = Config { data_dir: scratch.path().to_path_buf(), ..Config::default() };
    let (log, store) = open_engines(&config, &Role::ALL).await?;
    let pipeline = Pipeline::assemble(&config, log.clone(), store);
    let mut rows = Vec::new();

    eprintln!("ingest: {} users x {} messages ...", args.users, args.messages_per_user);
    rows.push(ingest_phase(&pipeline, &args).await?);

    eprintln!("projection ...");
    let topics = Topics::with_prefix(&config.topics.prefix);
    let topics = [topics.mailbox, topics.broadcast];
    let mut subscription = log.subscribe("bench-projector", &topics).await?;
    rows.push(projection_phase(&pipeline, subscription.as_mut(), "projector (deliveries)").await?);

    eprintln!("broadcasts: {} ...", args.broadcasts);
    publish_broadcasts(&pipeline, args.broadcasts, subscription.as_mut()).await?;
    pipeline.public.refresh().await?;

    eprintln!("pulls for {} s with {} concurrent pullers ...", args.pull_seconds, args.concurrency);
    rows.push(pull_phase(&pipeline, &args).await?);

    println!();
    println!("{}", table(&rows).render());
    println!("machine: {}", machine.summary());
    if let Some(path) = &args.json {
        write_json(path, &PipelineReport { command: super::report::command_line(), machine, rows })?;
    }
    Ok(())
}

async fn ingest_phase(pipeline: &Pipeline, args: &PipelineArgs) -> anyhow::Result<BenchRow> {
    let batch = pipeline.ingest.settings().max_batch_recipients as i64;
    let uids: Vec<i64> = (1..=args.users).collect();
    let chunks: Vec<Vec<i64>> = uids.chunks(batch as usize).map(<[i64]>::to_vec).collect();
    let sends: Vec<(usize, Vec<i64>)> =
        (0..args.messages_per_user).flat_map(|round| chunks.iter().cloned().map(move |c| (round, c))).collect();
    let sends = Arc::new(std::sync::Mutex::new(sends));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let sends = sends.clone();
        let ingest = pipeline.ingest.clone();
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
            }
            anyhow::Ok((delivered, latencies))
        });
    }
    let (delivered, latencies) = join_all(workers).await?;
    Ok(row("ingest (batch sends, durable)", delivered, "deliveries", started.elapsed(), latencies))
}

async fn projection_phase(
    pipeline: &Pipeline,
    subscription: &mut dyn Subscription,
    phase: &'static str,
) -> anyhow::Result<BenchRow> {
    let started = Instant::now();
    let mut projected = 0u64;
    let mut latencies = Vec::new();
    loop {
        let records = subscription.poll(512, Duration::from_millis(200)).await?;
        if records.is_empty() {
            break;
        }
        let batch_started = Instant::now();
        let outcome = pipeline.projector.project_and_publish(&records).await?;
        let positions: Vec<_> = records.iter().map(|r| r.position.clone()).collect();
        subscription.commit(&positions).await?;
        latencies.push(batch_started.elapsed());
        projected += outcome.projected as u64;
    }
    // The final empty poll waited; it is not projection time.
    let elapsed = started.elapsed().saturating_sub(Duration::from_millis(200));
    Ok(BenchRow { p50_ms: None, p99_ms: None, ..row(phase, projected, "events", elapsed, latencies) })
}

async fn publish_broadcasts(
    pipeline: &Pipeline,
    count: usize,
    subscription: &mut dyn Subscription,
) -> anyhow::Result<()> {
    for n in 0..count {
        let draft = BroadcastDraftRequest {
            category: None,
            kind: None,
            priority: None,
            business_type: None,
            content: format!("bench broadcast {n}"),
            expire_at: tidings_domain::time::now_s() + 3600,
            audience: None,
        };
        // Ingest waits for the projection, which this phase drives itself: so don't wait.
        let ingest = pipeline.ingest.clone();
        let create = tokio::spawn(async move { ingest.create_broadcast(APP, &draft).await });
        let created = drive_projection_until(pipeline, subscription, create).await?;
        let ingest = pipeline.ingest.clone();
        let id = created.broadcast.broadcast_id;
        let publish = tokio::spawn(async move {
            ingest.broadcast_action(APP, id, tidings_domain::broadcast::LifecycleAction::Publish).await
        });
        drive_projection_until(pipeline, subscription, publish).await?;
    }
    Ok(())
}

async fn drive_projection_until<T>(
    pipeline: &Pipeline,
    subscription: &mut dyn Subscription,
    mut task: tokio::task::JoinHandle<Result<T, tidings_ingest::IngestError>>,
) -> anyhow::Result<T> {
    loop {
        tokio::select! {
            done = &mut task => return Ok(done??),
            polled = subscription.poll(64, Duration::from_millis(5)) => {
                let records = polled?;
                if !records.is_empty() {
                    pipeline.projector.project_and_publish(&records).await?;
                    let positions: Vec<_> = records.iter().map(|r| r.position.clone()).collect();
                    subscription.commit(&positions).await?;
                }
            }
        }
    }
}

async fn pull_phase(pipeline: &Pipeline, args: &PipelineArgs) -> anyhow::Result<BenchRow> {
    let deadline = Instant::now() + Duration::from_secs(args.pull_seconds);
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..args.concurrency {
        let puller = pipeline.puller.clone();
        let users = args.users;
        let limit = args.limit;
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
                // Each simulated client is its own task: let the others run between pulls.
                tokio::task::yield_now().await;
            }
            anyhow::Ok((returned, latencies))
        });
    }
    let (returned, latencies) = join_all(workers).await?;
    anyhow::ensure!(returned > 0, "pulls returned no messages: the benchmark data is missing");
    let pulls = latencies.len() as u64;
    Ok(row("puller (merged syncs, cache on)", pulls, "pulls", started.elapsed(), latencies))
}

fn row(
    phase: &'static str,
    operations: u64,
    unit: &'static str,
    elapsed: Duration,
    latencies: Vec<Duration>,
) -> BenchRow {
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
    ]);
    for r in rows {
        table.row(vec![
            r.phase.to_owned(),
            count(r.operations),
            r.unit.to_owned(),
            format!("{:.2}", r.seconds),
            count(r.per_second.round() as u64),
            ms(r.p50_ms),
            ms(r.p99_ms),
        ]);
    }
    table
}
