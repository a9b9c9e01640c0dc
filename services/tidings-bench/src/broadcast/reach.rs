//! Reaching every user once: by the public mailbox (one broadcast), and by fan-out on
//! write (one private row per user).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::MultiProgress;
use tidings_domain::BroadcastId;
use tidings_domain::broadcast::LifecycleAction;
use tidings_domain::message::SendMode;
use tidings_domain::sync::{Source, SyncPage};
use tidings_ingest::{BroadcastDraft, SendCommand};

use super::BroadcastArgs;
use super::harness::Bench;
use super::report::Reach;
use crate::pull_storm::join_counts;
use crate::report::{Latencies, count, ms};
use crate::waits::StallWatch;
use crate::{APP, bench_actor, progress};

const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(60);

impl Bench {
    /// Creates and publishes one broadcast; timed from the publish call until a pull shows it.
    pub async fn public_mailbox(&self, args: &BroadcastArgs) -> anyhow::Result<(Reach, BroadcastId)> {
        let ingest = &self.pipeline.ingest;
        let before = self.footprint().await?;
        let draft = BroadcastDraft::text(self.content.clone(), tidings_domain::time::now_s() + 24 * 3600);
        let created = ingest.create_broadcast(APP, &draft, &bench_actor()).await?;
        anyhow::ensure!(created.projected, "the projector did not project the new broadcast in time");
        let id = created.broadcast.broadcast_id;

        let started = Instant::now();
        let published = ingest.broadcast_action(APP, id, LifecycleAction::Publish, &bench_actor()).await?;
        let accepted_after = started.elapsed();
        anyhow::ensure!(published.projected, "the projector did not project the publication in time");
        let shows = |page: &SyncPage| page.messages.iter().any(|m| m.broadcast_id == Some(id));
        let bar = progress::timer(VISIBILITY_TIMEOUT, "public");
        bar.set_message("waiting for a pull to show it");
        loop {
            if shows(&self.sync(&self.pipeline.puller, 1, args.limit).await?) {
                break;
            }
            anyhow::ensure!(started.elapsed() < VISIBILITY_TIMEOUT, "no pull showed the broadcast within the timeout");
            bar.set_position(started.elapsed().as_millis() as u64);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let visible_after = started.elapsed();
        bar.finish_and_clear();
        let checked = self.check_sample(args.sample, shows).await?;
        let after = self.footprint().await?;
        let reach = Reach {
            visible_after_s: visible_after.as_secs_f64(),
            accepted_after_s: accepted_after.as_secs_f64(),
            users_checked: checked,
            ..self.reach("public mailbox", before, after)
        };
        Ok((reach, id))
    }

    /// Sends the message to every user in batch sends; timed from the first send until the
    /// projector has stored every row.
    pub async fn fan_out(&self, args: &BroadcastArgs) -> anyhow::Result<Reach> {
        let before = self.footprint().await?;
        let store = &self.pipeline.store;
        let inserted_before = store.inserted();
        let users = self.users as u64;
        let batch = self.pipeline.ingest.settings().max_batch_recipients as u64;
        let sends = users.div_ceil(batch);
        let bars = MultiProgress::new();
        let sent_bar = progress::counter(users, "sent", "deliveries", &bars);
        let projected_bar = progress::counter(users, "projected", "rows", &bars);

        let started = Instant::now();
        let next = Arc::new(AtomicU64::new(0));
        let mut senders = tokio::task::JoinSet::new();
        for _ in 0..args.senders {
            let next = next.clone();
            let ingest = self.pipeline.ingest.clone();
            let content = self.content.clone();
            let bar = sent_bar.clone();
            senders.spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let send = next.fetch_add(1, Ordering::Relaxed);
                    if send >= sends {
                        break;
                    }
                    let uids: Vec<i64> =
                        (send * batch + 1..=((send + 1) * batch).min(users)).map(|u| u as i64).collect();
                    let recipients = uids.len() as u64;
                    let request = SendCommand::text(SendMode::Batch, 0, uids, content.clone());
                    let sent = Instant::now();
                    ingest.send(APP, &request).await?;
                    latencies.push(sent.elapsed());
                    bar.inc(recipients);
                }
                anyhow::Ok((0, latencies))
            });
        }
        let mut accepted_after = None;
        let mut send_latencies = Vec::with_capacity(sends as usize);
        let mut stall = StallWatch::start();
        loop {
            let projected = store.inserted() - inserted_before;
            projected_bar.set_position(projected);
            if projected >= users {
                break;
            }
            stall.check(projected, users)?;
            if accepted_after.is_none() && senders.is_empty() {
                accepted_after = Some(started.elapsed());
            }
            while let Some(done) = senders.try_join_next() {
                send_latencies.append(&mut done.context("a sender panicked")??.1);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let visible_after = started.elapsed();
        send_latencies.append(&mut join_counts(senders).await?.1);
        let accepted_after = accepted_after.unwrap_or(visible_after);
        sent_bar.finish_and_clear();
        projected_bar.finish_and_clear();
        let send_latencies = Latencies::new(send_latencies);
        eprintln!(
            "  {} batch sends, p50 {} ms, p99 {} ms; all durable after {:.3} s",
            count(sends),
            ms(send_latencies.p50_ms()),
            ms(send_latencies.p99_ms()),
            accepted_after.as_secs_f64()
        );
        let content_len = self.content.len();
        let shows = |page: &SyncPage| {
            page.messages.iter().any(|m| m.source == Source::Private && m.content.len() == content_len)
        };
        let checked = self.check_sample(args.sample, shows).await?;
        let after = self.footprint().await?;
        Ok(Reach {
            visible_after_s: visible_after.as_secs_f64(),
            accepted_after_s: accepted_after.as_secs_f64(),
            users_checked: checked,
            ..self.reach("fan-out on write", before, after)
        })
    }
}
