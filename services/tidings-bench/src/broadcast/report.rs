//! What `tidings-bench broadcast` reports: the figures of each run, as JSON and as tables.

use serde::Serialize;

use crate::report::{Align, Machine, Table, bytes, count, ms};

/// What `--json` writes.
#[derive(Debug, Serialize)]
pub struct BroadcastReport {
    pub command: String,
    pub machine: Machine,
    pub engines: String,
    pub refresh_interval_ms: u64,
    pub max_batch_recipients: usize,
    pub content_bytes: usize,
    pub pullers: usize,
    pub pull_seconds: u64,
    pub runs: Vec<RunReport>,
}

#[derive(Debug, Serialize)]
pub struct RunReport {
    pub users: i64,
    pub public_mailbox: Reach,
    pub fan_out: Reach,
    /// Fan-out's cost over the public mailbox's.
    pub ratios: Ratios,
    /// How long the process took to go quiet (background compaction) before the storms.
    pub settled_after_s: f64,
    pub storms: Vec<Storm>,
}

/// What reaching every user once cost.
#[derive(Debug, Clone, Serialize)]
pub struct Reach {
    pub approach: &'static str,
    /// From the publish call (public) or the first send (fan-out) until every user can see
    /// the message.
    pub visible_after_s: f64,
    /// Public: until the publish call returned (projected). Fan-out: until every send was
    /// durably accepted by the log.
    pub accepted_after_s: f64,
    /// Added to the store, by its own accounting; none when the store can't tell.
    pub store_bytes: Option<u64>,
    pub log_events: u64,
    pub log_bytes: u64,
    /// Users whose pull showed the message (all of those checked).
    pub users_checked: usize,
    pub load_1m: Option<f64>,
}

impl Reach {
    /// One line on what it added to the store and the log.
    pub fn footprint_line(&self) -> String {
        let store =
            self.store_bytes.map_or_else(|| "store bytes unknown".to_owned(), |b| format!("store +{}", bytes(b)));
        format!("{store}; log +{} events ({})", count(self.log_events), bytes(self.log_bytes))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Ratios {
    pub time: Option<f64>,
    pub store_bytes: Option<f64>,
    pub log_events: Option<f64>,
}

/// Which cursor the storm's pulls carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncKind {
    /// No cursor: a new device's first sync, which reads the private timeline.
    First,
    /// A cursor up to date on private messages and before the broadcast: what a client
    /// that was in sync has when it pulls after a broadcast.
    Incremental,
}

impl SyncKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SyncKind::First => "first",
            SyncKind::Incremental => "incremental",
        }
    }
}

/// What the storm's broadcast is (docs/design.md#templates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    /// Plain text, the same for every user.
    Plain,
    /// A template, rendered per user; the users have no attributes (it shows their uid).
    Template,
    /// The same template, and every user has the attribute it reads.
    TemplateWithAttributes,
}

impl Content {
    pub const ALL: [Content; 3] = [Content::Plain, Content::Template, Content::TemplateWithAttributes];

    pub fn as_str(&self) -> &'static str {
        match self {
            Content::Plain => "plain",
            Content::Template => "template",
            Content::TemplateWithAttributes => "template + attrs",
        }
    }
}

/// One pull storm.
#[derive(Debug, Clone, Serialize)]
pub struct Storm {
    pub sync: SyncKind,
    pub content: Content,
    pub public_cache: bool,
    /// Whether the pulls counted reach (docs/design.md#reach).
    pub reach_counting: bool,
    pub pullers: usize,
    pub seconds: f64,
    pub pulls: u64,
    pub pulls_per_second: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Messages per pull, on average (each user has one private and one public).
    pub messages_per_pull: f64,
    /// Reads of the public mailbox from the store during the storm.
    pub public_store_reads: u64,
    pub public_store_reads_per_pull: f64,
    /// Reads per refresh interval of the cache (with the cache on, ideally 1).
    pub public_store_reads_per_interval: f64,
    pub load_1m: Option<f64>,
}

