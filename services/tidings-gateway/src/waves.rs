//! Paced broadcast notifies. When an app's public mailbox moves, the sessions whose viewer
//! can now see something new (audience, whitelist while pre-published, expiry) hear of it,
//! at most `gateway.broadcast_notifies_per_second` of them a second, with jitter, each told
//! to pull at a random moment within `gateway.broadcast_pull_within_ms`: a wave to every
//! online user then brings the pull workers about that many pulls a second from this
//! gateway, never a stampede (the article's reason, section 8.2.2, for having no push).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::seq::SliceRandom;
use tidings_domain::public::PublicMailbox;
use tidings_domain::{AppId, PublicSeq};
use tidings_puller::PublicMailboxCache;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::sessions::{Sessions, WaveTarget, raise_public};

/// How long a wave waits for this process's public-mailbox cache to reach the signal's
/// position (its refresh interval, 1 s by default, plus slack) before going on with what
/// the cache has.
const CACHE_PATIENCE: Duration = Duration::from_secs(5);

/// The apps whose public mailbox moved, with the newest position of each (a second signal
/// for an app while its wave waits merges into it).
#[derive(Debug, Default)]
pub(crate) struct Announcements {
    apps: Mutex<BTreeMap<AppId, PublicSeq>>,
    arrived: Notify,
}

impl Announcements {
    pub(crate) fn announce(&self, app_id: AppId, seq: PublicSeq) {
        let mut apps = self.apps.lock().expect("lock poisoned");
        let newest = apps.entry(app_id).or_default();
        *newest = (*newest).max(seq);
        self.arrived.notify_one();
    }

    async fn next(&self) -> (AppId, PublicSeq) {
        loop {
            if let Some(next) = self.apps.lock().expect("lock poisoned").pop_first() {
                return next;
            }
            self.arrived.notified().await;
        }
    }
}

/// The pace of waves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    pub notifies_per_second: u32,
}

impl Pace {
    /// The pace that keeps a wave's pulls within `pulls_per_second` in every second. Each
    /// notified client pulls at a random moment of its window, so the pulls of one second
    /// scatter around the notify rate (by about its square root): notifying three such
    /// deviations below the budget keeps the busiest second under it.
    pub fn within_budget(pulls_per_second: u32) -> Self {
        let budget = f64::from(pulls_per_second.max(1));
        let headroom = (3.0 * budget.sqrt()).min(budget / 2.0);
        Self { notifies_per_second: ((budget - headroom).floor() as u32).max(1) }
    }
}

/// Runs one wave after another until `stop` is cancelled.
pub(crate) async fn run(
    announcements: Arc<Announcements>,
    cache: Arc<PublicMailboxCache>,
    sessions: Arc<Sessions>,
    pace: Pace,
    stop: CancellationToken,
) {
    loop {
        let (app_id, seq) = tokio::select! {
            () = stop.cancelled() => return,
            next = announcements.next() => next,
        };
        let mailbox = match caught_up(&cache, app_id, seq).await {
            Ok(mailbox) => mailbox,
            Err(error) => {
                warn!(%error, app_id, "no public mailbox for a broadcast wave; its sessions sync on their next notify");
                continue;
            }
        };
        tokio::select! {
            () = stop.cancelled() => return,
            () = wave(&mailbox, sessions.wave_targets(app_id), pace, tidings_domain::time::now_s()) => {}
        }
    }
}

