//! When acknowledged messages are still missing once a run settled: what the projectors'
//! counters and the store say about each of them, so a breach names its cause (never
//! projected, taken for a duplicate, its row overwritten, or hidden behind a head that is
//! lower than the row) instead of only being counted.

use std::fmt::Write as _;
use std::path::Path;

use tidings_domain::event::Delivery;
use tidings_domain::message::Mailbox;
use tidings_ports::{MsgRange, Order, Store};

use crate::APP;
use crate::processes::ServerProcess;

/// The sender of every batch of a fault run (see [`super::clients`]).
const FROM_UID: i64 = 1;
/// Explained one by one; the rest are only counted.
const EXPLAINED: usize = 10;

/// Lines of each process log kept in the report, from its end.
const LOG_TAIL: usize = 12;

/// A report on `missing` (uid, msgkey) pairs: each projector's event counters, lag and
/// batches, the end of each log in `logs`, then per message its dedupe row, its mailbox's
/// head and the row its dedupe row points at.
pub async fn explain(
    store: &dyn Store,
    projectors: &[ServerProcess],
    logs: Option<&Path>,
    missing: &[(i64, String)],
) -> String {
    let http = reqwest::Client::new();
    let mut report = String::new();
    for (index, projector) in projectors.iter().enumerate() {
        let lines = match projector.metrics(&http).await {
            Ok(text) => text
                .lines()
                .filter(|line| {
                    line.starts_with("tidings_projector_events_total") || line.starts_with("tidings_projector_lag")
                })
                .map(str::to_owned)
                .collect::<Vec<_>>()
                .join("\n  "),
            Err(error) => format!("metrics unavailable: {error:#}"),
        };
        let _ = writeln!(report, "projector {index}:\n  {lines}");
    }
    if let Some(dir) = logs {
        for role in ["ingest", "project", "pull"] {
            let path = dir.join(format!("{role}.log"));
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(LOG_TAIL)..].join("\n  ");
            let _ = writeln!(report, "the end of {}:\n  {tail}", path.display());
        }
    }
    for (uid, msgkey) in missing.iter().take(EXPLAINED) {
        let _ = writeln!(report, "uid {uid}, msgkey {msgkey}: {}", explain_one(store, *uid, msgkey).await);
    }
    if missing.len() > EXPLAINED {
        let _ = writeln!(report, "... and {} more", missing.len() - EXPLAINED);
    }
    report
}

async fn explain_one(store: &dyn Store, uid: i64, msgkey: &str) -> String {
    let mailbox = Mailbox { app_id: APP, uid };
    let dedupe_key = Delivery::dedupe_key_for(FROM_UID, msgkey, "");
    let head = match store.mailbox_state(mailbox).await {
        Ok(state) => format!("{:?}", state.head),
        Err(error) => format!("unreadable ({error})"),
    };
    let msg_id = match store.find_delivery(mailbox, &dedupe_key).await {
        Ok(Some(msg_id)) => msg_id,
        Ok(None) => return format!("no dedupe row (never projected); mailbox head {head}"),
        Err(error) => return format!("dedupe row unreadable ({error}); mailbox head {head}"),
    };
    let range = MsgRange { after: Some(msg_id - 1), before: Some(msg_id + 1) };
    let row = match store.read_mailbox(mailbox, range, Order::Ascending, 1).await {
        Ok(rows) => match rows.first() {
            Some(row) if row.body.msgkey == msgkey => "holds this message".to_owned(),
            Some(row) => format!("holds another message (msgkey {})", row.body.msgkey),
            None => "is absent".to_owned(),
        },
        Err(error) => format!("is unreadable ({error})"),
    };
    format!("dedupe row -> msg_id {msg_id}, whose row {row}; mailbox head {head}")
}
