//! Comparing two projections of one log, the live one and a rebuilt one: every mailbox's
//! state, rows and dedupe keys, every app's broadcasts and public state.

use std::collections::BTreeSet;

use futures_util::{StreamExt, TryStreamExt, stream};
use tidings_domain::AppId;
use tidings_domain::message::Mailbox;
use tidings_ports::{MsgRange, Order, ReplayStore, StoreError};

/// Messages compared per read.
const PAGE: usize = 1_000;
/// Mailboxes listed per page.
const LISTING_PAGE: usize = 1_000;
/// Mailboxes compared at once.
const IN_FLIGHT: usize = 16;

/// Where two projections differ, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// What differs, e.g. `mailbox (app 1, uid 42): head`.
    pub what: String,
    pub live: String,
    pub rebuilt: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: live {}, rebuilt {}", self.what, self.live, self.rebuilt)
    }
}

/// What a verification compared and found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub mailboxes: u64,
    pub messages: u64,
    pub deliveries: u64,
    pub apps: u64,
    pub broadcasts: u64,
    /// In the order found, at most the `max_differences` asked for.
    pub differences: Vec<Difference>,
}

#[derive(Default)]
struct MailboxTally {
    messages: u64,
    deliveries: u64,
    differences: Vec<Difference>,
}

fn mailbox_name(mailbox: Mailbox) -> String {
    format!("mailbox (app {}, uid {})", mailbox.app_id, mailbox.uid)
}

fn differs<T: std::fmt::Debug + PartialEq>(what: String, live: &T, rebuilt: &T) -> Option<Difference> {
    (live != rebuilt).then(|| Difference { what, live: format!("{live:?}"), rebuilt: format!("{rebuilt:?}") })
}

/// Compares `rebuilt` with `live`, stopping at `max_differences`; `on_mailbox` hears of
/// every mailbox compared.
pub async fn verify(
    live: &dyn ReplayStore,
    rebuilt: &dyn ReplayStore,
    max_differences: usize,
    on_mailbox: &(dyn Fn() + Sync),
) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport::default();
    let mut from = None;
    loop {
        let page = live.mailboxes(from, LISTING_PAGE).await?;
        let tallies: Vec<MailboxTally> = stream::iter(page.mailboxes.iter().copied())
            .map(|mailbox| async move {
                let tally = compare_mailbox(live, rebuilt, mailbox).await;
                on_mailbox();
                tally
            })
            .buffered(IN_FLIGHT)
            .try_collect()
            .await?;
        for tally in tallies {
            report.mailboxes += 1;
            report.messages += tally.messages;
            report.deliveries += tally.deliveries;
            report.differences.extend(tally.differences);
        }
        if report.differences.len() >= max_differences {
            report.differences.truncate(max_differences);
            return Ok(report);
        }
        match page.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    report.differences.extend(mailboxes_only_rebuilt(live, rebuilt, report.mailboxes).await?);
    compare_apps(live, rebuilt, &mut report).await?;
    report.differences.truncate(max_differences);
    Ok(report)
}

async fn compare_mailbox(
    live: &dyn ReplayStore,
    rebuilt: &dyn ReplayStore,
    mailbox: Mailbox,
) -> Result<MailboxTally, StoreError> {
    let name = mailbox_name(mailbox);
    let mut tally = MailboxTally::default();
    let (live_state, rebuilt_state) = (live.mailbox_state(mailbox).await?, rebuilt.mailbox_state(mailbox).await?);
    tally.differences.extend(differs(format!("{name}: head"), &live_state.head, &rebuilt_state.head));
    tally.differences.extend(differs(format!("{name}: read mark"), &live_state.read_up_to, &rebuilt_state.read_up_to));
    tally.differences.extend(differs(
        format!("{name}: hidden broadcasts"),
        &live_state.hidden_broadcasts,
        &rebuilt_state.hidden_broadcasts,
    ));
    tally.differences.extend(differs(format!("{name}: attributes"), &live_state.attributes, &rebuilt_state.attributes));

    let mut after = None;
    loop {
        let range = MsgRange { after, before: None };
        let live_page = live.read_mailbox(mailbox, range, Order::Ascending, PAGE).await?;
        let rebuilt_page = rebuilt.read_mailbox(mailbox, range, Order::Ascending, PAGE).await?;
        tally.messages += live_page.len() as u64;
        let live_ids: Vec<_> = live_page.iter().map(|m| m.msg_id).collect();
        let rebuilt_ids: Vec<_> = rebuilt_page.iter().map(|m| m.msg_id).collect();
        if live_ids != rebuilt_ids {
            let (live_ids, rebuilt_ids): (BTreeSet<_>, BTreeSet<_>) =
                (live_ids.into_iter().collect(), rebuilt_ids.into_iter().collect());
            let only_live: Vec<_> = live_ids.difference(&rebuilt_ids).collect();
            let only_rebuilt: Vec<_> = rebuilt_ids.difference(&live_ids).collect();
            tally.differences.push(Difference {
                what: format!("{name}: msg_ids after {after:?}"),
                live: format!("has {only_live:?} that rebuilt lacks"),
                rebuilt: format!("has {only_rebuilt:?} that live lacks"),
            });
            break;
        }
        for (live_message, rebuilt_message) in live_page.iter().zip(&rebuilt_page) {
            let what = format!("{name}: message {}", live_message.msg_id);
            tally.differences.extend(differs(what, live_message, rebuilt_message));
        }
        match live_page.last() {
            Some(last) if live_page.len() == PAGE => after = Some(last.msg_id),
            _ => break,
        }
    }

    let (live_keys, rebuilt_keys) = (live.deliveries(mailbox).await?, rebuilt.deliveries(mailbox).await?);
    tally.deliveries = live_keys.len() as u64;
    if live_keys != rebuilt_keys {
        let first = live_keys
            .iter()
            .zip(&rebuilt_keys)
            .position(|(a, b)| a != b)
            .unwrap_or(live_keys.len().min(rebuilt_keys.len()));
        tally.differences.push(Difference {
            what: format!(
                "{name}: dedupe keys ({} live, {} rebuilt), first difference",
                live_keys.len(),
                rebuilt_keys.len()
            ),
            live: format!("{:?}", live_keys.get(first)),
            rebuilt: format!("{:?}", rebuilt_keys.get(first)),
        });
    }
    Ok(tally)
}

