//! `tidings-bench gateway`: the long connection under load, against processes of its own:
//! one `tidings all-in-one` (embedded engines, the default), or, with a `--config` naming
//! Kafka and a CQL store, `tidings ingest`, `tidings project` and `--gateways` `tidings
//! gateway` processes under names of the run's own.
//!
//! 1. **Idle connections**: `--connections` clients log in, spread over the gateways, from
//!    `--load-generators` processes ([`load`]), each connecting from its own 127.0.0.x
//!    (a process holds at most 20,000 open files here, the gateways and the load generators
//!    alike); measured: logins/s, login p50/p99, and the gateways' resident memory per
//!    connection (their RSS with the connections, less before, over the count).
//! 2. **Delivery**: `--online` more clients in this process stay live (answering pings,
//!    syncing over the socket on each notify, like the SDK) while business sends arrive at
//!    `--sends-per-second` to random ones of them for `--seconds`; measured: p50/p99 from a
//!    send's request to the message in its client's hands (notify, then a sync).
//! 3. **Broadcast wave**: one broadcast published to every idle connection's user; measured:
//!    the time until every client holds it, and the peak pull rate (syncs a second, over
//!    any one-second window) against the budget: `--wave-notifies-per-second` per gateway.

mod clients;
pub mod load;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;
use serde::Serialize;
use serde_json::json;
use tidings_http::{Authenticator, CallerRole, Claims};
use tidings_server::engines::LogConfig;
use tidings_server::{Config, Overrides};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

use self::clients::{Observers, Sent, WaveReport};
use self::load::{Line, LoggedIn};
use crate::APP;
use crate::namespace::{BenchNamespace, ScratchDir};
use crate::processes::{Deployment, Launch, SECRET};
use crate::progress;
use crate::report::{Align, Latencies, Machine, Table, bytes, count, ms, write_json};

/// Connections one load-generator process holds at most (below the 20,000 open files).
const PER_PROCESS: usize = 16_000;

#[derive(Debug, Clone, clap::Args)]
pub struct GatewayArgs {
    /// The `tidings` binary to run (cargo build --release -p tidings).
    #[arg(long, default_value = "target/release/tidings")]
    server: PathBuf,
    /// Idle logged-in connections to open, over all gateways and load generators.
    #[arg(long, default_value_t = 5_000)]
    connections: usize,
    /// Gateway processes (more than one needs --config with Kafka and a CQL store).
    #[arg(long, default_value_t = 1)]
    gateways: usize,
    /// Load-generator processes for the idle connections [default: one per 16,000].
    #[arg(long)]
    load_generators: Option<usize>,
    /// Connections each load generator opens at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Live clients of the delivery phase, in this process (at most 16,000).
    #[arg(long, default_value_t = 1_000)]
    online: usize,
    /// Business sends a second during the delivery phase.
    #[arg(long, default_value_t = 200)]
    sends_per_second: u32,
    /// How long the delivery phase sends.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The wave's pace: broadcast notifies a second, per gateway (gateway.broadcast_notifies_per_second).
    #[arg(long, default_value_t = 1_000)]
    wave_notifies_per_second: u32,
    /// The window each notified client pulls within (gateway.broadcast_pull_within_ms).
    #[arg(long, default_value_t = 2_000)]
    wave_pull_within_ms: u64,
    /// Also write the results as JSON to this file (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct GatewayReport {
    command: String,
    machine: Machine,
    engines: &'static str,
    gateways: usize,
    load_generators: usize,
    connections: usize,
    logins_per_second: f64,
    login_p50_ms: Option<f64>,
    login_p99_ms: Option<f64>,
    gateway_bytes_before: Vec<u64>,
    gateway_bytes_with_connections: Vec<u64>,
    bytes_per_connection: f64,
    online: usize,
    sends: u64,
    delivered: usize,
    delivery_p50_ms: Option<f64>,
    delivery_p99_ms: Option<f64>,
    wave_reached: usize,
    wave_lost: usize,
    wave_seconds: f64,
    wave_peak_pulls_per_second: usize,
    wave_peak_answered_per_second: f64,
    wave_budget_pulls_per_second: u64,
}

