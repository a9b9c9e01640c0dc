//! The roles a process runs: all of them (all-in-one) or one each (distributed), until
//! shutdown.

use anyhow::Context;
use tidings_console::{ConsoleState, console_router};
use tidings_gateway::Gateway;
use tidings_http::admin::{AdminState, admin_router};
use tidings_http::rates::SendRates;
use tidings_http::{ApiSurfaces, Authenticator, BusinessState, ClientState, api_router};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::config::Config;
use crate::engines::Engines;
use crate::services::{
    Services, Tasks, spawn_notify_feed, spawn_projector, spawn_public_mailbox_refresh, spawn_reach_flush,
};

/// A role a Tidings process runs (not to be confused with a caller's role in a token,
/// [`tidings_http::CallerRole`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerRole {
    /// The API of business servers and operators: validates and appends events.
    Ingest,
    /// Consumes the log and projects it into the store.
    Project,
    /// The API of clients: merged pulls, read marks, deletions.
    Pull,
    /// The long connection of clients (`GET /v1/connect`): notifies, sync and sends.
    Gateway,
}

impl ServerRole {
    /// Every role: what all-in-one runs.
    pub const ALL: [ServerRole; 4] = [ServerRole::Ingest, ServerRole::Project, ServerRole::Pull, ServerRole::Gateway];
}

/// Runs `roles` on the configured engines until `shutdown` is cancelled, or until one of
/// them fails; then stops the others, so that a supervisor restarts the whole process.
pub async fn run(config: Config, roles: &[ServerRole], shutdown: CancellationToken) -> anyhow::Result<()> {
    anyhow::ensure!(
        !Engines::any_embedded(&config) || roles.len() == ServerRole::ALL.len(),
        "the embedded engines serve one process: run `tidings all-in-one`, or configure Kafka and a CQL store"
    );
    let metrics = crate::telemetry::install_metrics()?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let services = Services::new(&config, Engines::open(&config).await?);
    let mut tasks = Tasks::new();

    let serves_clients = roles.contains(&ServerRole::Pull) || roles.contains(&ServerRole::Gateway);
    // With pull workers in the process, its projector stops after their last reach flush.
    let projector_stop = if serves_clients { CancellationToken::new() } else { shutdown.clone() };
    if roles.contains(&ServerRole::Project) {
        spawn_projector(&mut tasks, services.projector(), projector_stop.clone());
    }
    let public_cache = match serves_clients {
        true => {
            let cache = services.public_mailbox_cache();
            spawn_public_mailbox_refresh(&mut tasks, cache.clone(), config.puller.refresh_interval, shutdown.clone())
                .await?;
            spawn_reach_flush(&mut tasks, &services, shutdown.clone(), projector_stop.clone());
            Some(cache)
        }
        false => None,
    };
    let business = roles.contains(&ServerRole::Ingest);
    if business || public_cache.is_some() {
        let secret = crate::auth::secret_or_generate(&config)?;
        let auth = Authenticator::new(secret.as_bytes());
        let ingest = services.ingest();
        let pulls = roles.contains(&ServerRole::Pull);
        let surfaces = ApiSurfaces {
            business: business.then(|| BusinessState {
                ingest: ingest.clone(),
                auth: auth.clone(),
                rates: SendRates::new(config.ingest.sends_per_second_per_app, config.ingest.send_burst_per_app),
            }),
            clients: public_cache.clone().filter(|_| pulls).map(|cache| ClientState {
                ingest: ingest.clone(),
                puller: services.puller(cache),
                auth: auth.clone(),
                limits: config.puller.page_limits(),
            }),
        };
        let mut router = api_router(surfaces);
        if business && config.console.enabled {
            let console = ConsoleState::new(
                ingest.clone(),
                services.store(),
                services.accounts(),
                secret.as_bytes(),
                &config.console,
            );
            router = router.merge(console_router(console));
        }
        if let Some(cache) = public_cache.clone().filter(|_| roles.contains(&ServerRole::Gateway)) {
            let gateway = Gateway {
                settings: config.gateway.clone().for_process(config.listen),
                auth,
                puller: services.puller(cache.clone()),
                public: cache,
                ingest,
                limits: config.puller.page_limits(),
                sessions: Default::default(),
                draining: shutdown.clone(),
            };
            spawn_notify_feed(&mut tasks, &gateway, &services, shutdown.clone());
            // Shutdown waits for the sessions to drain (4503, spread over the window).
            let drained = gateway.clone();
            tasks.spawn(async move {
                drained.drained().await;
                Ok(())
            });
            router = router.merge(gateway.router());
        }
        serve(&mut tasks, "API", config.listen, router, &config.listeners, &shutdown).await?;
    }
    let admin = admin_router(AdminState { metrics, public_cache });
    serve(&mut tasks, "admin", config.admin_listen, admin, &config.listeners, &shutdown).await?;
    info!(?roles, data_dir = %config.data_dir.display(), "tidings running");

    let first = tasks.join_next().await.expect("tasks were spawned");
    shutdown.cancel();
    let mut result = first.context("task panicked")?;
    while let Some(next) = tasks.join_next().await {
        let outcome = next.context("task panicked").and_then(|r| r);
        if result.is_ok() {
            result = outcome;
        }
    }
    info!("tidings stopped");
    result
}

async fn serve(
    tasks: &mut Tasks,
    name: &'static str,
    address: std::net::SocketAddr,
    router: axum::Router,
    limits: &crate::listener::ListenerSettings,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let listener =
        TcpListener::bind(address).await.with_context(|| format!("binding the {name} listener {address}"))?;
    info!(listener = name, address = %listener.local_addr()?, "listening");
    let (stop, limits) = (shutdown.clone(), limits.clone());
    tasks.spawn(async move { crate::listener::serve(listener, router, &limits, stop).await.context(name) });
    Ok(())
}
