//! The public mailbox cache: what lets one write reach every user without every pull
//! reading it from the store.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::sync::Cache;
use tidings_domain::AppId;
use tidings_domain::public::{PublicMailbox, Whitelist};
use tidings_ports::{Store, StoreError};
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::templates::CompiledTemplates;

const STORE_READS_TOTAL: &str = "tidings_puller_public_store_reads_total";
const CACHE_AGE_SECONDS: &str = "tidings_puller_public_cache_age_seconds";
const LOOKUPS_TOTAL: &str = "tidings_puller_public_cache_lookups_total";
const REFRESH_SECONDS: &str = "tidings_puller_public_refresh_duration_seconds";

pub(crate) fn describe_metrics() {
    metrics::describe_counter!(STORE_READS_TOTAL, "reads of the public mailbox from the store");
    metrics::describe_gauge!(
        CACHE_AGE_SECONDS,
        metrics::Unit::Seconds,
        "time since the public mailbox cache was last refreshed"
    );
    metrics::describe_counter!(
        LOOKUPS_TOTAL,
        "public mailbox lookups by pulls, by result (hit: the app has broadcasts)"
    );
    metrics::describe_histogram!(REFRESH_SECONDS, metrics::Unit::Seconds, "time to refresh the public mailbox cache");
}

/// Where pulls get the public mailbox from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheMode {
    /// From memory, refreshed on an interval: the production mode.
    #[default]
    Cached,
    /// From the store on every pull: a debug and benchmark switch that shows what the
    /// cache protects the store from.
    Bypass,
}

/// One app's cached public mailbox, with its templated broadcasts compiled.
#[derive(Debug)]
struct CachedApp {
    mailbox: Arc<PublicMailbox>,
    templates: Arc<CompiledTemplates>,
}

impl CachedApp {
    fn new(mailbox: PublicMailbox, previous: Option<&CachedApp>) -> Self {
        let templates = CompiledTemplates::compile(&mailbox, previous.map(|app| app.templates.as_ref()));
        Self { mailbox: Arc::new(mailbox), templates: Arc::new(templates) }
    }
}

/// Every app's public mailbox, in memory, each templated broadcast compiled once per
/// version (a refresh reuses what the previous one compiled).
///
/// Only [`PublicMailboxCache::refresh`] writes the cache, one refresh at a time, so a slow
/// refresh can't overwrite a newer one; pulls only read it, and an app absent from it has
/// an empty public mailbox.
#[derive(Debug)]
pub struct PublicMailboxCache {
    store: Arc<dyn Store>,
    mode: CacheMode,
    mailboxes: Cache<AppId, Arc<CachedApp>>,
    refresh_lock: Mutex<()>,
    last_refresh: std::sync::Mutex<Option<Instant>>,
}

impl PublicMailboxCache {
    pub fn new(store: Arc<dyn Store>, mode: CacheMode) -> Self {
        Self {
            store,
            mode,
            mailboxes: Cache::builder().build(),
            refresh_lock: Mutex::new(()),
            last_refresh: std::sync::Mutex::new(None),
        }
    }

    /// Whether pulls can be answered: the first refresh is done (always, when bypassing).
    pub fn is_ready(&self) -> bool {
        self.mode == CacheMode::Bypass || self.age().is_some()
    }

    /// Time since the last successful refresh.
    pub fn age(&self) -> Option<Duration> {
        self.last_refresh.lock().expect("lock poisoned").map(|at| at.elapsed())
    }

    /// Reloads every app's public mailbox from the store, in one read.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let _one_at_a_time = self.refresh_lock.lock().await;
        let started = Instant::now();
        let loaded = self.load().await?;
        let fresh: HashSet<AppId> = loaded.iter().map(|m| m.app_id).collect();
        for mailbox in loaded {
            let previous = self.mailboxes.get(&mailbox.app_id);
            self.mailboxes.insert(mailbox.app_id, Arc::new(CachedApp::new(mailbox, previous.as_deref())));
        }
        let gone: Vec<AppId> =
            self.mailboxes.iter().map(|(app_id, _)| *app_id).filter(|id| !fresh.contains(id)).collect();
        for app_id in gone {
            self.mailboxes.invalidate(&app_id);
        }
        *self.last_refresh.lock().expect("lock poisoned") = Some(Instant::now());
        metrics::histogram!(REFRESH_SECONDS).record(started.elapsed().as_secs_f64());
        metrics::gauge!(CACHE_AGE_SECONDS).set(0.0);
        debug!(apps = fresh.len(), "public mailbox cache refreshed");
        Ok(())
    }

    /// Refreshes every `interval` until `shutdown`; a failed refresh keeps the last good
    /// contents and is retried at the next tick.
    pub async fn run(self: Arc<Self>, interval: Duration, shutdown: CancellationToken) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            if let Err(error) = self.refresh().await {
                warn!(%error, "public mailbox refresh failed; serving the last good copy");
            }
            if let Some(age) = self.age() {
                metrics::gauge!(CACHE_AGE_SECONDS).set(age.as_secs_f64());
            }
        }
    }

    /// The app's public mailbox, as pulls see it.
    pub async fn get(&self, app_id: AppId) -> Result<Arc<PublicMailbox>, StoreError> {
        Ok(self.get_with_templates(app_id).await?.0)
    }

    /// The app's public mailbox and its compiled templates.
    pub async fn get_with_templates(
        &self,
        app_id: AppId,
    ) -> Result<(Arc<PublicMailbox>, Arc<CompiledTemplates>), StoreError> {
        let found = match self.mode {
            CacheMode::Cached => self.mailboxes.get(&app_id),
            CacheMode::Bypass => self
                .load()
                .await?
                .into_iter()
                .find(|m| m.app_id == app_id)
                .map(|mailbox| Arc::new(CachedApp::new(mailbox, None))),
        };
        let result = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!(LOOKUPS_TOTAL, "result" => result).increment(1);
        Ok(match found {
            Some(app) => (app.mailbox.clone(), app.templates.clone()),
            None => (
                Arc::new(PublicMailbox::new(app_id, Vec::new(), Whitelist::default())),
                Arc::new(CompiledTemplates::default()),
            ),
        })
    }

    async fn load(&self) -> Result<Vec<PublicMailbox>, StoreError> {
        metrics::counter!(STORE_READS_TOTAL).increment(1);
        self.store.load_public_mailboxes().await
    }
}
