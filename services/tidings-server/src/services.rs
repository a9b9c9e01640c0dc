//! The services of Tidings built on one pair of engines, and the background tasks that
//! keep the projector and the public-mailbox cache running.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tidings_accounts::Accounts;
use tidings_events::EventCodec;
use tidings_gateway::Gateway;
use tidings_ingest::Ingest;
use tidings_ports::{Store, Topics};
use tidings_projector::Projector;
use tidings_puller::{PublicMailboxCache, Puller, run_reach_flush};
use tidings_reach::ReachCounter;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::engines::Engines;

/// Builds each service on the same engines, codec and topic names, on demand, so a process
/// builds only the services of the roles it runs.
#[derive(Debug, Clone)]
pub struct Services {
    config: Config,
    engines: Engines,
    codec: EventCodec,
    topics: Topics,
    /// The process's reach counter, shared by its pullers and its flush task; `None` when
    /// `puller.reach_counting` is off.
    reach: Option<Arc<ReachCounter>>,
}

impl Services {
    pub fn new(config: &Config, engines: Engines) -> Self {
        let topics = Topics::with_prefix(&config.topics.prefix);
        let reach = config.puller.reach_counting.then(|| Arc::new(ReachCounter::new()));
        Self { config: config.clone(), engines, codec: EventCodec::new(), topics, reach }
    }

    pub fn ingest(&self) -> Ingest {
        let Engines { log, store } = self.engines.clone();
        Ingest::new(log, store, self.codec.clone(), self.topics.clone(), self.config.ingest.clone())
    }

    pub fn projector(&self) -> Projector {
        let Engines { log, store } = self.engines.clone();
        Projector::new(log, store, self.codec.clone(), self.topics.clone(), self.config.projector.clone())
    }

    /// A public-mailbox cache in the configured mode; share one per process, between its
    /// pullers and its refresh task.
    pub fn public_mailbox_cache(&self) -> Arc<PublicMailboxCache> {
        Arc::new(PublicMailboxCache::new(self.engines.store.clone(), self.config.puller.cache_mode()))
    }

    /// The store, for what reads it directly (the console's previews and reach).
    pub fn store(&self) -> Arc<dyn Store> {
        self.engines.store.clone()
    }

    /// Operator accounts, kept in the store.
    pub fn accounts(&self) -> Accounts {
        Accounts::new(self.engines.store.clone())
    }

    pub fn puller(&self, public: Arc<PublicMailboxCache>) -> Puller {
        let puller = Puller::new(self.engines.store.clone(), public);
        match &self.reach {
            Some(counter) => puller.with_reach(counter.clone()),
            None => puller,
        }
    }
}

/// Appends what this process's pullers counted of reach every `puller.reach_flush_interval`
/// among `tasks`, and once more when `stop` is cancelled, then cancels `flushed` (so that a
/// projector of the same process stops after the last flush, and projects it); nothing but
/// that when reach isn't counted.
pub fn spawn_reach_flush(tasks: &mut Tasks, services: &Services, stop: CancellationToken, flushed: CancellationToken) {
    let Some(counter) = services.reach.clone() else {
        tasks.spawn(async move {
            stop.cancelled().await;
            flushed.cancel();
            Ok(())
        });
        return;
    };
    let flush = run_reach_flush(
        counter,
        services.engines.log.clone(),
        services.codec.clone(),
        services.topics.clone(),
        services.config.puller.reach_flush_interval,
        stop,
    );
    tasks.spawn(async move {
        flush.await;
        flushed.cancel();
        Ok(())
    });
}

/// Reads the notify topic into `gateway`'s sessions among `tasks` until `stop` is cancelled.
pub fn spawn_notify_feed(tasks: &mut Tasks, gateway: &Gateway, services: &Services, stop: CancellationToken) {
    let (gateway, log, topic) = (gateway.clone(), services.engines.log.clone(), services.topics.notify.clone());
    tasks.spawn(async move { gateway.run_feed(log, topic, stop).await.context("notify feed") });
}

/// Background tasks of a process; the first to end (or fail) ends the process.
pub type Tasks = JoinSet<anyhow::Result<()>>;

/// Runs `projector` among `tasks` until `stop` is cancelled.
pub fn spawn_projector(tasks: &mut Tasks, projector: Projector, stop: CancellationToken) {
    tasks.spawn(async move { projector.run(stop).await.context("projector") });
}

/// Loads the public mailbox into `cache` (so the first pull already sees it), then keeps
/// refreshing it every `interval` among `tasks` until `stop` is cancelled.
pub async fn spawn_public_mailbox_refresh(
    tasks: &mut Tasks,
    cache: Arc<PublicMailboxCache>,
    interval: Duration,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    cache.refresh().await.context("loading the public mailbox")?;
    let refresher = cache.run(interval, stop);
    tasks.spawn(async move {
        refresher.await;
        Ok(())
    });
    Ok(())
}
