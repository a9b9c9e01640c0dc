//! `tidings all-in-one | ingest | project | pull`.

use std::path::Path;

use tidings_server::{Config, ServerRole};

use super::ServeArgs;

pub fn run(config_file: Option<&Path>, args: &ServeArgs, roles: &[ServerRole]) -> anyhow::Result<()> {
    let config = Config::load(config_file, &args.overrides())?;
    tidings_server::telemetry::init_logs(&config.telemetry);
    super::runtime()?.block_on(async {
        let shutdown = tidings_server::shutdown::on_signal();
        tidings_server::roles::run(config, roles, shutdown).await
    })
}