pub fn print_report(report: &BroadcastReport) {
    let mut reach = reach_table();
    let mut ratios = Table::new(&[
        ("users", Align::Right),
        ("time: fan-out / public", Align::Right),
        ("store bytes: fan-out / public", Align::Right),
        ("log events: fan-out / public", Align::Right),
    ]);
    let mut storms = storm_table();
    let times = |r: Option<f64>| r.map_or_else(|| "-".to_owned(), |r| format!("{r:.1}x"));
    for run in &report.runs {
        let users = count(run.users as u64);
        for r in [&run.public_mailbox, &run.fan_out] {
            reach.row(reach_row(&users, run.users, r));
        }
        ratios.row(vec![
            users.clone(),
            times(run.ratios.time),
            times(run.ratios.store_bytes),
            times(run.ratios.log_events),
        ]);
        for s in &run.storms {
            storms.row(storm_row(&users, s));
        }
    }
    println!();
    println!("Reaching every user with one message ({} B of content):", report.content_bytes);
    println!();
    println!("{}", reach.render());
    println!("accepted: public, the publish call returned (projected); fan-out, every batch send durably in the log.");
    println!("visible: public, a pull showed it (projection + cache refresh); fan-out, the projector stored all rows.");
    println!();
    println!("What fan-out on write costs, in multiples of the public mailbox:");
    println!();
    println!("{}", ratios.render());
    println!(
        "Pull storm: {} simulated users syncing for {} s per mode, public cache refreshed every {} ms:",
        report.pullers, report.pull_seconds, report.refresh_interval_ms
    );
    println!();
    println!("{}", storms.render());
    println!("Reach counting's cost, cache on (pulls/s summed over the storms of each setting, run in turn):");
    println!();
    println!("{}", reach_cost_table(report).render());
    println!("Personalizing's cost, cache on, reach off (pulls/s; plain: the mean of its storms above):");
    println!();
    println!("{}", personalization_cost_table(report).render());
    println!("first: syncs without a cursor (the private timeline is read); incremental: a cursor up to date");
    println!("on private messages, before the broadcast. Store reads: loads of the public mailbox from the store.");
    println!();
    println!("engines: {}", report.engines);
    println!("machine: {}", report.machine.summary());
}

/// Per run and sync kind: pulls/s with reach counting off and on (the mean of the storms of
/// each, which ran alternately), and what counting cost.
fn reach_cost_table(report: &BroadcastReport) -> Table {
    let mut table = Table::new(&[
        ("users", Align::Right),
        ("sync", Align::Left),
        ("pulls/s, reach off", Align::Right),
        ("pulls/s, reach on", Align::Right),
        ("cost", Align::Right),
    ]);
    for run in &report.runs {
        for kind in [SyncKind::First, SyncKind::Incremental] {
            let mean = |reach: bool| mean_rate(run, kind, Content::Plain, reach);
            let (Some(off), Some(on)) = (mean(false), mean(true)) else { continue };
            table.row(vec![
                count(run.users as u64),
                kind.as_str().to_owned(),
                count(off.round() as u64),
                count(on.round() as u64),
                cost_against(off, on),
            ]);
        }
    }
    table
}

/// Per run and sync kind: pulls/s of the plain broadcast, of its templated version, and of
/// that template once every user has attributes, with each one's cost against plain.
fn personalization_cost_table(report: &BroadcastReport) -> Table {
    let mut table = Table::new(&[
        ("users", Align::Right),
        ("sync", Align::Left),
        ("pulls/s, plain", Align::Right),
        ("pulls/s, template", Align::Right),
        ("cost", Align::Right),
        ("pulls/s, template + attrs", Align::Right),
        ("cost", Align::Right),
    ]);
    for run in &report.runs {
        for kind in [SyncKind::First, SyncKind::Incremental] {
            let mean = |content: Content| mean_rate(run, kind, content, false);
            let [Some(plain), Some(template), Some(attributes)] = Content::ALL.map(mean) else { continue };
            let cost = |rate: f64| cost_against(plain, rate);
            table.row(vec![
                count(run.users as u64),
                kind.as_str().to_owned(),
                count(plain.round() as u64),
                count(template.round() as u64),
                cost(template),
                count(attributes.round() as u64),
                cost(attributes),
            ]);
        }
    }
    table
}

