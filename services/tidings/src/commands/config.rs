//! `tidings config`.

use std::path::Path;

use tidings_server::Config;

use super::ServeArgs;

pub fn run(config_file: Option<&Path>, args: &ServeArgs) -> anyhow::Result<()> {
    let config = Config::load(config_file, &args.overrides())?;
    print!("{}", config.to_redacted_toml()?);
    Ok(())
}