pub async fn run(args: GatewayArgs, config_file: Option<&Path>) -> anyhow::Result<()> {
    let generators = args.load_generators.unwrap_or(args.connections.div_ceil(PER_PROCESS)).max(1);
    anyhow::ensure!(args.connections >= 1, "--connections: at least 1");
    anyhow::ensure!(
        args.connections.div_ceil(generators) <= PER_PROCESS && generators <= 200,
        "--load-generators: at least one per {PER_PROCESS} connections, at most 200"
    );
    anyhow::ensure!(
        args.connections.div_ceil(args.gateways.max(1)) <= PER_PROCESS + 2_000,
        "--gateways: at least one per 18,000 connections (a process holds 20,000 open files)"
    );
    anyhow::ensure!((1..=PER_PROCESS).contains(&args.online), "--online: from 1 to {PER_PROCESS}");
    anyhow::ensure!(
        args.concurrency >= 1 && args.sends_per_second >= 1 && args.wave_notifies_per_second >= 1,
        "--concurrency, --sends-per-second and --wave-notifies-per-second: at least 1"
    );
    let config = Config::load(config_file, &Overrides::default())?;
    let distributed = matches!(config.log, LogConfig::Kafka(_));
    anyhow::ensure!(
        distributed || args.gateways == 1,
        "--gateways above 1 needs --config naming Kafka and a CQL store (infra/bench/local-engines.toml)"
    );
    let machine = Machine::describe();
    let scratch = ScratchDir::new(None)?;
    let mut env = vec![
        ("TIDINGS_GATEWAY__BROADCAST_NOTIFIES_PER_SECOND".to_owned(), args.wave_notifies_per_second.to_string()),
        ("TIDINGS_GATEWAY__BROADCAST_PULL_WITHIN_MS".to_owned(), args.wave_pull_within_ms.to_string()),
    ];
    let namespace = match distributed {
        true => {
            let namespace = BenchNamespace::create(&config, scratch.path(), "gateway").await?;
            env.extend(namespace.env());
            Some(namespace)
        }
        false => None,
    };
    let launch = Launch { binary: &args.server, data_dir: scratch.path(), config_file, env, logs: None };
    let deployment = Deployment::start(&launch, args.gateways, distributed).await?;
    let engines = if distributed { "Kafka + CQL" } else { "embedded (all-in-one)" };
    eprintln!("{} gateway(s), {engines}; machine: {}", deployment.gateways.len(), machine.summary());
    let gateway_bytes_before = deployment.gateway_bytes()?;

    eprintln!("idle connections: {} from {generators} load generator(s) ...", count(args.connections as u64));
    let started = Instant::now();
    let mut generators = spawn_load_generators(&deployment.connect_urls(), &args, generators)?;
    let logins = logged_in(&mut generators, args.connections).await?;
    let login_seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let gateway_bytes_with_connections = deployment.gateway_bytes()?;
    let grown: u64 = gateway_bytes_with_connections
        .iter()
        .zip(&gateway_bytes_before)
        .map(|(after, before)| after.saturating_sub(*before))
        .sum();
    let bytes_per_connection = grown as f64 / args.connections as f64;

    eprintln!("delivery: {} online, {} sends/s for {} s ...", args.online, args.sends_per_second, args.seconds);
    let (sends, delivered) = deliver(&deployment, &args).await?;

    eprintln!("broadcast wave to {} clients ...", count(args.connections as u64));
    let wave = broadcast_wave(&deployment, &mut generators).await?;
    let report = GatewayReport {
        command: crate::report::command_line(),
        machine,
        engines,
        gateways: deployment.gateways.len(),
        load_generators: generators.len(),
        connections: args.connections,
        logins_per_second: args.connections as f64 / login_seconds,
        login_p50_ms: logins.p50_ms(),
        login_p99_ms: logins.p99_ms(),
        gateway_bytes_before,
        gateway_bytes_with_connections,
        bytes_per_connection,
        online: args.online,
        sends,
        delivered: delivered.len(),
        delivery_p50_ms: delivered.p50_ms(),
        delivery_p99_ms: delivered.p99_ms(),
        wave_reached: wave.reached,
        wave_lost: wave.lost,
        wave_seconds: wave.seconds,
        wave_peak_pulls_per_second: wave.peak_pulls_per_second,
        wave_peak_answered_per_second: wave.peak_answered_per_second,
        wave_budget_pulls_per_second: u64::from(args.wave_notifies_per_second) * deployment.gateways.len() as u64,
    };
    drop(generators);
    drop(deployment);
    if let Some(namespace) = namespace {
        namespace.drop_keyspace().await?;
    }
    print_report(&report);
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    Ok(())
}

/// A load-generator process and its report lines.
struct Generator {
    child: Child,
    lines: tokio::io::Lines<BufReader<ChildStdout>>,
}

impl Generator {
    async fn next_line(&mut self) -> anyhow::Result<Line> {
        let line = self.lines.next_line().await?.context("a load generator ended early (see its error above)")?;
        serde_json::from_str(&line).with_context(|| format!("a load generator said {line:?}"))
    }
}

