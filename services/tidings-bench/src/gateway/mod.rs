//! `tidings-bench gateway`: the long connection under load, against a `tidings all-in-one`
//! process of its own (embedded engines).
//!
//! 1. **Idle connections**: `--connections` clients connect and log in (`--concurrency` at
//!    a time); measured: logins/s, login p50/p99, and the server's resident memory per
//!    connection (its RSS with them, less its RSS before, over their count).
//! 2. **Delivery**: the first `--online` of them stay live (answering pings, syncing over
//!    the socket on each notify, like the SDK); business sends at `--sends-per-second` to
//!    random online users for `--seconds`; measured: p50/p99 from a send's request to the
//!    message in its client's hands (notify, then a sync over the socket).
//!
//! One process holds at most 20,000 open files here, the server and this load generator
//! each: `--connections` stays below that.

mod clients;
mod server;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;
use serde::Serialize;
use serde_json::json;
use tidings_http::{Authenticator, CallerRole, Claims};

use self::clients::{Sent, log_in};
use self::server::{SECRET, ServerProcess};
use crate::APP;
use crate::namespace::ScratchDir;
use crate::progress;
use crate::report::{Align, Latencies, Machine, Table, bytes, count, ms, write_json};

#[derive(Debug, Clone, clap::Args)]
pub struct GatewayArgs {
    /// The `tidings` binary to run as the gateway (cargo build --release -p tidings).
    #[arg(long, default_value = "target/release/tidings")]
    server: PathBuf,
    /// Idle logged-in connections to open (below this machine's 20,000 open files).
    #[arg(long, default_value_t = 5_000)]
    connections: usize,
    /// Connections opening at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Of the connections, how many stay live for the delivery phase.
    #[arg(long, default_value_t = 1_000)]
    online: usize,
    /// Business sends a second during the delivery phase.
    #[arg(long, default_value_t = 200)]
    sends_per_second: u32,
    /// How long the delivery phase sends.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Also write the results as JSON to this file (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct GatewayReport {
    command: String,
    machine: Machine,
    connections: usize,
    logins_per_second: f64,
    login_p50_ms: Option<f64>,
    login_p99_ms: Option<f64>,
    server_bytes_before: u64,
    server_bytes_with_connections: u64,
    bytes_per_connection: f64,
    online: usize,
    sends: u64,
    delivered: usize,
    delivery_p50_ms: Option<f64>,
    delivery_p99_ms: Option<f64>,
}

pub async fn run(args: GatewayArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.connections >= 1 && args.connections < 19_000, "--connections: from 1 to 18,999");
    anyhow::ensure!((1..=args.connections).contains(&args.online), "--online: from 1 to --connections");
    anyhow::ensure!(
        args.concurrency >= 1 && args.sends_per_second >= 1,
        "--concurrency and --sends-per-second: at least 1"
    );
    let machine = Machine::describe();
    let scratch = ScratchDir::new(None)?;
    let server = ServerProcess::start(&args.server, scratch.path()).await?;
    eprintln!("gateway: {} (all-in-one, embedded); machine: {}", server.api, machine.summary());
    let url = format!("{}/v1/connect", server.api.replacen("http", "ws", 1));
    let server_bytes_before = server.resident_bytes()?;

    eprintln!("idle connections: {} ...", count(args.connections as u64));
    let (sockets, logins, login_seconds) = open_connections(&url, &args).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let server_bytes_with_connections = server.resident_bytes()?;
    let bytes_per_connection =
        server_bytes_with_connections.saturating_sub(server_bytes_before) as f64 / args.connections as f64;

    eprintln!("delivery: {} online, {} sends/s for {} s ...", args.online, args.sends_per_second, args.seconds);
    let (sends, delivered) = deliver(&server.api, sockets, &args).await?;
    let report = GatewayReport {
        command: crate::report::command_line(),
        machine,
        connections: args.connections,
        logins_per_second: args.connections as f64 / login_seconds,
        login_p50_ms: logins.p50_ms(),
        login_p99_ms: logins.p99_ms(),
        server_bytes_before,
        server_bytes_with_connections,
        bytes_per_connection,
        online: args.online,
        sends,
        delivered: delivered.len(),
        delivery_p50_ms: delivered.p50_ms(),
        delivery_p99_ms: delivered.p99_ms(),
    };
    print_report(&report);
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    Ok(())
}

