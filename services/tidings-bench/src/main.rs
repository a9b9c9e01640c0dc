//! `tidings-bench`: Tidings' hot paths measured on the configured engines (embedded ones by
//! default), printed as tables a person can read, and as JSON.
//!
//! - [`pipeline`] (`tidings-bench pipeline`): durable ingest, projection, merged pulls; with
//!   `--ceilings`, beside Kafka's and the CQL store's raw rates.
//! - [`broadcast`] (`tidings-bench broadcast`): what reaching every user costs by fan-out on
//!   write against the public mailbox, then pull storms with the public-mailbox cache on and
//!   off.
//! - [`gateway`] (`tidings-bench gateway`): idle WebSocket connections, the gateway's memory
//!   per connection, and delivery latency through notify and sync.
//! - [`faults`] (`tidings-bench faults`): projectors, Kafka and Cassandra killed, stalled
//!   and cut off while clients send and sync, and a checker of what came through.
//!
//! What they share: [`namespace`] (a run's own topics, group and keyspace on shared
//! engines), [`processes`] (`tidings` processes of their own), [`running`] (the engines
//! wrapped in counters, with the projector and the cache refresh running as in a
//! deployment), [`pull_storm`] (simulated users pulling), [`waits`] (waiting on the
//! projector and for the process to go quiet), [`report`] (tables, percentiles, JSON, the
//! machine) and [`progress`] (bars on stderr).

mod broadcast;
mod faults;
mod gateway;
mod namespace;
mod pipeline;
mod processes;
mod progress;
mod pull_storm;
mod report;
mod running;
mod waits;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The app every benchmark run writes to (each run has engines or a namespace of its own).
const APP: i64 = 1;

/// Who the benchmarks' broadcast commands name in the audit trail.
fn bench_actor() -> tidings_domain::audit::Actor {
    tidings_domain::audit::Actor::App("tidings-bench".into())
}

#[derive(Debug, Parser)]
#[command(
    name = "tidings-bench",
    version,
    about = "Benchmarks of Tidings' hot paths on the configured engines, printed as tables",
    long_about = "Benchmarks of Tidings' hot paths on the engines the configuration names (embedded ones by \
default, in a fresh temporary directory). On Kafka and a CQL store each run writes under names of its own \
(a bench_<time> topic prefix, consumer group and keyspace), so it never mixes with a deployment's data. \
Markdown tables go to stdout, progress bars to stderr; --json FILE writes the same figures as JSON."
)]
struct Cli {
    /// A TOML config file naming the engines (see tidings.example.toml).
    #[arg(long, global = true, env = "TIDINGS_CONFIG")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ingest, projection and merged pulls on the configured engines (with --ceilings, beside
    /// the engines' raw rates).
    Pipeline(pipeline::PipelineArgs),
    /// One broadcast to N users by fan-out on write and by the public mailbox, then a pull
    /// storm with the public-mailbox cache on and off; engines from the configuration.
    Broadcast(broadcast::BroadcastArgs),
    /// The long connection: idle connections and the gateways' memory per connection,
    /// delivery latency (notify + sync over the socket) under business sends, and a broadcast
    /// wave's pull rate against its budget; against processes of its own (one all-in-one, or
    /// with --config on Kafka + CQL, ingest, project and --gateways gateways).
    Gateway(gateway::GatewayArgs),
    /// Faults injected into processes of its own on the configured Kafka and CQL store
    /// (projectors killed, the broker killed, Cassandra stopped, the store cut off) while
    /// clients send and sync; fails when anything acknowledged was lost, duplicated or
    /// skipped.
    Faults(faults::FaultsArgs),
    /// One load-generator process of `gateway` (started by it).
    #[command(hide = true)]
    GatewayLoad(gateway::load::LoadArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let config_file = cli.config.as_deref();
    runtime.block_on(async {
        match cli.command {
            Command::Pipeline(args) => pipeline::run(args, config_file).await,
            Command::Broadcast(args) => broadcast::run(args, config_file).await,
            Command::Gateway(args) => gateway::run(args, config_file).await,
            Command::Faults(args) => faults::run(args, config_file).await,
            Command::GatewayLoad(args) => gateway::load::run(args).await,
        }
    })
}
