//! The `tidings` binary's library: configuration, wiring of the services onto engines, and
//! the commands around them. `main.rs` only parses arguments.
//!
//! - [`config`]: the layered configuration.
//! - [`server`]: the roles (ingest, project, pull) on the configured engines.
//! - [`token`]: development tokens and the auth secret.
//! - [`bench`]: the benchmarks (`tidings bench pipeline`, `tidings bench broadcast`).
//! - [`telemetry`]: logs and the metrics recorder.

pub mod bench;
pub mod config;
pub mod server;
pub mod telemetry;
pub mod token;

use tokio_util::sync::CancellationToken;

/// A token cancelled on Ctrl-C or SIGTERM.
pub fn shutdown_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            () = terminate => {}
        }
        tracing::info!("shutdown requested");
        cancel.cancel();
    });
    token
}
