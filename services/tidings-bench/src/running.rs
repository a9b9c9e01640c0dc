//! The pipeline a benchmark measures: the configured engines wrapped in counters, the
//! services on them, and the projector and the public-mailbox refresh running in the
//! background as they do in a deployment.

use std::sync::Arc;

use anyhow::Context;
use tidings_ingest::Ingest;
use tidings_puller::{PublicMailboxCache, Puller};
use tidings_server::Config;
use tidings_server::engines::Engines;
use tidings_server::services::{Services, Tasks, spawn_projector, spawn_public_mailbox_refresh};
use tidings_testkit::{CountingLog, CountingStore};
use tokio_util::sync::CancellationToken;

#[derive(Debug)]
pub struct RunningPipeline {
    pub config: Config,
    pub log: Arc<CountingLog>,
    pub store: Arc<CountingStore>,
    services: Services,
    pub ingest: Ingest,
    pub public: Arc<PublicMailboxCache>,
    pub puller: Puller,
    stop: CancellationToken,
    refresh_stop: CancellationToken,
    background: Tasks,
}

impl RunningPipeline {
    /// Opens the engines and builds the services; nothing runs in the background yet.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let engines = Engines::open(config).await?;
        let log = CountingLog::new(engines.log);
        let store = CountingStore::new(engines.store);
        let services = Services::new(config, Engines { log: log.clone(), store: store.clone() });
        let public = services.public_mailbox_cache();
        let stop = CancellationToken::new();
        Ok(Self {
            config: config.clone(),
            log,
            store,
            ingest: services.ingest(),
            puller: services.puller(public.clone()),
            public,
            services,
            refresh_stop: stop.child_token(),
            stop,
            background: Tasks::new(),
        })
    }

    /// Starts `count` projector instances in the configured consumer group.
    pub fn start_projectors(&mut self, count: usize) {
        for _ in 0..count {
            spawn_projector(&mut self.background, self.services.projector(), self.stop.clone());
        }
    }

    /// Loads the public mailbox and keeps it refreshed on the configured interval.
    pub async fn start_refresh(&mut self) -> anyhow::Result<()> {
        let interval = self.config.puller.refresh_interval;
        spawn_public_mailbox_refresh(&mut self.background, self.public.clone(), interval, self.refresh_stop.clone())
            .await
    }

    /// Stops the refresh, so that from now on only what bypasses the cache reads the
    /// public mailbox from the store.
    pub fn stop_refresh(&self) {
        self.refresh_stop.cancel();
    }

    /// Stops everything in the background and waits for it; the first failure, if any.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.stop.cancel();
        while let Some(done) = self.background.join_next().await {
            done.context("a background task panicked")??;
        }
        Ok(())
    }
}