impl Drop for Generator {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Starts the load generators, uids 1..=connections split between them, generator i
/// connecting from 127.0.0.(10 + i).
fn spawn_load_generators(urls: &[String], args: &GatewayArgs, generators: usize) -> anyhow::Result<Vec<Generator>> {
    let share = args.connections.div_ceil(generators);
    let exe = std::env::current_exe().context("this benchmark's own binary")?;
    (0..generators)
        .map(|index| index * share)
        .take_while(|first| *first < args.connections)
        .enumerate()
        .map(|(index, first)| {
            let mut child = Command::new(&exe)
                .args(["gateway-load", "--urls", &urls.join(",")])
                .args(["--first-uid", &(first + 1).to_string()])
                .args(["--count", &share.min(args.connections - first).to_string()])
                .args(["--source", &format!("127.0.0.{}", 10 + index)])
                .args(["--concurrency", &args.concurrency.to_string()])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .context("starting a load generator")?;
            let stdout = child.stdout.take().context("the load generator's stdout")?;
            Ok(Generator { child, lines: BufReader::new(stdout).lines() })
        })
        .collect()
}

/// Waits for every generator's logins; their latencies.
async fn logged_in(generators: &mut [Generator], total: usize) -> anyhow::Result<Latencies> {
    let bar = progress::counter(total as u64, "login", "connections", &indicatif::MultiProgress::new());
    let mut latencies = Vec::with_capacity(total);
    for generator in generators.iter_mut() {
        let Line::LoggedIn(LoggedIn { login_latencies_us }) = generator.next_line().await? else {
            anyhow::bail!("a load generator reported a wave before its logins");
        };
        bar.inc(login_latencies_us.len() as u64);
        latencies.extend(login_latencies_us.into_iter().map(Duration::from_micros));
    }
    bar.finish_and_clear();
    Ok(Latencies::new(latencies))
}

/// A token of `role` for app [`APP`], signed with the servers' secret.
fn token(role: CallerRole) -> String {
    let claims =
        Claims { role, app_id: APP, sub: "bench".into(), exp: tidings_domain::time::now_s() + 3600, guest: false };
    Authenticator::new(SECRET.as_bytes()).mint(&claims)
}

/// Keeps the first `--online` sockets live and sends to random ones among them; every
/// delivery's delay.
async fn deliver(deployment: &Deployment, args: &GatewayArgs) -> anyhow::Result<(u64, Latencies)> {
    let sent: Sent = Arc::default();
    let delays = Arc::new(Mutex::new(Vec::new()));
    let observers = Observers { sent: sent.clone(), delays: delays.clone(), wave: None };
    // The delivery phase's users come after the idle ones.
    let first_uid = args.connections as i64 + 1;
    let urls = deployment.connect_urls();
    let mut sockets = Vec::with_capacity(args.online);
    let uids = first_uid..first_uid + args.online as i64;
    clients::log_in_all(&urls, None, uids, args.concurrency, |socket, _| sockets.push(socket)).await?;
    let duration = Duration::from_secs(args.seconds);
    // Clients listen a little past the last send, for its delivery.
    let until = Instant::now() + duration + Duration::from_secs(5);
    let mut live = tokio::task::JoinSet::new();
    for socket in sockets {
        live.spawn(clients::live(socket, observers.clone(), until));
    }
    let token = token(CallerRole::App);
    let api = &deployment.business_api;
    let http = reqwest::Client::new();
    let bar = progress::timer(duration, "sending");
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_secs(1) / args.sends_per_second);
    let mut sends = 0u64;
    while started.elapsed() < duration {
        ticks.tick().await;
        let uid = rand::rng().random_range(first_uid..first_uid + args.online as i64);
        let content = format!("bench {sends}");
        sent.lock().expect("lock poisoned").insert(content.clone(), Instant::now());
        let body = json!({"mode": "unicast", "from_uid": 0, "to_uids": [uid], "content": content});
        let (http, url, token) = (http.clone(), format!("{api}/v1/apps/{APP}/messages"), token.clone());
        tokio::spawn(async move { http.post(url).bearer_auth(token).json(&body).send().await });
        sends += 1;
        bar.set_position(started.elapsed().as_millis() as u64);
    }
    bar.finish_and_clear();
    while let Some(done) = live.join_next().await {
        done??;
    }
    let delays = std::mem::take(&mut *delays.lock().expect("lock poisoned"));
    Ok((sends, Latencies::new(delays)))
}

/// What the wave came to.
struct WaveOutcome {
    reached: usize,
    lost: usize,
    /// From the publish request to the last client holding the broadcast.
    seconds: f64,
    /// The busiest second of the clients' syncs, as they sent them.
    peak_pulls_per_second: usize,
    /// The busiest second of syncs the gateways' pullers answered (their metrics, sampled).
    peak_answered_per_second: f64,
}

