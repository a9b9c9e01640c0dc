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
    /// Run the ingest role: the API of business servers and operators (sends, broadcasts,
    /// whitelist), appending to the configured Kafka.
    Ingest(ServeArgs),
    /// Run the projector role: consume Kafka and project into the CQL store. Run several in
    /// one consumer group (projector.group) to share the partitions.
    Project(ServeArgs),
    /// Run the pull role: the API of clients (sync, history, read marks, deletions), with
    /// the public mailbox cached in memory.
    Pull(ServeArgs),
    /// Manage the CQL schema.
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Mint a development token (real deployments mint them in their login service).
    Token(tidings::token::TokenArgs),
    /// Print the effective configuration, secrets hidden.
    Config(ServeArgs),
    /// Benchmarks on the configured engines: `bench pipeline` (ingest, projection, pulls;
    /// with --ceilings beside Kafka's and the CQL store's raw rates) and `bench broadcast`
    /// (fan-out on write against the public mailbox, and pull storms), printed as tables.
    Bench(tidings::bench::BenchArgs),
}

#[derive(Debug, Subcommand)]
enum SchemaCommand {
    /// Create the keyspace and apply every versioned .cql file not applied yet (idempotent).
    Migrate(ServeArgs),
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
        Command::AllInOne(args) => serve(&runtime, cli.config.as_deref(), &args, &Role::ALL),
        Command::Ingest(args) => serve(&runtime, cli.config.as_deref(), &args, &[Role::Ingest]),
        Command::Project(args) => serve(&runtime, cli.config.as_deref(), &args, &[Role::Project]),
        Command::Pull(args) => serve(&runtime, cli.config.as_deref(), &args, &[Role::Pull]),
        Command::Schema(SchemaCommand::Migrate(args)) => {
            let config = Config::load(cli.config.as_deref(), &args.overrides())?;
            tidings::telemetry::init(&config.telemetry);
            runtime.block_on(tidings::server::migrate_schema(&config))
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
        Command::Bench(args) => runtime.block_on(tidings::bench::run(args, cli.config.as_deref())),
    }
}

fn serve(
    runtime: &tokio::runtime::Runtime,
    config_file: Option<&std::path::Path>,
    args: &ServeArgs,
    roles: &[Role],
) -> anyhow::Result<()> {
    let config = Config::load(config_file, &args.overrides())?;
    tidings::telemetry::init(&config.telemetry);
    runtime.block_on(async { tidings::server::run(config, roles, tidings::shutdown_signal()).await })
}