/// The app's public mailbox once the cache holds position `seq`, or when patience ran out.
async fn caught_up(
    cache: &PublicMailboxCache,
    app_id: AppId,
    seq: PublicSeq,
) -> Result<Arc<PublicMailbox>, tidings_ports::StoreError> {
    let deadline = tokio::time::Instant::now() + CACHE_PATIENCE;
    loop {
        let mailbox = cache.get(app_id).await?;
        if mailbox.seq() >= seq || tokio::time::Instant::now() >= deadline {
            return Ok(mailbox);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Notifies, in random order and at the pace, every target that can see something in
/// `mailbox` beyond what it was last told of (hidden broadcasts are not read: at worst one
/// notify too many, whose sync brings nothing).
async fn wave(mailbox: &PublicMailbox, mut targets: Vec<WaveTarget>, pace: Pace, now_s: i64) {
    targets.shuffle(&mut rand::rng());
    let gap = Duration::from_secs(1) / pace.notifies_per_second.max(1);
    // The pace is kept against a schedule, not by one sleep per notify: the timer's
    // millisecond grain would hold a sleep-per-notify wave near 500 a second whatever the
    // setting. A little behind schedule (a timer's lateness), notify at once; ahead of it by
    // a tick, wait for it; far behind (the process was starved), start the schedule again
    // from now rather than catch up in a burst the pull workers would feel.
    let mut due = tokio::time::Instant::now();
    for target in targets {
        let told = target.pending.borrow().public_seq.unwrap_or(0);
        if let Some(seq) = mailbox.newest_visible_after(&target.viewer, told, now_s) {
            raise_public(&target.pending, seq);
            let now = tokio::time::Instant::now();
            if now > due + SCHEDULE_SLACK {
                due = now;
            }
            // Jitter: gaps from half to one and a half of the average keep the mean pace.
            due += gap.mul_f64(0.5 + rand::random::<f64>());
            if due > now + SCHEDULE_TICK {
                tokio::time::sleep_until(due).await;
            }
        }
    }
    tokio::time::sleep_until(due).await;
}

/// How far ahead of its schedule a wave may run before it waits.
const SCHEDULE_TICK: Duration = Duration::from_millis(2);
/// How far behind its schedule a wave may fall and still catch up.
const SCHEDULE_SLACK: Duration = Duration::from_millis(20);

#[cfg(test)]
mod tests {
    use tidings_domain::broadcast::{Audience, Broadcast, BroadcastContent, BroadcastState};
    use tidings_domain::client::{ClientVersion, Platform, Viewer};
    use tidings_domain::message::Mailbox;
    use tidings_domain::public::Whitelist;

    use super::*;

    fn published_to(platforms: Vec<Platform>) -> PublicMailbox {
        let content = BroadcastContent {
            content: "hi".into(),
            expire_at_s: i64::MAX,
            audience: Audience { platforms, ..Default::default() },
            ..Default::default()
        };
        let broadcast = Broadcast {
            state: BroadcastState::Published,
            msg_id: Some(1_000),
            published_seq: Some(7),
            recall: None,
            ..Broadcast::draft(1, 1, content, 1_000)
        };
        PublicMailbox::new(1, vec![broadcast], Whitelist::default())
    }

    fn viewer(uid: i64, platform: Platform) -> Viewer {
        Viewer { uid, guest: false, version: ClientVersion { platform: Some(platform), ..Default::default() } }
    }

    #[test]
    fn the_pace_leaves_headroom_for_the_randomness_of_the_pull_moments() {
        let pace = |budget| Pace::within_budget(budget).notifies_per_second;
        assert_eq!(pace(1_000), 905, "1000 less three times its square root");
        assert_eq!(pace(100), 70);
        assert_eq!(pace(10), 5, "never below half the budget");
        assert_eq!(pace(1), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wave_reaches_whom_the_audience_admits_at_the_pace() {
        let sessions = Sessions::default();
        let iphones: Vec<_> =
            (0..5).map(|uid| sessions.join(Mailbox::new(1, uid), viewer(uid, Platform::Ios))).collect();
        let android = sessions.join(Mailbox::new(1, 99), viewer(99, Platform::Android));
        let started = tokio::time::Instant::now();
        wave(&published_to(vec![Platform::Ios]), sessions.wave_targets(1), Pace { notifies_per_second: 10 }, 0).await;
        let took = started.elapsed();
        assert!(iphones.iter().all(|s| s.pending.borrow().public_seq == Some(7)));
        assert_eq!(android.pending.borrow().public_seq, None, "outside the audience");
        // Five notifies at ten a second, each gap 50 to 150 ms.
        assert!(took >= Duration::from_millis(250) && took <= Duration::from_millis(750), "{took:?}");

        let again = tokio::time::Instant::now();
        wave(&published_to(vec![Platform::Ios]), sessions.wave_targets(1), Pace { notifies_per_second: 10 }, 0).await;
        assert_eq!(again.elapsed(), Duration::ZERO, "nothing new: nobody is told again");
    }
}