/// Publishes one broadcast to everyone and waits for every generator's clients to hold it,
/// sampling the gateways' answered syncs meanwhile.
async fn broadcast_wave(deployment: &Deployment, generators: &mut [Generator]) -> anyhow::Result<WaveOutcome> {
    let http = reqwest::Client::new();
    let api = &deployment.business_api;
    let mut samples = vec![(Instant::now(), deployment.syncs_answered(&http).await?)];
    let mut sampling = tokio::time::interval(SAMPLE_EVERY);
    let token = token(CallerRole::Operator);
    let began_us = tidings_domain::time::now_us();
    let draft = json!({"content": "bench wave", "expire_at": tidings_domain::time::now_s() + 3600});
    let created: serde_json::Value = http
        .post(format!("{api}/v1/apps/{APP}/broadcasts"))
        .bearer_auth(&token)
        .json(&draft)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = created["broadcast_id"].as_i64().with_context(|| format!("no broadcast_id in {created}"))?;
    http.post(format!("{api}/v1/apps/{APP}/broadcasts/{id}/publish"))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?;
    let mut reports: Vec<WaveReport> = Vec::with_capacity(generators.len());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    for generator in generators.iter_mut() {
        let line = loop {
            tokio::select! {
                line = generator.next_line() => break line?,
                _ = sampling.tick() => samples.push((Instant::now(), deployment.syncs_answered(&http).await?)),
                () = tokio::time::sleep_until(deadline) => anyhow::bail!("the wave had not reached every client after 10 minutes"),
            }
        };
        let Line::Wave(report) = line else { anyhow::bail!("a load generator logged in twice") };
        reports.push(report);
    }
    samples.push((Instant::now(), deployment.syncs_answered(&http).await?));
    let last_us = reports.iter().map(|report| report.last_received_us).max().unwrap_or(began_us);
    let mut pulls: Vec<i64> = reports.iter_mut().flat_map(|report| std::mem::take(&mut report.pulls_us)).collect();
    pulls.sort_unstable();
    Ok(WaveOutcome {
        reached: reports.iter().map(|report| report.received).sum(),
        lost: reports.iter().map(|report| report.lost).sum(),
        seconds: (last_us - began_us) as f64 / 1e6,
        peak_pulls_per_second: busiest_second(&pulls),
        peak_answered_per_second: busiest_sampled_second(&samples),
    })
}

/// How often the gateways' metrics are read during a wave.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// The largest growth of a sampled counter within one second.
fn busiest_sampled_second(samples: &[(Instant, f64)]) -> f64 {
    let mut first = 0;
    let mut busiest: f64 = 0.0;
    for (at, value) in samples {
        while at.duration_since(samples[first].0) > Duration::from_secs(1) {
            first += 1;
        }
        busiest = busiest.max(value - samples[first].1);
    }
    busiest
}

/// The most of `sorted_us` (unix µs) within any one second.
fn busiest_second(sorted_us: &[i64]) -> usize {
    let mut first = 0;
    let mut busiest = 0;
    for (last, at) in sorted_us.iter().enumerate() {
        while sorted_us[first] <= at - 1_000_000 {
            first += 1;
        }
        busiest = busiest.max(last - first + 1);
    }
    busiest
}

fn print_report(report: &GatewayReport) {
    let mut table = Table::new(&[("measure", Align::Left), ("value", Align::Right)]);
    let rows = [
        ("engines", report.engines.to_owned()),
        ("gateway processes / load generators", format!("{} / {}", report.gateways, report.load_generators)),
        ("logged-in connections", count(report.connections as u64)),
        ("logins/s", count(report.logins_per_second.round() as u64)),
        ("login p50 / p99 ms", format!("{} / {}", ms(report.login_p50_ms), ms(report.login_p99_ms))),
        ("gateways' RSS before", bytes(report.gateway_bytes_before.iter().sum())),
        ("gateways' RSS with the connections", bytes(report.gateway_bytes_with_connections.iter().sum())),
        ("gateway memory per idle connection", format!("{:.0} B", report.bytes_per_connection)),
        ("online clients (delivery phase)", count(report.online as u64)),
        ("sends", count(report.sends)),
        ("delivered (notify + sync over the socket)", count(report.delivered as u64)),
        ("delivery p50 / p99 ms", format!("{} / {}", ms(report.delivery_p50_ms), ms(report.delivery_p99_ms))),
        (
            "wave: clients holding the broadcast / lost",
            format!("{} / {}", count(report.wave_reached as u64), report.wave_lost),
        ),
        ("wave: publish to the last client holding it", format!("{:.2} s", report.wave_seconds)),
        ("wave: pull budget (gateways x budget each) /s", count(report.wave_budget_pulls_per_second)),
        ("wave: busiest second of syncs sent by clients", count(report.wave_peak_pulls_per_second as u64)),
        ("wave: busiest second of syncs answered by gateways", count(report.wave_peak_answered_per_second as u64)),
    ];
    for (measure, value) in rows {
        table.row(vec![measure.to_owned(), value]);
    }
    println!();
    println!("{}", table.render());
    println!("machine: {}", report.machine.summary());
}