/// Mailboxes the rebuilt projection has and the live one doesn't; only looked for when the
/// rebuilt one lists more than the `live_count` compared.
async fn mailboxes_only_rebuilt(
    live: &dyn ReplayStore,
    rebuilt: &dyn ReplayStore,
    live_count: u64,
) -> Result<Vec<Difference>, StoreError> {
    let mut listed = Vec::new();
    let mut from = None;
    loop {
        let page = rebuilt.mailboxes(from, LISTING_PAGE).await?;
        listed.extend(page.mailboxes);
        match page.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    if listed.len() as u64 <= live_count {
        return Ok(Vec::new());
    }
    let mut extra = Vec::new();
    for mailbox in listed {
        let state = live.mailbox_state(mailbox).await?;
        if state == Default::default() && live.deliveries(mailbox).await?.is_empty() {
            extra.push(Difference { what: mailbox_name(mailbox), live: "absent".into(), rebuilt: "present".into() });
        }
    }
    Ok(extra)
}

/// The app's whole audit trail, entry by entry (newest first): the first entry that differs,
/// or the count when one trail is a prefix of the other.
async fn compare_audit(
    live: &dyn ReplayStore,
    rebuilt: &dyn ReplayStore,
    app_id: AppId,
) -> Result<Option<Difference>, StoreError> {
    let (live_trail, rebuilt_trail) =
        (live.audit(app_id, None, usize::MAX).await?, rebuilt.audit(app_id, None, usize::MAX).await?);
    if let Some((index, (live_entry, rebuilt_entry))) =
        live_trail.iter().zip(&rebuilt_trail).enumerate().find(|(_, (a, b))| a != b)
    {
        return Ok(differs(format!("app {app_id}: audit entry {index} (newest first)"), live_entry, rebuilt_entry));
    }
    Ok(differs(format!("app {app_id}: audit entries"), &live_trail.len(), &rebuilt_trail.len()))
}

async fn compare_apps(
    live: &dyn ReplayStore,
    rebuilt: &dyn ReplayStore,
    report: &mut VerifyReport,
) -> Result<(), StoreError> {
    let apps: BTreeSet<AppId> = live.apps().await?.into_iter().chain(rebuilt.apps().await?).collect();
    for app_id in apps {
        report.apps += 1;
        let what = format!("app {app_id}: public state");
        report.differences.extend(differs(
            what,
            &live.public_state(app_id).await?,
            &rebuilt.public_state(app_id).await?,
        ));
        report.differences.extend(compare_audit(live, rebuilt, app_id).await?);
        let (live_broadcasts, rebuilt_broadcasts) =
            (live.list_broadcasts(app_id).await?, rebuilt.list_broadcasts(app_id).await?);
        report.broadcasts += live_broadcasts.len() as u64;
        let ids = |broadcasts: &[tidings_domain::broadcast::Broadcast]| {
            broadcasts.iter().map(|b| b.broadcast_id).collect::<Vec<_>>()
        };
        if ids(&live_broadcasts) != ids(&rebuilt_broadcasts) {
            report.differences.push(Difference {
                what: format!("app {app_id}: broadcast ids"),
                live: format!("{:?}", ids(&live_broadcasts)),
                rebuilt: format!("{:?}", ids(&rebuilt_broadcasts)),
            });
            continue;
        }
        for (live_broadcast, rebuilt_broadcast) in live_broadcasts.iter().zip(&rebuilt_broadcasts) {
            let what = format!("app {app_id}: broadcast {}", live_broadcast.broadcast_id);
            report.differences.extend(differs(what, live_broadcast, rebuilt_broadcast));
        }
    }
    Ok(())
}
