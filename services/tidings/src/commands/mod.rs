//! One module per command; what they share is here.

pub mod config;
pub mod operator;
pub mod replay;
pub mod schema;
pub mod serve;
pub mod token;

use std::path::PathBuf;

use tidings_server::Overrides;

/// The flags of the commands that run (or describe) a server.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Where the embedded engines keep their files [default: ./data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The public API address [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// The admin address: /metrics, /health/live, /health/ready [default: 127.0.0.1:9090].
    #[arg(long)]
    pub admin_listen: Option<std::net::SocketAddr>,
}

impl ServeArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides { data_dir: self.data_dir.clone(), listen: self.listen, admin_listen: self.admin_listen }
    }
}

/// The flags of the commands that work on the engines without serving (`replay`,
/// `operator`).
#[derive(Debug, clap::Args)]
pub struct EngineArgs {
    /// Where the embedded engines keep their files [default: ./data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl EngineArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides { data_dir: self.data_dir.clone(), ..Overrides::default() }
    }
}

/// A multi-threaded runtime for the commands that talk to engines.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
