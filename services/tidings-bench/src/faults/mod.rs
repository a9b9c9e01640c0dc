//! `tidings-bench faults`: Tidings under faults, against the configured Kafka and CQL store
//! and processes of its own, with a Jepsen-style check of invariants 1, 2 and 3
//! (docs/design.md). Each [`Fault`] runs on a fresh deployment ([`deployment`]: ingest, two
//! projectors in one consumer group behind the [`proxy`], pull) under names of its own,
//! while business servers send batches, retrying each with its msgkey until acknowledged,
//! and users' clients follow their sync cursors ([`clients`]). Once the fault healed and
//! the mailboxes hold every acknowledged message (or a timeout passed), the [`checker`]
//! counts what was lost, duplicated, skipped or misordered; any of them fails the run.
//!
//! The engines are signalled through their pid files ([`engines`]), so they must be those
//! `infra/kafka/start.sh` and `infra/cassandra/start.sh` started from `--infra-dir`.

mod checker;
mod clients;
mod deployment;
mod engines;
mod forensics;
mod proxy;
mod scenario;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use tidings_server::engines::{LogConfig, StoreConfig};
use tidings_server::{Config, Overrides};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use self::checker::Verdict;
use self::clients::{Clients, SendPlan};
use self::deployment::{Deployment, Roles};
use self::engines::EngineProcesses;
use self::proxy::FaultProxy;
use self::scenario::{Fault, Targets, Timings};
use crate::namespace::{BenchNamespace, ScratchDir};
use crate::progress;
use crate::report::{Align, Machine, Table, count, write_json};

#[derive(Debug, Clone, clap::Args)]
pub struct FaultsArgs {
    /// The `tidings` binary to run (cargo build --release -p tidings).
    #[arg(long, default_value = "target/release/tidings")]
    server: PathBuf,
    /// The CI form: 20,000 messages through the projector kills instead of 100,000, and
    /// shorter faults (a 10 s Cassandra stall instead of 30 s).
    #[arg(long)]
    bounded: bool,
    /// The faults to inject, in this order [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    faults: Vec<Fault>,
    /// The repository's infra directory the engines were started from (their pid files are
    /// under its .run).
    #[arg(long, default_value = "infra")]
    infra_dir: PathBuf,
    /// Kafka's KRaft controller port, to start the broker again [default: its port + 1].
    #[arg(long)]
    kafka_controller_port: Option<u16>,
    /// Users whose mailboxes receive the messages, each followed by a syncing client.
    #[arg(long, default_value_t = 50)]
    users: usize,
    /// Recipients of each batch send (each one message).
    #[arg(long, default_value_t = 10)]
    recipients_per_send: usize,
    /// Batch sends started per second.
    #[arg(long, default_value_t = 100)]
    sends_per_second: u32,
    /// Messages through the projector kills [default: 100,000; 20,000 with --bounded].
    #[arg(long)]
    messages: Option<u64>,
    /// How long after the faults healed sends are still retried, and the mailboxes may
    /// take to hold every acknowledged message, in seconds.
    #[arg(long, default_value_t = 300)]
    settle_seconds: u64,
    /// A directory for the processes' logs, one per fault and role [default: stderr].
    #[arg(long, value_name = "DIR")]
    logs: Option<PathBuf>,
    /// Also write the results as JSON to this file (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// One fault's row of the report.
#[derive(Debug, Serialize)]
struct FaultReport {
    fault: String,
    sent: u64,
    acked: u64,
    indeterminate: u64,
    never_acked: u64,
    lost: u64,
    duplicated: u64,
    skipped: u64,
    misordered: u64,
    longest_lag_seconds: Option<f64>,
    recovered_after_seconds: Option<f64>,
    /// Lost + duplicated + skipped + misordered: the run fails unless zero.
    breaches: u64,
}

impl FaultReport {
    fn new(description: String, verdict: &Verdict) -> Self {
        Self {
            fault: description,
            sent: verdict.sent,
            acked: verdict.acked,
            indeterminate: verdict.indeterminate,
            never_acked: verdict.sent - verdict.acked,
            lost: verdict.lost,
            duplicated: verdict.duplicated,
            skipped: verdict.skipped,
            misordered: verdict.misordered,
            longest_lag_seconds: verdict.longest_lag.map(|lag| lag.as_secs_f64()),
            recovered_after_seconds: verdict.recovered_after.map(|after| after.as_secs_f64()),
            breaches: verdict.breaches(),
        }
    }
}

#[derive(Debug, Serialize)]
struct Report {
    command: String,
    machine: Machine,
    bounded: bool,
    faults: Vec<FaultReport>,
}

/// What every fault's run shares.
struct Suite<'a> {
    args: &'a FaultsArgs,
    config: Config,
    config_file: Option<&'a Path>,
    engines: EngineProcesses,
    timings: Timings,
    scratch: ScratchDir,
}

