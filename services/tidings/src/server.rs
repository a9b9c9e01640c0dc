//! Runs roles of the pipeline: all of them in one process (all-in-one), or one per process
//! (distributed), on the engines the configuration names.

use std::sync::Arc;

use anyhow::Context;
use tidings_embedded::EmbeddedEngines;
use tidings_events::EventCodec;
use tidings_http::admin::{AdminState, admin_router};
use tidings_http::{ApiSurfaces, Authenticator, BusinessState, ClientState, PullLimits, api_router};
use tidings_ingest::Ingest;
use tidings_kafka::KafkaLog;
use tidings_ports::{EventLog, Store, Topics};
use tidings_projector::Projector;
use tidings_puller::{CacheMode, PublicMailboxCache, Puller};
use tidings_scylla::ScyllaStore;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::config::{Config, LogConfig, StoreConfig};

/// A role a process can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The API of business servers and operators: validates and appends events.
    Ingest,
    /// Consumes the log and projects it into the store.
    Project,
    /// The API of clients: merged pulls, read marks, deletions.
    Pull,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Ingest, Role::Project, Role::Pull];

    fn serves_api(roles: &[Role]) -> bool {
        roles.contains(&Role::Ingest) || roles.contains(&Role::Pull)
    }
}

/// The services of one pipeline, wired onto a log and a store.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub ingest: Ingest,
    pub projector: Projector,
    pub public: Arc<PublicMailboxCache>,
    pub puller: Puller,
}

impl Pipeline {
    pub fn assemble(config: &Config, log: Arc<dyn EventLog>, store: Arc<dyn Store>) -> Self {
        let codec = EventCodec::new();
        let topics = Topics::with_prefix(&config.topics.prefix);
        let ingest = Ingest::new(log.clone(), store.clone(), codec.clone(), topics.clone(), config.ingest.settings());
        let projector = Projector::new(log, store.clone(), codec, topics, config.projector.settings());
        let mode = if config.puller.public_cache { CacheMode::Cached } else { CacheMode::Bypass };
        let public = Arc::new(PublicMailboxCache::new(store.clone(), mode));
        let puller = Puller::new(store, public.clone());
        Self { ingest, projector, public, puller }
    }
}

/// Opens the engines the configuration names. The embedded ones live in one process: only
/// a process that runs every role may use them.
pub async fn open_engines(config: &Config, roles: &[Role]) -> anyhow::Result<(Arc<dyn EventLog>, Arc<dyn Store>)> {
    let embedded_log = match &config.log {
        LogConfig::Embedded { partitions } => Some(*partitions),
        LogConfig::Kafka(_) => None,
    };
    let uses_embedded = embedded_log.is_some() || config.store == StoreConfig::Embedded;
    anyhow::ensure!(
        !uses_embedded || roles.len() == Role::ALL.len(),
        "the embedded engines serve one process: run `tidings all-in-one`, or configure Kafka and a CQL store"
    );
    let embedded = match uses_embedded {
        true => {
            let dir = config.data_dir.join("engines");
            let partitions = embedded_log.unwrap_or(1);
            Some(
                EmbeddedEngines::open_with_cache(&dir, partitions, config.embedded.block_cache_bytes())
                    .with_context(|| format!("opening the embedded engines in {}", dir.display()))?,
            )
        }
        false => None,
    };
    let log: Arc<dyn EventLog> = match (&config.log, &embedded) {
        (LogConfig::Kafka(settings), _) => KafkaLog::connect(settings.clone())
            .await
            .with_context(|| format!("connecting to Kafka at {}", settings.bootstrap_servers))?,
        (LogConfig::Embedded { .. }, Some(engines)) => engines.log.clone(),
        (LogConfig::Embedded { .. }, None) => unreachable!("opened above"),
    };
    let store: Arc<dyn Store> = match (&config.store, &embedded) {
        (StoreConfig::Scylla(settings), _) => ScyllaStore::connect(settings)
            .await
            .with_context(|| format!("connecting to the CQL store at {:?}", settings.nodes))?,
        (StoreConfig::Embedded, Some(engines)) => engines.store.clone(),
        (StoreConfig::Embedded, None) => unreachable!("opened above"),
    };
    Ok((log, store))
}

/// Applies the CQL schema to the configured store (`tidings schema migrate`).
pub async fn migrate_schema(config: &Config) -> anyhow::Result<()> {
    let StoreConfig::Scylla(settings) = &config.store else {
        anyhow::bail!("the configured store is embedded: it needs no migration (set store.provider = \"scylla\")");
    };
    let session = tidings_scylla::open_session(settings)
        .await
        .with_context(|| format!("connecting to the CQL store at {:?}", settings.nodes))?;
    let report = tidings_scylla::migrate(&session, &settings.keyspace, settings.replication_factor)
        .await
        .with_context(|| format!("migrating keyspace {}", settings.keyspace))?;
    info!(keyspace = %settings.keyspace, ?report, "schema migrated");
    Ok(())
}

/// Runs `roles` until `shutdown` is cancelled.
pub async fn run(config: Config, roles: &[Role], shutdown: CancellationToken) -> anyhow::Result<()> {
    let metrics = crate::telemetry::install_metrics()?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let (log, store) = open_engines(&config, roles).await?;
    let pipeline = Pipeline::assemble(&config, log, store);
    let mut tasks = JoinSet::new();

    if roles.contains(&Role::Project) {
        let projector = pipeline.projector.clone();
        let stop = shutdown.clone();
        tasks.spawn(async move { projector.run(stop).await.context("projector") });
    }
    let serves_pulls = roles.contains(&Role::Pull);
    if serves_pulls {
        pipeline.public.refresh().await.context("loading the public mailbox")?;
        let refresher = pipeline.public.clone().run(config.puller.refresh_interval(), shutdown.clone());
        tasks.spawn(async move {
            refresher.await;
            Ok(())
        });
    }
    if Role::serves_api(roles) {
        let auth = Authenticator::new(crate::token::secret_or_generate(&config)?.as_bytes());
        let surfaces = ApiSurfaces {
            business: roles
                .contains(&Role::Ingest)
                .then(|| BusinessState { ingest: pipeline.ingest.clone(), auth: auth.clone() }),
            clients: serves_pulls.then(|| ClientState {
                ingest: pipeline.ingest.clone(),
                puller: pipeline.puller.clone(),
                auth,
                limits: PullLimits { default_limit: config.puller.default_limit, max_limit: config.puller.max_limit },
            }),
        };
        serve(&mut tasks, "API", config.listen, api_router(surfaces), &shutdown).await?;
    }
    let public_cache = serves_pulls.then(|| pipeline.public.clone());
    let admin = admin_router(AdminState { metrics, public_cache });
    serve(&mut tasks, "admin", config.admin_listen, admin, &shutdown).await?;
    info!(?roles, data_dir = %config.data_dir.display(), "tidings running");

    // The first task to end ends the process: on shutdown all end; on a failure the rest
    // are stopped so that a supervisor restarts the whole process.
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
    tasks: &mut JoinSet<anyhow::Result<()>>,
    name: &'static str,
    address: std::net::SocketAddr,
    router: axum::Router,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let listener =
        TcpListener::bind(address).await.with_context(|| format!("binding the {name} listener {address}"))?;
    info!(listener = name, address = %listener.local_addr()?, "listening");
    let stop = shutdown.clone();
    tasks.spawn(async move {
        axum::serve(listener, router).with_graceful_shutdown(stop.cancelled_owned()).await.context(name)
    });
    Ok(())
}
