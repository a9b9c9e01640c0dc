//! Pulls: a private timeline page merged with the app's public mailbox.
//!
//! - [`cache::PublicMailboxCache`] holds every app's public mailbox in memory, refreshed
//!   from the store on an interval, so pulls never read the public mailbox from the store
//!   (docs/design.md#pulls-read-the-cache).
//! - [`Puller`] answers sync and history pulls with the domain's merge functions, and counts
//!   reach (module `reach`): broadcasts delivered by syncs and covered by read marks, in a
//!   [`ReachCounter`] that [`run_reach_flush`] appends to the log.
//! - module `templates` renders templated broadcasts for the viewer into each page, from
//!   templates the cache compiled once per broadcast version ([`CompiledTemplates`]); a
//!   render that fails shows the broadcast's fallback content and is counted.

pub mod cache;
mod reach;
mod settings;
mod templates;

use std::sync::Arc;
use std::time::Instant;

use tidings_domain::client::Viewer;
use tidings_domain::message::Mailbox;
use tidings_domain::sync::{
    HistoryDirection, HistoryPage, MailboxEntry, SyncCursor, SyncPage, merge_history, merge_sync,
};
use tidings_domain::time::now_s;
use tidings_domain::{BroadcastId, MsgId};
use tidings_ports::{MailboxState, MsgRange, Order, Store, StoreError};
use tidings_reach::{ReachCounter, ReachKind};

pub use cache::{CacheMode, PublicMailboxCache};
pub use reach::run_reach_flush;
pub use settings::{PageLimits, PullerSettings};
pub use templates::CompiledTemplates;

const PULL_SECONDS: &str = "tidings_puller_pull_duration_seconds";

pub fn describe_metrics() {
    metrics::describe_histogram!(PULL_SECONDS, metrics::Unit::Seconds, "time to answer a pull, by kind");
    cache::describe_metrics();
    reach::describe_metrics();
    templates::describe_metrics();
}

/// The pull service.
#[derive(Debug, Clone)]
pub struct Puller {
    store: Arc<dyn Store>,
    public: Arc<PublicMailboxCache>,
    /// Where reach is counted; `None` when `puller.reach_counting` is off.
    reach: Option<Arc<ReachCounter>>,
}

impl Puller {
    pub fn new(store: Arc<dyn Store>, public: Arc<PublicMailboxCache>) -> Self {
        Self { store, public, reach: None }
    }

    /// Counts reach into `counter` (share one per process with its [`run_reach_flush`]).
    pub fn with_reach(mut self, counter: Arc<ReachCounter>) -> Self {
        self.reach = Some(counter);
        self
    }

    /// What is new in `mailbox` since `cursor`, private and public merged in `msg_id` order.
    pub async fn sync(
        &self,
        mailbox: Mailbox,
        viewer: &Viewer,
        cursor: SyncCursor,
        limit: usize,
    ) -> Result<SyncPage, StoreError> {
        let started = Instant::now();
        let now_s = now_s();
        let state = self.store.mailbox_state(mailbox).await?;
        // Nothing was ever inserted past the cursor (the head covers deleted messages too):
        // the mailbox read would come back empty, so don't make it. Most syncs of a client
        // that is up to date are these. A message inserted after the state was read is
        // found by the next sync, as if this one had run a moment earlier.
        let mut rows = match state.head {
            Some(head) if head > cursor.private_after => {
                let range = MsgRange { after: Some(cursor.private_after), before: None };
                self.store.read_mailbox(mailbox, range, Order::Ascending, limit + 1).await?
            }
            _ => Vec::new(),
        };
        let exhausted = rows.len() <= limit;
        rows.truncate(limit);
        let private = rows.iter().map(MailboxEntry::from_private).collect();
        let (public, templates) = self.public.get_with_templates(mailbox.app_id).await?;
        let candidates = public.sync_candidates(viewer, &state.hidden_broadcasts, cursor.public_after, now_s);
        let mut page = merge_sync(private, exhausted, candidates, public.seq(), cursor, limit, now_s);
        mark_read(&mut page.messages, &state);
        templates.personalize(&mut page.messages, viewer, &state.attributes);
        if let Some(counter) = &self.reach {
            reach::record(counter, mailbox, viewer, ReachKind::Delivered, &page.messages, now_s);
        }
        metrics::histogram!(PULL_SECONDS, "kind" => "sync").record(started.elapsed().as_secs_f64());
        Ok(page)
    }

