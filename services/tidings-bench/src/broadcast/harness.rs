//! One run of `tidings-bench broadcast`: the running pipeline, the app's users, and how to
//! check what their pulls show.

use std::collections::BTreeSet;

use anyhow::Context;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tidings_domain::client::{ClientVersion, Viewer};
use tidings_domain::message::Mailbox;
use tidings_domain::sync::{SyncCursor, SyncPage};
use tidings_ports::Store;
use tidings_puller::Puller;
use tidings_server::Config;
use tidings_testkit::AppendCounts;

use super::BroadcastArgs;
use super::report::Reach;
use crate::APP;
use crate::report;
use crate::running::RunningPipeline;

/// The engines of one run, wrapped in counters, with the projector and the cache refresh
/// running in the background as in a deployment; the app has `users` users.
pub struct Bench {
    pub pipeline: RunningPipeline,
    pub users: i64,
    /// What every message of the run says.
    pub content: String,
}

/// What the store and the log hold at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Footprint {
    store_bytes: Option<u64>,
    appended: AppendCounts,
}

impl Bench {
    pub async fn start(config: &Config, args: &BroadcastArgs, users: i64) -> anyhow::Result<Self> {
        let mut pipeline = RunningPipeline::open(config).await?;
        pipeline.start_projectors(1);
        pipeline.start_refresh().await?;
        Ok(Self { pipeline, users, content: content(args.content_bytes) })
    }

    pub async fn footprint(&self) -> anyhow::Result<Footprint> {
        let store_bytes = self.pipeline.store.storage_bytes().await.context("measuring the store")?;
        Ok(Footprint { store_bytes, appended: self.pipeline.log.appended() })
    }

    /// What was added between two footprints; the times and checks are the caller's.
    pub fn reach(&self, approach: &'static str, before: Footprint, after: Footprint) -> Reach {
        let appended = after.appended - before.appended;
        Reach {
            approach,
            visible_after_s: 0.0,
            accepted_after_s: 0.0,
            store_bytes: after.store_bytes.zip(before.store_bytes).map(|(a, b)| a.saturating_sub(b)),
            log_events: appended.events,
            log_bytes: appended.bytes,
            users_checked: 0,
            load_1m: report::load_now(),
        }
    }

    /// A first sync (no cursor) of user `uid`.
    pub async fn sync(&self, puller: &Puller, uid: i64, limit: usize) -> anyhow::Result<SyncPage> {
        let viewer = Viewer { uid, guest: false, version: ClientVersion::default() };
        Ok(puller.sync(Mailbox::new(APP, uid), &viewer, SyncCursor::default(), limit).await?)
    }

    /// The users whose pulls check a delivery: the first, the last and a random sample.
    fn sample(&self, size: usize) -> BTreeSet<i64> {
        let mut rng = SmallRng::seed_from_u64(self.users as u64);
        let mut sample: BTreeSet<i64> = [1, self.users].into();
        let wanted = (size + 2).min(self.users as usize);
        while sample.len() < wanted {
            sample.insert(rng.random_range(1..=self.users));
        }
        sample
    }

    /// Checks that every sampled user's pull shows what `seen` looks for.
    pub async fn check_sample(&self, size: usize, seen: impl Fn(&SyncPage) -> bool) -> anyhow::Result<usize> {
        let sample = self.sample(size);
        let limit = self.pipeline.config.puller.max_limit;
        for &uid in &sample {
            let page = self.sync(&self.pipeline.puller, uid, limit).await?;
            anyhow::ensure!(seen(&page), "user {uid}'s pull does not show the message: {:?}", page.messages);
        }
        Ok(sample.len())
    }
}

/// `len` bytes of random letters and digits: not compressible to nothing, like real text.
fn content(len: usize) -> String {
    let mut rng = SmallRng::seed_from_u64(len as u64);
    (0..len).map(|_| char::from(rng.sample(rand::distr::Alphanumeric))).collect()
}