/// The mean pulls/s of a run's cache-on storms of one sync kind, content and reach setting.
fn mean_rate(run: &RunReport, kind: SyncKind, content: Content, reach: bool) -> Option<f64> {
    let rates: Vec<f64> = run
        .storms
        .iter()
        .filter(|s| s.public_cache && s.sync == kind && s.content == content && s.reach_counting == reach)
        .map(|s| s.pulls_per_second)
        .collect();
    (!rates.is_empty()).then(|| rates.iter().sum::<f64>() / rates.len() as f64)
}

/// What going from `base` pulls/s to `rate` costs, in percent of `base`.
fn cost_against(base: f64, rate: f64) -> String {
    format!("{:+.1} %", (base - rate) / base * 100.0)
}

fn load(load: Option<f64>) -> String {
    load.map_or_else(|| "-".to_owned(), |l| format!("{l:.2}"))
}

fn reach_table() -> Table {
    Table::new(&[
        ("users", Align::Right),
        ("approach", Align::Left),
        ("accepted after", Align::Right),
        ("visible to all after", Align::Right),
        ("store bytes added", Align::Right),
        ("per user", Align::Right),
        ("log events", Align::Right),
        ("log bytes", Align::Right),
        ("users checked", Align::Right),
        ("load 1m", Align::Right),
    ])
}

fn reach_row(users_label: &str, users: i64, r: &Reach) -> Vec<String> {
    vec![
        users_label.to_owned(),
        r.approach.to_owned(),
        format!("{:.3} s", r.accepted_after_s),
        format!("{:.3} s", r.visible_after_s),
        r.store_bytes.map_or_else(|| "n/a".to_owned(), bytes),
        r.store_bytes.map_or_else(|| "n/a".to_owned(), |b| format!("{:.1} B", b as f64 / users as f64)),
        count(r.log_events),
        bytes(r.log_bytes),
        count(r.users_checked as u64),
        load(r.load_1m),
    ]
}

fn storm_table() -> Table {
    Table::new(&[
        ("users", Align::Right),
        ("sync", Align::Left),
        ("content", Align::Left),
        ("public cache", Align::Left),
        ("reach", Align::Left),
        ("pulls", Align::Right),
        ("pulls/s", Align::Right),
        ("p50 ms", Align::Right),
        ("p99 ms", Align::Right),
        ("msgs/pull", Align::Right),
        ("public-mailbox store reads", Align::Right),
        ("per pull", Align::Right),
        ("per refresh interval", Align::Right),
        ("load 1m", Align::Right),
    ])
}

fn storm_row(users_label: &str, s: &Storm) -> Vec<String> {
    vec![
        users_label.to_owned(),
        s.sync.as_str().to_owned(),
        s.content.as_str().to_owned(),
        if s.public_cache { "on" } else { "off" }.to_owned(),
        if s.reach_counting { "on" } else { "off" }.to_owned(),
        count(s.pulls),
        count(s.pulls_per_second.round() as u64),
        ms(s.p50_ms),
        ms(s.p99_ms),
        format!("{:.1}", s.messages_per_pull),
        count(s.public_store_reads),
        format!("{:.4}", s.public_store_reads_per_pull),
        if s.public_cache { format!("{:.2}", s.public_store_reads_per_interval) } else { "-".to_owned() },
        load(s.load_1m),
    ]
}
