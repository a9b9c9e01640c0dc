//! `tidings-bench gateway-load` (hidden): one load-generator process of `tidings-bench
//! gateway`. A process may hold at most 20,000 open files here, so the benchmark spreads
//! its connections over several of these, each connecting from its own 127.0.0.x.
//!
//! It logs its share of the users in, spread over the gateways, keeps every connection
//! live like the SDK, and speaks to its parent in JSON lines on stdout: a [`LoggedIn`]
//! once all are logged in, then a [`WaveReport`] once every connection got the next
//! broadcast (or was lost). It exits when its standard input closes.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use super::clients::{self, Observers, Wave, WaveReport};

#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// The gateways' WebSocket URLs, comma-separated; connection i goes to URL i mod n.
    #[arg(long, value_delimiter = ',', required = true)]
    urls: Vec<String>,
    /// The first uid of this process's share.
    #[arg(long)]
    first_uid: i64,
    /// How many users this process logs in.
    #[arg(long)]
    count: usize,
    /// The local address to connect from.
    #[arg(long)]
    source: IpAddr,
    /// Connections opening at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

/// The first line: every connection logged in.
#[derive(Debug, Serialize, Deserialize)]
pub struct LoggedIn {
    pub login_latencies_us: Vec<u64>,
}

/// One JSON line on stdout.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Line {
    LoggedIn(LoggedIn),
    Wave(WaveReport),
}

pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    anyhow::ensure!(!args.urls.is_empty() && args.concurrency >= 1, "--urls and --concurrency");
    let wave = Wave::new(args.count);
    let observers = Observers { sent: Arc::default(), delays: Arc::default(), wave: Some(wave.clone()) };
    // Live until the parent closes stdin; the deadline only bounds a forgotten process.
    let until = Instant::now() + Duration::from_secs(24 * 3600);
    let mut latencies = Vec::with_capacity(args.count);
    let uids = args.first_uid..args.first_uid + args.count as i64;
    clients::log_in_all(&args.urls, Some(args.source), uids, args.concurrency, |socket, latency| {
        latencies.push(latency.as_micros() as u64);
        tokio::spawn(clients::live(socket, observers.clone(), until));
    })
    .await?;
    say(&Line::LoggedIn(LoggedIn { login_latencies_us: latencies }))?;
    let mut stdin = tokio::io::stdin();
    let mut sink = Vec::new();
    tokio::select! {
        report = wave.settled() => say(&Line::Wave(report))?,
        _ = stdin.read_to_end(&mut sink) => return Ok(()),
    }
    stdin.read_to_end(&mut sink).await?;
    Ok(())
}

fn say(line: &Line) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(line)?);
    Ok(())
}