pub async fn run(args: FaultsArgs, config_file: Option<&Path>) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=args.users).contains(&args.recipients_per_send) && args.sends_per_second >= 1,
        "--recipients-per-send: from 1 to --users; --sends-per-second: at least 1"
    );
    let config = Config::load(config_file, &Overrides::default())?;
    let (LogConfig::Kafka(kafka), StoreConfig::Scylla(store)) = (&config.log, &config.store) else {
        anyhow::bail!("faults need --config naming Kafka and a CQL store (see infra/faults.sh)");
    };
    let kafka_port = port_of(&kafka.bootstrap_servers)?;
    let cql_port = port_of(store.nodes.first().context("no CQL node configured")?)?;
    let engines = EngineProcesses::new(
        &args.infra_dir,
        kafka_port,
        args.kafka_controller_port.unwrap_or(kafka_port + 1),
        cql_port,
    )?;
    let faults = match args.faults.is_empty() {
        true => vec![Fault::ProjectorKills, Fault::KafkaKill, Fault::CassandraStall, Fault::StoreProxy],
        false => args.faults.clone(),
    };
    let machine = Machine::describe();
    eprintln!(
        "faults on Kafka at {} and CQL at {}; machine: {}",
        kafka.bootstrap_servers,
        store.nodes[0],
        machine.summary()
    );
    let suite = Suite {
        args: &args,
        config,
        config_file,
        engines,
        timings: Timings::new(args.bounded),
        scratch: ScratchDir::new(None)?,
    };
    let mut reports = Vec::with_capacity(faults.len());
    for fault in faults {
        reports.push(suite.run_fault(fault).await.with_context(|| format!("the {fault:?} run"))?);
    }
    let report = Report { command: crate::report::command_line(), machine, bounded: args.bounded, faults: reports };
    print_report(&report);
    if let Some(path) = &args.json {
        write_json(path, &report)?;
    }
    let breaches: u64 = report.faults.iter().map(|fault| fault.breaches).sum();
    anyhow::ensure!(breaches == 0, "{breaches} breach(es) of invariants 1-3 (lost, duplicated, skipped or misordered)");
    Ok(())
}

