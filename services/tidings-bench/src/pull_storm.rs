//! Simulated users pulling concurrently: each its own task, syncing random mailboxes of the
//! benchmark's app until a deadline.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tidings_domain::BroadcastId;
use tidings_domain::client::{ClientVersion, Viewer};
use tidings_domain::message::Mailbox;
use tidings_domain::sync::SyncCursor;
use tidings_puller::Puller;

use crate::report::{Latencies, count};
use crate::{APP, progress};

/// A storm of syncs from uids `1..=users`.
#[derive(Debug, Clone)]
pub struct PullStorm {
    pub puller: Puller,
    pub users: i64,
    /// Concurrent simulated users.
    pub pullers: usize,
    pub duration: Duration,
    /// Messages per sync.
    pub limit: usize,
    /// What every sync carries.
    pub cursor: SyncCursor,
    /// A broadcast every pull must show; a pull without it fails the storm.
    pub must_show: Option<BroadcastId>,
}

/// What a storm did.
#[derive(Debug)]
pub struct StormOutcome {
    pub elapsed: Duration,
    /// Messages returned by all pulls together.
    pub messages: u64,
    /// One per pull.
    pub latencies: Latencies,
}

impl PullStorm {
    /// Runs the storm, with a progress bar labelled `label` that shows the running rate.
    pub async fn run(&self, label: &str) -> anyhow::Result<StormOutcome> {
        let bar = progress::timer(self.duration, label);
        let pulls = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let deadline = started + self.duration;
        let mut workers = tokio::task::JoinSet::new();
        for worker in 0..self.pullers {
            let (storm, pulls) = (self.clone(), pulls.clone());
            workers.spawn(async move { storm.pull_until(deadline, worker as u64, &pulls).await });
        }
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let elapsed = started.elapsed();
            bar.set_position(elapsed.as_millis() as u64);
            let rate = pulls.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64();
            bar.set_message(format!("{} pulls/s", count(rate as u64)));
        }
        let (messages, latencies) = join_counts(workers).await?;
        bar.finish_and_clear();
        Ok(StormOutcome { elapsed: started.elapsed(), messages, latencies: Latencies::new(latencies) })
    }

    /// One simulated user's loop: the messages it pulled and each pull's latency.
    async fn pull_until(
        &self,
        deadline: Instant,
        seed: u64,
        pulls: &AtomicU64,
    ) -> anyhow::Result<(u64, Vec<Duration>)> {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut latencies = Vec::with_capacity(1 << 16);
        let mut messages = 0u64;
        while Instant::now() < deadline {
            let uid = rng.random_range(1..=self.users);
            let viewer = Viewer { uid, guest: false, version: ClientVersion::default() };
            let pulled = Instant::now();
            let page = self.puller.sync(Mailbox::new(APP, uid), &viewer, self.cursor, self.limit).await?;
            latencies.push(pulled.elapsed());
            if let Some(id) = self.must_show {
                anyhow::ensure!(
                    page.messages.iter().any(|m| m.broadcast_id == Some(id)),
                    "user {uid}'s pull lacks the broadcast"
                );
            }
            messages += page.messages.len() as u64;
            pulls.fetch_add(1, Ordering::Relaxed);
            // Each simulated user is its own task: let the others run between pulls.
            tokio::task::yield_now().await;
        }
        Ok((messages, latencies))
    }
}

/// Joins workers that each return a count and their latencies; adds them up.
pub async fn join_counts(
    mut workers: tokio::task::JoinSet<anyhow::Result<(u64, Vec<Duration>)>>,
) -> anyhow::Result<(u64, Vec<Duration>)> {
    let mut total = 0;
    let mut latencies = Vec::new();
    while let Some(done) = workers.join_next().await {
        let (count, mut more) = done??;
        total += count;
        latencies.append(&mut more);
    }
    Ok((total, latencies))
}
