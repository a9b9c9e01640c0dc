//! Waiting on what runs in the background: the projector's progress, and the process going
//! quiet before a measurement.

use std::time::{Duration, Instant};

use crate::progress;

/// Fails a wait for the projector once its count of stored rows stops moving for
/// [`StallWatch::TIMEOUT`].
#[derive(Debug)]
pub struct StallWatch {
    last_progress: (u64, Instant),
}

impl StallWatch {
    pub const TIMEOUT: Duration = Duration::from_secs(60);

    /// Starts watching, as of now.
    pub fn start() -> Self {
        Self { last_progress: (0, Instant::now()) }
    }

    /// Notes `done` of `expected` rows; an error when nothing moved for too long.
    pub fn check(&mut self, done: u64, expected: u64) -> anyhow::Result<()> {
        if done > self.last_progress.0 {
            self.last_progress = (done, Instant::now());
        }
        anyhow::ensure!(
            self.last_progress.1.elapsed() < Self::TIMEOUT,
            "the projector made no progress for {:?} at {done} of {expected} rows",
            Self::TIMEOUT
        );
        Ok(())
    }
}

/// Waits until this process uses less than a tenth of a core over a second (or `max` has
/// passed), and says how long that took. Engines that run inside the process (the embedded
/// store's compaction of what a fan-out wrote) would otherwise take a measurement's CPU.
pub async fn settle(max: Duration) -> Duration {
    const QUIET_CORES: f64 = 0.1;
    let started = Instant::now();
    let bar = progress::timer(max, "settling");
    let mut last = cpu_seconds();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = cpu_seconds();
        let busy = now.zip(last).map(|(now, last)| now - last);
        last = now;
        bar.set_position(started.elapsed().as_millis() as u64);
        if let Some(busy) = busy {
            bar.set_message(format!("the process uses {:.0}% of a core", busy * 100.0));
        }
        if busy.is_none_or(|busy| busy < QUIET_CORES) || started.elapsed() >= max {
            break;
        }
    }
    bar.finish_and_clear();
    let waited = started.elapsed();
    eprintln!("settled after {:.1} s (background work of the engines done)", waited.as_secs_f64());
    waited
}

/// CPU seconds this process has used (Linux `/proc/self/stat`, in USER_HZ = 100 ticks).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command (which may hold spaces) from the 3rd on; utime and stime
    // are the 14th and 15th.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}
