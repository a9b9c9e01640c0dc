//! The auth secret and development tokens.

use std::path::Path;

use anyhow::Context;
use tidings_http::{Authenticator, Claims, Role};

use crate::config::Config;

const SECRET_FILE: &str = "auth.secret";

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// user: a client opening its own mailbox; app: a business server; operator: the console.
    #[arg(long, value_parser = parse_role)]
    role: Role,
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
    data_dir: Option<std::path::PathBuf>,
}

impl TokenArgs {
    pub fn overrides(&self) -> crate::config::Overrides {
        crate::config::Overrides { data_dir: self.data_dir.clone(), ..Default::default() }
    }
}

fn parse_role(value: &str) -> Result<Role, String> {
    match value {
        "user" => Ok(Role::User),
        "app" => Ok(Role::App),
        "operator" => Ok(Role::Operator),
        other => Err(format!("{other:?} is not a role: expected user, app or operator")),
    }
}

/// Mints a token with the configured (or generated) secret.
pub fn mint(config: &Config, args: &TokenArgs) -> anyhow::Result<String> {
    let secret = existing_secret(config)?;
    let sub = match (args.role, args.uid) {
        (Role::User, Some(uid)) if uid > 0 => uid.to_string(),
        (Role::User, _) => anyhow::bail!("--uid must be a positive uid for a user token"),
        (role, _) => format!("{}-{}", role.as_str(), args.app),
    };
    let ttl = args.ttl.unwrap_or(config.auth.token_ttl_s);
    let claims =
        Claims { role: args.role, app_id: args.app, sub, exp: tidings_domain::time::now_s() + ttl, guest: args.guest };
    Ok(Authenticator::new(secret.as_bytes()).mint(&claims))
}

/// The configured secret, or the one generated into the data directory.
fn existing_secret(config: &Config) -> anyhow::Result<String> {
    if !config.auth.secret.is_empty() {
        return Ok(config.auth.secret.clone());
    }
    let path = config.data_dir.join(SECRET_FILE);
    std::fs::read_to_string(&path).map(|s| s.trim().to_owned()).with_context(|| {
        format!(
            "no auth secret: set TIDINGS_AUTH__SECRET, or run `tidings all-in-one` once to generate {}",
            path.display()
        )
    })
}

/// The configured secret, else the data directory's, generated on first use.
pub fn secret_or_generate(config: &Config) -> anyhow::Result<String> {
    if let Ok(secret) = existing_secret(config) {
        return Ok(secret);
    }
    let path = config.data_dir.join(SECRET_FILE);
    let secret: String = (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
    write_private(&path, &secret)
        .with_context(|| format!("writing the generated auth secret to {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated an auth secret");
    Ok(secret)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, contents.as_bytes())
}