/// Opens and logs in every connection; the sockets (by uid, from 1), each login's latency,
/// and the seconds it all took.
async fn open_connections(url: &str, args: &GatewayArgs) -> anyhow::Result<(Vec<clients::Socket>, Latencies, f64)> {
    let bar = progress::counter(args.connections as u64, "login", "connections", &indicatif::MultiProgress::new());
    let started = Instant::now();
    let mut sockets = Vec::with_capacity(args.connections);
    let mut latencies = Vec::with_capacity(args.connections);
    for chunk in (1..=args.connections as i64).collect::<Vec<_>>().chunks(args.concurrency) {
        let mut logins = tokio::task::JoinSet::new();
        for &uid in chunk {
            let url = url.to_owned();
            logins.spawn(async move {
                let began = Instant::now();
                let socket = log_in(&url, uid).await.with_context(|| format!("user {uid}"))?;
                anyhow::Ok((uid, socket, began.elapsed()))
            });
        }
        let mut opened = Vec::new();
        while let Some(done) = logins.join_next().await {
            let (uid, socket, latency) = done??;
            opened.push((uid, socket));
            latencies.push(latency);
            bar.inc(1);
        }
        opened.sort_by_key(|(uid, _)| *uid);
        sockets.extend(opened.into_iter().map(|(_, socket)| socket));
    }
    bar.finish_and_clear();
    Ok((sockets, Latencies::new(latencies), started.elapsed().as_secs_f64()))
}

/// Keeps the first `--online` sockets live and sends to random ones among them; every
/// delivery's delay.
async fn deliver(api: &str, mut sockets: Vec<clients::Socket>, args: &GatewayArgs) -> anyhow::Result<(u64, Latencies)> {
    let sent: Sent = Arc::default();
    let delays = Arc::new(Mutex::new(Vec::new()));
    let duration = Duration::from_secs(args.seconds);
    // Clients listen a little past the last send, for its delivery.
    let until = Instant::now() + duration + Duration::from_secs(5);
    let mut live = tokio::task::JoinSet::new();
    for socket in sockets.drain(..args.online) {
        live.spawn(clients::live(socket, sent.clone(), delays.clone(), until));
    }
    let claims = Claims {
        role: CallerRole::App,
        app_id: APP,
        sub: "bench".into(),
        exp: tidings_domain::time::now_s() + 3600,
        guest: false,
    };
    let token = Authenticator::new(SECRET.as_bytes()).mint(&claims);
    let http = reqwest::Client::new();
    let bar = progress::timer(duration, "sending");
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_secs(1) / args.sends_per_second);
    let mut sends = 0u64;
    while started.elapsed() < duration {
        ticks.tick().await;
        let uid = rand::rng().random_range(1..=args.online as i64);
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
    drop(sockets);
    let delays = std::mem::take(&mut *delays.lock().expect("lock poisoned"));
    Ok((sends, Latencies::new(delays)))
}

fn print_report(report: &GatewayReport) {
    let mut table = Table::new(&[("measure", Align::Left), ("value", Align::Right)]);
    let rows = [
        ("logged-in connections", count(report.connections as u64)),
        ("logins/s", count(report.logins_per_second.round() as u64)),
        ("login p50 / p99 ms", format!("{} / {}", ms(report.login_p50_ms), ms(report.login_p99_ms))),
        ("server RSS before", bytes(report.server_bytes_before)),
        ("server RSS with the connections", bytes(report.server_bytes_with_connections)),
        ("server memory per idle connection", format!("{:.0} B", report.bytes_per_connection)),
        ("online clients (delivery phase)", count(report.online as u64)),
        ("sends", count(report.sends)),
        ("delivered (notify + sync over the socket)", count(report.delivered as u64)),
        ("delivery p50 / p99 ms", format!("{} / {}", ms(report.delivery_p50_ms), ms(report.delivery_p99_ms))),
    ];
    for (measure, value) in rows {
        table.row(vec![measure.to_owned(), value]);
    }
    println!();
    println!("{}", table.render());
    println!("machine: {}", report.machine.summary());
}
