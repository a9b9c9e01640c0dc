//! Every role in one process, on the embedded engines in one data directory.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tidings_embedded::EmbeddedEngines;
use tidings_events::EventCodec;
use tidings_http::admin::{AdminState, admin_router};
use tidings_http::{ApiState, Authenticator, PullLimits, api_router};
use tidings_ingest::Ingest;
use tidings_ports::{EventLog, Store, Topics};
use tidings_projector::Projector;
use tidings_puller::{CacheMode, PublicMailboxCache, Puller};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::config::{Config, LogConfig};

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
        let topics = Topics::with_prefix(config.log.topic_prefix());
        let ingest = Ingest::new(log.clone(), store.clone(), codec.clone(), topics.clone(), config.ingest.settings());
        let projector = Projector::new(log, store.clone(), codec, topics, config.projector.settings());
        let mode = if config.puller.public_cache { CacheMode::Cached } else { CacheMode::Bypass };
        let public = Arc::new(PublicMailboxCache::new(store.clone(), mode));
        let puller = Puller::new(store, public.clone());
        Self { ingest, projector, public, puller }
    }
}

/// Opens the embedded engines in the configured data directory.
pub fn open_embedded(config: &Config) -> anyhow::Result<(Arc<dyn EventLog>, Arc<dyn Store>)> {
    let LogConfig::Embedded { partitions, .. } = &config.log;
    let dir = config.data_dir.join("engines");
    let engines = EmbeddedEngines::open(&dir, *partitions)
        .with_context(|| format!("opening the embedded engines in {}", dir.display()))?;
    Ok((engines.log, engines.store))
}

/// Runs until `shutdown` is cancelled.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let metrics = crate::telemetry::install_metrics()?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let secret = crate::token::secret_or_generate(&config)?;
    let (log, store) = open_embedded(&config)?;
    let pipeline = Pipeline::assemble(&config, log, store);
    pipeline.public.refresh().await.context("loading the public mailbox")?;

    let api = api_router(ApiState {
        ingest: pipeline.ingest.clone(),
        puller: pipeline.puller.clone(),
        auth: Authenticator::new(secret.as_bytes()),
        limits: PullLimits { default_limit: config.puller.default_limit, max_limit: config.puller.max_limit },
    });
    let admin = admin_router(AdminState { metrics, public_cache: Some(pipeline.public.clone()) });
    let api_listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding the API listener {}", config.listen))?;
    let admin_listener = TcpListener::bind(config.admin_listen)
        .await
        .with_context(|| format!("binding the admin listener {}", config.admin_listen))?;
    info!(
        api = %api_listener.local_addr()?,
        admin = %admin_listener.local_addr()?,
        data_dir = %config.data_dir.display(),
        "tidings all-in-one listening"
    );

    let mut tasks = tokio::task::JoinSet::new();
    let projector = pipeline.projector.clone();
    let stop = shutdown.clone();
    tasks.spawn(async move { projector.run(stop).await.context("projector") });
    let refresh_interval = Duration::from_millis(config.puller.refresh_interval_ms);
    let refresher = pipeline.public.clone().run(refresh_interval, shutdown.clone());
    tasks.spawn(async move {
        refresher.await;
        Ok(())
    });
    let stop = shutdown.clone();
    tasks.spawn(async move {
        axum::serve(api_listener, api).with_graceful_shutdown(stop.cancelled_owned()).await.context("API listener")
    });
    let stop = shutdown.clone();
    tasks.spawn(async move {
        axum::serve(admin_listener, admin)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
            .context("admin listener")
    });

    // The first task to end ends the process: on shutdown all end; on a failure the rest
    // are stopped so a supervisor restarts the whole process.
    let first = tasks.join_next().await.expect("tasks were spawned");
    shutdown.cancel();
    let mut result = first.context("task panicked")?;
    while let Some(next) = tasks.join_next().await {
        let outcome = next.context("task panicked").and_then(|r| r);
        if result.is_ok() {
            result = outcome;
        }
    }
    info!("tidings all-in-one stopped");
    result
}
