//! `tidings schema migrate`.

use std::path::Path;

use tidings_server::Config;

use super::ServeArgs;

#[derive(Debug, clap::Subcommand)]
pub enum SchemaCommand {
    /// Create the keyspace and apply every versioned .cql file not applied yet (idempotent).
    Migrate(ServeArgs),
}

pub fn run(config_file: Option<&Path>, command: SchemaCommand) -> anyhow::Result<()> {
    let SchemaCommand::Migrate(args) = command;
    let config = Config::load(config_file, &args.overrides())?;
    tidings_server::telemetry::init_logs(&config.telemetry);
    super::runtime()?.block_on(tidings_server::engines::migrate_schema(&config))
}
