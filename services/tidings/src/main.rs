//! `tidings`: the command line around the `tidings-server` library. One module per command
//! under [`commands`]; each parses its flags and calls the library.

mod commands;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use commands::{ServeArgs, config, operator, replay, schema, serve, token};

#[derive(Debug, Parser)]
#[command(
    name = "tidings",
    version,
    about = "Tidings: a message-platform backend for instant messaging",
    long_about = "Tidings delivers messages into per-user private mailboxes and reaches every user of an \
app with one write, through a public mailbox merged in at pull time.\n\n\
Configuration comes from defaults, then the TOML file given with --config (or TIDINGS_CONFIG), \
then TIDINGS_* environment variables (`__` nests: TIDINGS_PULLER__REFRESH_INTERVAL_MS=500), \
then the flags below. `tidings config` prints the result. Benchmarks are a binary of their own: \
`tidings-bench --help`."
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
    /// Run every role (ingest, projector, puller, gateway, HTTP API) in one process on the embedded
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
    /// Run the gateway role: clients' long connections (`GET /v1/connect`, WebSocket):
    /// notifies from the notify topic, sync and sends over the socket. Give each gateway
    /// process its own gateway.group: each reads every notify.
    Gateway(ServeArgs),
    /// Manage the CQL schema.
    #[command(subcommand)]
    Schema(schema::SchemaCommand),
    /// Recover by replay: plan, rebuild and verify the projections from the event topics, and
    /// move consumer groups. The runbook is in README.md ("A projection is wrong").
    #[command(subcommand)]
    Replay(replay::ReplayCommand),
    /// Manage operators' accounts (who may log in to the console) in the configured store:
    /// create the first one with `tidings operator add --app 1 --name alice`.
    #[command(subcommand)]
    Operator(operator::OperatorCommand),
    /// Mint a development token (real deployments mint them in their login service).
    Token(token::TokenArgs),
    /// Print the effective configuration, secrets hidden.
    Config(ServeArgs),
}

fn main() -> anyhow::Result<()> {
    use tidings_server::ServerRole;
    let cli = Cli::parse();
    let config_file = cli.config.as_deref();
    match cli.command {
        Command::AllInOne(args) => serve::run(config_file, &args, &ServerRole::ALL),
        Command::Ingest(args) => serve::run(config_file, &args, &[ServerRole::Ingest]),
        Command::Project(args) => serve::run(config_file, &args, &[ServerRole::Project]),
        Command::Pull(args) => serve::run(config_file, &args, &[ServerRole::Pull]),
        Command::Gateway(args) => serve::run(config_file, &args, &[ServerRole::Gateway]),
        Command::Schema(command) => schema::run(config_file, command),
        Command::Replay(command) => replay::run(config_file, command),
        Command::Operator(command) => operator::run(config_file, command),
        Command::Token(args) => token::run(config_file, &args),
        Command::Config(args) => config::run(config_file, &args),
    }
}
