//! The clients of a run: business servers sending batches and retrying each with its
//! msgkey until ingest acknowledges it, and users' clients following their sync cursor as
//! the SDK does; both record what happened for the [`checker`](super::checker).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use tidings_http::{Authenticator, CallerRole, Claims};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::checker::{MailboxHistory, Row, Seen, SendRecord};
use crate::APP;
use crate::processes::SECRET;

/// How long a client waits for an answer before calling the attempt indeterminate.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A sync page's size.
const PAGE: usize = 200;

/// What every client of a run shares.
#[derive(Debug, Clone)]
pub struct Clients {
    http: reqwest::Client,
    ingest: String,
    pull: String,
    /// When the run started: every recorded time is since then.
    pub epoch: Instant,
}

/// What the senders are to send.
#[derive(Debug, Clone)]
pub struct SendPlan {
    /// Distinguishes this run's msgkeys.
    pub name: String,
    pub users: Vec<i64>,
    pub recipients_per_send: usize,
    /// Sends started per second, over all senders.
    pub sends_per_second: u32,
    /// Sends in flight at once.
    pub senders: usize,
    /// At most this many sends.
    pub max_sends: u64,
}

impl Clients {
    pub fn new(ingest: &str, pull: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build()?;
        Ok(Self { http, ingest: ingest.to_owned(), pull: pull.to_owned(), epoch: Instant::now() })
    }

    fn since_epoch(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Sends `plan` until `max_sends` were started or `stop_sending` fires; each send is
    /// retried until acknowledged or `give_up` fires. Every send's record.
    pub async fn send(
        &self,
        plan: &SendPlan,
        stop_sending: CancellationToken,
        give_up: CancellationToken,
        sent: Arc<AtomicU64>,
    ) -> Vec<SendRecord> {
        let records = Arc::new(Mutex::new(Vec::new()));
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let mut senders = tokio::task::JoinSet::new();
        for _ in 0..plan.senders {
            let (clients, plan, next, records) = (self.clone(), plan.clone(), next.clone(), records.clone());
            let (stop_sending, give_up, sent) = (stop_sending.clone(), give_up.clone(), sent.clone());
            senders.spawn(async move {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= plan.max_sends {
                        return;
                    }
                    // Each send has its slot in the schedule, whoever sends it.
                    let slot = started + Duration::from_secs_f64(index as f64 / f64::from(plan.sends_per_second));
                    tokio::select! {
                        () = tokio::time::sleep_until(slot) => {}
                        () = stop_sending.cancelled() => return,
                    }
                    let record = clients.send_until_acked(&plan, index, &give_up).await;
                    sent.fetch_add(record.recipients.len() as u64, Ordering::Relaxed);
                    records.lock().expect("lock poisoned").push(record);
                }
            });
        }
        senders.join_all().await;
        std::mem::take(&mut *records.lock().expect("lock poisoned"))
    }

