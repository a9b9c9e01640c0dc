//! `tidings token`: development tokens.

use std::path::{Path, PathBuf};

use tidings_http::CallerRole;
use tidings_server::auth::{DevToken, mint_dev_token};
use tidings_server::{Config, Overrides};

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// user: a client opening its own mailbox; app: a business server; operator: the console.
    #[arg(long)]
    role: CallerRole,
    /// The app the token is scoped to.
    #[arg(long)]
    app: i64,
    /// The user's uid (role user only).
    #[arg(long, required_if_eq("role", "user"))]
    uid: Option<i64>,
    /// A device not logged in to an account (hidden from `logged_in_only` broadcasts).
    #[arg(long)]
    guest: bool,
    /// Lifetime in seconds [default: auth.token_ttl_s, 86400].
    #[arg(long)]
    ttl: Option<i64>,
    /// The data directory whose generated secret signs the token [default: ./data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub fn run(config_file: Option<&Path>, args: &TokenArgs) -> anyhow::Result<()> {
    let overrides = Overrides { data_dir: args.data_dir.clone(), ..Default::default() };
    let config = Config::load(config_file, &overrides)?;
    let token = DevToken { role: args.role, app_id: args.app, uid: args.uid, guest: args.guest, ttl_s: args.ttl };
    println!("{}", mint_dev_token(&config, &token)?);
    Ok(())
}