impl Suite<'_> {
    async fn run_fault(&self, fault: Fault) -> anyhow::Result<FaultReport> {
        let name = format!("{fault:?}").to_lowercase();
        eprintln!("\n{name}: starting a deployment of its own ...");
        let namespace = BenchNamespace::create(&self.config, self.scratch.path(), &name).await?;
        let StoreConfig::Scylla(store) = &self.config.store else { unreachable!("checked in run") };
        let proxy = FaultProxy::start(&store.nodes[0]).await?;
        let logs = self.args.logs.as_ref().map(|dir| dir.join(&name));
        if let Some(dir) = &logs {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let roles = Roles {
            binary: self.args.server.clone(),
            data_dir: self.scratch.path().join(&name),
            config_file: self.config_file.map(Path::to_path_buf),
            env: namespace.env(),
            logs: logs.clone(),
        };
        let mut deployment = Deployment::start(roles, &proxy).await?;
        let clients = Clients::new(&deployment.ingest.api, &deployment.pull.api)?;
        let plan = self.plan(fault, &name);

        let stop_following = CancellationToken::new();
        let followers: Vec<_> = plan
            .users
            .iter()
            .map(|uid| tokio::spawn(clients.clone().follow(*uid, Duration::from_millis(500), stop_following.clone())))
            .collect();
        let (stop_sending, give_up, sends_done) =
            (CancellationToken::new(), CancellationToken::new(), CancellationToken::new());
        let sent = Arc::new(AtomicU64::new(0));
        let sending = {
            let (clients, plan, stop_sending, give_up, sends_done, sent) = (
                clients.clone(),
                plan.clone(),
                stop_sending.clone(),
                give_up.clone(),
                sends_done.clone(),
                sent.clone(),
            );
            tokio::spawn(async move {
                let records = clients.send(&plan, stop_sending, give_up, sent).await;
                sends_done.cancel();
                records
            })
        };
        let bar = self.sending_bar(fault, &plan, sent.clone());
        let targets = Targets { deployment: &mut deployment, engines: &self.engines, proxy: &proxy, sends_done };
        let injected = fault.inject(&self.timings, targets).await;
        stop_sending.cancel();
        let injected = injected?;
        eprintln!("{name}: {}; healed, settling ...", injected.description);
        let settle = Duration::from_secs(self.args.settle_seconds);
        let giving_up = give_up.clone();
        tokio::spawn(async move {
            tokio::time::sleep(settle).await;
            giving_up.cancel();
        });
        let records = sending.await.context("the senders panicked")?;
        give_up.cancel();
        bar.finish_and_clear();
        let missing = clients.wait_for_acknowledged(&records, Instant::now() + settle).await;
        if missing.is_empty() {
            eprintln!("{name}: mailboxes hold every acknowledged message");
        } else {
            let store = tidings_server::engines::open_store(&namespace.config).await?;
            let report = forensics::explain(store.as_ref(), deployment.projectors(), logs.as_deref(), &missing).await;
            eprintln!("{name}: mailboxes still miss {} acknowledged message(s):\n{report}", missing.len());
        }
        stop_following.cancel();
        let mut mailboxes = Vec::with_capacity(followers.len());
        for follower in followers {
            mailboxes.push(follower.await.context("a follower panicked")??);
        }
        let healed_at = injected.healed_at.duration_since(clients.epoch);
        let verdict = checker::check(&records, &mailboxes, healed_at);
        drop(deployment);
        drop(proxy);
        if verdict.breaches() == 0 {
            namespace.drop_keyspace().await?;
        } else {
            // Kept for a post-mortem: the store and the topics as the breach left them.
            eprintln!("{name}: keeping {} for a post-mortem", namespace.describe());
        }
        Ok(FaultReport::new(injected.description, &verdict))
    }

    fn plan(&self, fault: Fault, name: &str) -> SendPlan {
        let per_send = self.args.recipients_per_send as u64;
        let messages = self.args.messages.unwrap_or(if self.args.bounded { 20_000 } else { 100_000 });
        SendPlan {
            name: format!("{name}-{}", tidings_domain::time::now_s()),
            users: (1_000..1_000 + self.args.users as i64).collect(),
            recipients_per_send: self.args.recipients_per_send,
            sends_per_second: self.args.sends_per_second,
            senders: 64,
            max_sends: if fault.sends_a_stream() { messages.div_ceil(per_send) } else { u64::MAX },
        }
    }

    /// A bar of messages sent, against the stream's size (or what the script's length
    /// lets the senders send).
    fn sending_bar(&self, fault: Fault, plan: &SendPlan, sent: Arc<AtomicU64>) -> indicatif::ProgressBar {
        let per_send = plan.recipients_per_send as u64;
        let total = match fault.sends_a_stream() {
            true => plan.max_sends * per_send,
            false => u64::from(plan.sends_per_second) * per_send * 60,
        };
        let bar = progress::counter(total, "sending", "messages", &indicatif::MultiProgress::new());
        let ticking = bar.clone();
        tokio::spawn(async move {
            while !ticking.is_finished() {
                ticking.set_position(sent.load(Ordering::Relaxed));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        bar
    }
}

/// The port of `host:port`.
fn port_of(address: &str) -> anyhow::Result<u16> {
    let (_, port) = address.rsplit_once(':').with_context(|| format!("no port in {address}"))?;
    port.parse().with_context(|| format!("the port of {address}"))
}

fn print_report(report: &Report) {
    let seconds = |value: Option<f64>| value.map_or_else(|| "never".to_owned(), |v| format!("{v:.1}"));
    let mut table = Table::new(&[
        ("fault", Align::Left),
        ("sent", Align::Right),
        ("acked", Align::Right),
        ("indeterminate", Align::Right),
        ("never acked", Align::Right),
        ("lost", Align::Right),
        ("duplicated", Align::Right),
        ("skipped", Align::Right),
        ("misordered", Align::Right),
        ("longest lag s", Align::Right),
        ("recovered s", Align::Right),
    ]);
    for fault in &report.faults {
        table.row(vec![
            fault.fault.clone(),
            count(fault.sent),
            count(fault.acked),
            count(fault.indeterminate),
            count(fault.never_acked),
            count(fault.lost),
            count(fault.duplicated),
            count(fault.skipped),
            count(fault.misordered),
            seconds(fault.longest_lag_seconds),
            seconds(fault.recovered_after_seconds),
        ]);
    }
    println!();
    println!("{}", table.render());
    println!(
        "Messages (one per recipient of a batch send). indeterminate: of sends that got a timeout, 5xx or \
connection error at least once and were retried with their msgkey; never acked: still unanswered when the run \
ended. longest lag: from a 2xx to the message in its syncing client's hands; recovered: from the heal until every \
message acknowledged before it was there.{}",
        if report.bounded { " Bounded form (--bounded): 20,000 messages through the projector kills." } else { "" }
    );
    println!("machine: {}", report.machine.summary());
}