    /// A time-range page before or after an anchor, merged.
    pub async fn history(
        &self,
        mailbox: Mailbox,
        viewer: &Viewer,
        direction: HistoryDirection,
        limit: usize,
    ) -> Result<HistoryPage, StoreError> {
        let started = Instant::now();
        let now_s = now_s();
        let state = self.store.mailbox_state(mailbox).await?;
        let (range, order) = match direction {
            HistoryDirection::Before(anchor) => (MsgRange { after: None, before: Some(anchor) }, Order::Descending),
            HistoryDirection::After(anchor) => (MsgRange { after: Some(anchor), before: None }, Order::Ascending),
        };
        // Expired rows and delete commands are dropped by the merge, so the page may come
        // out short; it is still a correct page, and `has_more` tells whether to go on.
        let rows = self.store.read_mailbox(mailbox, range, order, limit + 1).await?;
        let private: Vec<MailboxEntry> = rows.iter().map(MailboxEntry::from_private).collect();
        let (public, templates) = self.public.get_with_templates(mailbox.app_id).await?;
        let visible = public.visible_entries(viewer, &state.hidden_broadcasts, now_s);
        let mut page = merge_history(private, visible, direction, limit, now_s);
        mark_read(&mut page.messages, &state);
        templates.personalize(&mut page.messages, viewer, &state.attributes);
        metrics::histogram!(PULL_SECONDS, "kind" => "history").record(started.elapsed().as_secs_f64());
        Ok(page)
    }

    /// Before a read mark is appended: the mark it raises from, which [`Puller::count_read`]
    /// needs; `None` (and no store read) when reach isn't counted.
    pub async fn read_mark_before(&self, mailbox: Mailbox) -> Result<Option<MsgId>, StoreError> {
        match self.reach {
            Some(_) => Ok(Some(self.store.mailbox_state(mailbox).await?.read_up_to)),
            None => Ok(None),
        }
    }

    /// After a read mark up to `up_to` was appended: counts as read every broadcast that
    /// `viewer` sees with a `msg_id` above `before` (from [`Puller::read_mark_before`]) and
    /// at most `up_to`.
    pub async fn count_read(
        &self,
        mailbox: Mailbox,
        viewer: &Viewer,
        before: Option<MsgId>,
        up_to: MsgId,
    ) -> Result<(), StoreError> {
        let (Some(counter), Some(before)) = (&self.reach, before) else { return Ok(()) };
        if up_to <= before {
            return Ok(());
        }
        let now_s = now_s();
        let hidden = self.store.mailbox_state(mailbox).await?.hidden_broadcasts;
        let public = self.public.get(mailbox.app_id).await?;
        let covered = public
            .visible_entries(viewer, &hidden, now_s)
            .into_iter()
            .filter(|e| e.msg_id > before && e.msg_id <= up_to);
        reach::record(counter, mailbox, viewer, ReachKind::Read, covered, now_s);
        Ok(())
    }

    /// The broadcast `viewer` sees under `msg_id`, if that id is a broadcast's.
    pub async fn visible_broadcast(
        &self,
        viewer: &Viewer,
        app_id: i64,
        msg_id: MsgId,
    ) -> Result<Option<BroadcastId>, StoreError> {
        let public = self.public.get(app_id).await?;
        Ok(public.find_visible(viewer, msg_id, now_s()).map(|b| b.broadcast_id))
    }
}

fn mark_read(entries: &mut [MailboxEntry], state: &MailboxState) {
    for entry in entries {
        entry.is_read = entry.msg_id <= state.read_up_to;
    }
}
