//! `tidings operator add | list`: operators' accounts in the configured store.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use anyhow::Context;
use tidings_accounts::{AccountError, Accounts};
use tidings_server::Config;
use tidings_server::engines::{Engines, open_store};

use super::EngineArgs;

#[derive(Debug, clap::Subcommand)]
pub enum OperatorCommand {
    /// Create an operator account of an app in the configured store, with a password hashed
    /// with Argon2id. The password is asked for (twice, hidden) when stdin is a terminal,
    /// otherwise it is the first line of stdin: `printf '%s\n' "$PASSWORD" | tidings
    /// operator add --app 1 --name alice`. Names are 1 to 64 of A-Z a-z 0-9 . _ -; passwords
    /// at least 8 characters. An existing name is refused unless --reset is given. On
    /// embedded engines, stop the server first: only one process may open a data directory.
    Add {
        /// The app the operator works on.
        #[arg(long)]
        app: i64,
        /// The operator's login name, unique within the app.
        #[arg(long)]
        name: String,
        /// Replace the password of an existing operator instead of creating one.
        #[arg(long)]
        reset: bool,
        #[command(flatten)]
        engines: EngineArgs,
    },
    /// List the operators of an app: name and when their account was written.
    List {
        #[arg(long)]
        app: i64,
        #[command(flatten)]
        engines: EngineArgs,
    },
}

pub fn run(config_file: Option<&Path>, command: OperatorCommand) -> anyhow::Result<()> {
    let engines = match &command {
        OperatorCommand::Add { engines, .. } | OperatorCommand::List { engines, .. } => engines,
    };
    let config = Config::load(config_file, &engines.overrides())?;
    tidings_server::telemetry::init_logs(&config.telemetry);
    match command {
        OperatorCommand::Add { app, name, reset, .. } => {
            tidings_accounts::validate_name(&name)?;
            let password = read_password(app, &name)?;
            tidings_accounts::validate_password(&password)?;
            super::runtime()?.block_on(add(&config, app, &name, &password, reset))
        }
        OperatorCommand::List { app, .. } => super::runtime()?.block_on(list(&config, app)),
    }
}

async fn accounts(config: &Config) -> anyhow::Result<Accounts> {
    Ok(Accounts::new(open_store(config).await?))
}

async fn add(config: &Config, app: i64, name: &str, password: &str, reset: bool) -> anyhow::Result<()> {
    let accounts = accounts(config).await?;
    let result = match reset {
        false => accounts.add(app, name, password).await,
        true => accounts.reset_password(app, name, password).await,
    };
    let operator = match result {
        Ok(operator) => operator,
        Err(error @ AccountError::Exists { .. }) => anyhow::bail!("{error}: pass --reset to replace its password"),
        Err(error) => return Err(error.into()),
    };
    let done = if reset { "reset the password of" } else { "added" };
    println!(
        "{done} operator {:?} of app {} in the {}",
        operator.name,
        operator.app_id,
        Engines::describe_store(config)
    );
    Ok(())
}

async fn list(config: &Config, app: i64) -> anyhow::Result<()> {
    let operators = accounts(config).await?.list(app).await.context("listing operators")?;
    if operators.is_empty() {
        println!("app {app} has no operators yet: add one with `tidings operator add --app {app} --name NAME`");
    }
    for operator in operators {
        let written = jiff::Timestamp::from_microsecond(operator.created_at_us)
            .map(|at| at.to_string())
            .unwrap_or_else(|_| operator.created_at_us.to_string());
        println!("{}\t{written}", operator.name);
    }
    Ok(())
}

/// A hidden prompt, asked twice, on a terminal; the first line of stdin otherwise.
fn read_password(app: i64, name: &str) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let password = rpassword::prompt_password(format!("password for operator {name:?} of app {app}: "))?;
        let again = rpassword::prompt_password("the same password again: ")?;
        anyhow::ensure!(password == again, "the two passwords differ; nothing was written");
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    Ok(password.strip_suffix('\r').unwrap_or(password).to_owned())
}