    /// One batch, sent with the same msgkey until a 2xx or `give_up`.
    async fn send_until_acked(&self, plan: &SendPlan, index: u64, give_up: &CancellationToken) -> SendRecord {
        let users = plan.users.len();
        let first = (index as usize * plan.recipients_per_send) % users;
        let recipients: Vec<i64> = (0..plan.recipients_per_send).map(|i| plan.users[(first + i) % users]).collect();
        let msgkey = format!("{}-{index}", plan.name);
        let body = json!({"mode": "batch", "from_uid": 1, "to_uids": recipients, "content": msgkey, "msgkey": msgkey});
        let token = token(CallerRole::App, "faults");
        let url = format!("{}/v1/apps/{APP}/messages", self.ingest);
        let mut record = SendRecord { msgkey, recipients, acked_at: None, indeterminate_attempts: 0 };
        let mut backoff = Duration::from_millis(100);
        while !give_up.is_cancelled() {
            let answer = self.http.post(&url).bearer_auth(&token).json(&body).send().await;
            if answer.is_ok_and(|answer| answer.status().is_success()) {
                record.acked_at = Some(self.since_epoch());
                break;
            }
            record.indeterminate_attempts += 1;
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = give_up.cancelled() => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
        record
    }

    /// Follows `uid`'s sync cursor from the start, a page at a time (at once while
    /// `has_more`, else every `every`), through errors, until `stop` fires and a page
    /// reached the head; then reads the whole mailbox afresh.
    pub async fn follow(self, uid: i64, every: Duration, stop: CancellationToken) -> anyhow::Result<MailboxHistory> {
        let mut followed = Vec::new();
        let mut cursor = String::new();
        loop {
            let stopping = stop.is_cancelled();
            match self.sync_page(uid, &cursor).await {
                Ok(page) => {
                    let at = self.since_epoch();
                    followed.extend(page.messages.into_iter().map(|row| Seen { row: row.into(), at }));
                    cursor = page.cursor;
                    if page.has_more {
                        continue;
                    }
                    if stopping {
                        break;
                    }
                }
                Err(error) if stopping => return Err(error.context(format!("uid {uid}'s last sync"))),
                Err(_) => {}
            }
            tokio::time::sleep(every).await;
        }
        Ok(MailboxHistory { uid, followed, last: self.read_mailbox(uid).await? })
    }

    /// Polls every mailbox until each holds every acknowledged message sent to it, or
    /// `deadline`; the (uid, msgkey) of those still missing then (none: converged).
    pub async fn wait_for_acknowledged(&self, records: &[SendRecord], deadline: Instant) -> Vec<(i64, String)> {
        let mut expected: HashMap<i64, HashSet<&str>> = HashMap::new();
        for record in records.iter().filter(|record| record.acked_at.is_some()) {
            for uid in &record.recipients {
                expected.entry(*uid).or_default().insert(record.msgkey.as_str());
            }
        }
        loop {
            let mut missing = Vec::new();
            for (uid, msgkeys) in &expected {
                let held: HashSet<String> = match self.read_mailbox(*uid).await {
                    Ok(rows) => rows.into_iter().map(|row| row.msgkey).collect(),
                    Err(_) => HashSet::new(),
                };
                missing.extend(
                    msgkeys.iter().filter(|msgkey| !held.contains(**msgkey)).map(|msgkey| (*uid, (*msgkey).to_owned())),
                );
            }
            if missing.is_empty() || Instant::now() >= deadline {
                missing.sort();
                return missing;
            }
            eprintln!("waiting for {} acknowledged message(s) to show in pulls ...", missing.len());
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
    }

    /// Every row of `uid`'s mailbox, by a sync from the start.
    pub async fn read_mailbox(&self, uid: i64) -> anyhow::Result<Vec<Row>> {
        let mut rows = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = self.sync_page(uid, &cursor).await?;
            rows.extend(page.messages.into_iter().map(Row::from));
            cursor = page.cursor;
            if !page.has_more {
                return Ok(rows);
            }
        }
    }

    async fn sync_page(&self, uid: i64, cursor: &str) -> anyhow::Result<Page> {
        let url = format!("{}/v1/mailbox/sync", self.pull);
        let limit = PAGE.to_string();
        Ok(self
            .http
            .get(url)
            .query(&[("cursor", cursor), ("limit", &limit)])
            .bearer_auth(token(CallerRole::User, &uid.to_string()))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }
}

/// A sync page, as far as the checker cares.
#[derive(Debug, Deserialize)]
struct Page {
    messages: Vec<PulledMessage>,
    cursor: String,
    has_more: bool,
}

#[derive(Debug, Deserialize)]
struct PulledMessage {
    msg_id: i64,
    #[serde(default)]
    msgkey: String,
}

impl From<PulledMessage> for Row {
    fn from(message: PulledMessage) -> Self {
        Row { msg_id: message.msg_id, msgkey: message.msgkey }
    }
}

/// A token of `role` in [`APP`] for `sub`, signed with the servers' secret.
fn token(role: CallerRole, sub: &str) -> String {
    let claims = Claims { role, app_id: APP, sub: sub.into(), exp: tidings_domain::time::now_s() + 3600, guest: false };
    Authenticator::new(SECRET.as_bytes()).mint(&claims)
}
