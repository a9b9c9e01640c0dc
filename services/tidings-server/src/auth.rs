//! The secret that signs tokens, and development tokens.
//!
//! Real deployments set `auth.secret` (by environment) and mint tokens in their own login
//! service; all-in-one generates a secret into its data directory on first start, so the
//! quick start needs no set-up, and `tidings token` mints development tokens with it.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tidings_http::{Authenticator, CallerRole, Claims};

use crate::config::Config;

const SECRET_FILE: &str = "auth.secret";

/// The `[auth]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// The HS256 secret; empty means: read it from (or generate it into) `<data_dir>/auth.secret`.
    pub secret: String,
    /// Lifetime of tokens minted by `tidings token`.
    pub token_ttl_s: i64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self { secret: String::new(), token_ttl_s: 24 * 3600 }
    }
}

/// What a development token says.
#[derive(Debug, Clone)]
pub struct DevToken {
    pub role: CallerRole,
    pub app_id: i64,
    /// The user's uid; required for [`CallerRole::User`].
    pub uid: Option<i64>,
    /// A device not logged in to an account.
    pub guest: bool,
    /// Lifetime in seconds; `auth.token_ttl_s` when unset.
    pub ttl_s: Option<i64>,
}

/// Mints a token with the configured secret, or the one all-in-one generated.
pub fn mint_dev_token(config: &Config, token: &DevToken) -> anyhow::Result<String> {
    let secret = existing_secret(config)?;
    let sub = match (token.role, token.uid) {
        (CallerRole::User, Some(uid)) if uid > 0 => uid.to_string(),
        (CallerRole::User, _) => anyhow::bail!("--uid must be a positive uid for a user token"),
        (role, _) => format!("{}-{}", role.as_str(), token.app_id),
    };
    let ttl = token.ttl_s.unwrap_or(config.auth.token_ttl_s);
    let claims = Claims {
        role: token.role,
        app_id: token.app_id,
        sub,
        exp: tidings_domain::time::now_s() + ttl,
        guest: token.guest,
    };
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

/// Copies the secret generated into data directory `from` into data directory `to` (unless
/// `to` has one), so a server switched to a rebuilt directory accepts the same tokens.
pub fn carry_generated_secret(from: &Path, to: &Path) -> anyhow::Result<()> {
    let (source, target) = (from.join(SECRET_FILE), to.join(SECRET_FILE));
    if !source.exists() || target.exists() {
        return Ok(());
    }
    let secret = std::fs::read_to_string(&source).with_context(|| format!("reading {}", source.display()))?;
    write_private(&target, &secret).with_context(|| format!("writing {}", target.display()))
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
