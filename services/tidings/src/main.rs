//! `tidings`: one binary, argument parsing around the library's `run` functions.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tidings::config::{Config, Overrides};
use tidings::server::Role;

#[derive(Debug, Parser)]
#[command(
    name = "tidings",
    version,
    about = "Tidings: a message-platform backend for instant messaging",
    long_about = "Tidings delivers messages into per-user private mailboxes and reaches every user of an \
app with one write, through a public mailbox merged in at pull time.\n\n\
Configuration comes from defaults, then the TOML file given with --config (or TIDINGS_CONFIG), \
then TIDINGS_* environment variables (`__` nests: TIDINGS_PULLER__REFRESH_INTERVAL_MS=500), \
then the flags below. `tidings config` prints the result."
)]
struct Cli {
    /// A TOML config file; see tidings.example.toml for every key.
    #[arg(long, global = true, env = "TIDINGS_CONFIG")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every role (ingest, projector, puller, HTTP API) in one process on the embedded
    /// engines: one data directory, nothing else to install.
    AllInOne(ServeArgs),
    /// Mint a development token (real deployments mint them in their login service).
    Token(tidings::token::TokenArgs),
    /// Print the effective configuration, secrets hidden.
    Config(ServeArgs),
    /// Measure the hot paths on embedded engines and print a table.
    Bench(tidings::bench::BenchArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Where the embedded engines keep their files [default: ./data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The public API address [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// The admin address: /metrics, /health/live, /health/ready [default: 127.0.0.1:9090].
    #[arg(long)]
    admin_listen: Option<std::net::SocketAddr>,
}

impl ServeArgs {
    fn overrides(&self) -> Overrides {
        Overrides { data_dir: self.data_dir.clone(), listen: self.listen, admin_listen: self.admin_listen }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::AllInOne(args) => {
            let config = Config::load(cli.config.as_deref(), &args.overrides())?;
            tidings::telemetry::init(&config.telemetry);
            runtime.block_on(async { tidings::server::run(config, &Role::ALL, tidings::shutdown_signal()).await })
        }
        Command::Token(args) => {
            let config = Config::load(cli.config.as_deref(), &args.overrides())?;
            println!("{}", tidings::token::mint(&config, &args)?);
            Ok(())
        }
        Command::Config(args) => {
            let config = Config::load(cli.config.as_deref(), &args.overrides())?;
            print!("{}", config.to_redacted_toml()?);
            Ok(())
        }
        Command::Bench(args) => runtime.block_on(tidings::bench::run(args)),
    }
}
