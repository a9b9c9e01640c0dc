//! What personalizing a broadcast costs the pulls (docs/design.md#templates): the broadcast
//! is made a template and stormed, then every user gets attributes it reads and it is
//! stormed again, beside the plain broadcast's storms of the same run.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::MultiProgress;
use tidings_domain::BroadcastId;
use tidings_domain::message::{Attributes, Mailbox};
use tidings_ingest::{BroadcastPatch, ContentFormatKind};

use super::BroadcastArgs;
use super::harness::Bench;
use crate::{APP, bench_actor, progress};

const VISIBLE_WITHIN: Duration = Duration::from_secs(60);

/// The greeting a templated broadcast starts with, rendered for each user.
const GREETING: &str = "Hi {{ attrs.nickname | default(uid) }} ({{ platform }}), ";

impl Bench {
    /// Turns the broadcast into a template (`templated`): a greeting that reads the user's
    /// nickname (their uid while they have none), then the same content; or back into the
    /// plain content. Returns once pulls show it.
    pub async fn rewrite(
        &self,
        args: &BroadcastArgs,
        broadcast_id: BroadcastId,
        templated: bool,
    ) -> anyhow::Result<()> {
        let patch = match templated {
            true => BroadcastPatch {
                content: Some(format!("{GREETING}{}", self.content)),
                content_format: Some(ContentFormatKind::Template),
                fallback_content: Some(self.content.clone()),
                ..BroadcastPatch::default()
            },
            false => BroadcastPatch {
                content: Some(self.content.clone()),
                content_format: Some(ContentFormatKind::Text),
                ..BroadcastPatch::default()
            },
        };
        let modified = self.pipeline.ingest.modify_broadcast(APP, broadcast_id, &patch, &bench_actor()).await?;
        anyhow::ensure!(modified.projected, "the projector did not project the rewritten broadcast in time");
        let shown = if templated { "Hi " } else { &self.content };
        self.wait_for_content(args, self.users, shown).await
    }

    /// Gives every user a nickname, `args.senders` appends at once; returns once the last
    /// user's pulls show it.
    pub async fn set_nicknames(&self, args: &BroadcastArgs) -> anyhow::Result<()> {
        let users = self.users;
        let bar = progress::counter(users as u64, "attributes", "users", &MultiProgress::new());
        let next = Arc::new(AtomicI64::new(1));
        let mut setters = tokio::task::JoinSet::new();
        for _ in 0..args.senders {
            let (next, ingest, bar) = (next.clone(), self.pipeline.ingest.clone(), bar.clone());
            setters.spawn(async move {
                loop {
                    let uid = next.fetch_add(1, Ordering::Relaxed);
                    if uid > users {
                        return anyhow::Ok(());
                    }
                    let attributes = Attributes::from([("nickname".to_owned(), format!("user-{uid}"))]);
                    ingest.replace_attributes(Mailbox::new(APP, uid), attributes).await?;
                    bar.inc(1);
                }
            });
        }
        while let Some(done) = setters.join_next().await {
            done.context("an attribute setter panicked")??;
        }
        bar.finish_and_clear();
        for uid in [1, users] {
            self.wait_for_content(args, uid, &format!("Hi user-{uid} ")).await?;
        }
        Ok(())
    }

    /// Pulls as `uid` until the broadcast's content starts with `prefix`.
    async fn wait_for_content(&self, args: &BroadcastArgs, uid: i64, prefix: &str) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            let page = self.sync(&self.pipeline.puller, uid, args.limit).await?;
            if page.messages.iter().any(|m| m.broadcast_id.is_some() && m.content.starts_with(prefix)) {
                return Ok(());
            }
            anyhow::ensure!(started.elapsed() < VISIBLE_WITHIN, "uid {uid}'s pulls never showed {prefix:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
