//! `tidings replay`: rebuild the projections from the event log, verify them, move
//! consumer groups (docs/design.md#recovery-is-replay; the runbook is in README.md).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tidings_ports::Topics;
use tidings_ports::log::TopicName;
use tidings_replay::offsets::{ResetTo, execute_reset, plan_reset};
use tidings_replay::plan::{estimated_bytes, plan};
use tidings_replay::rebuild::{RebuildSettings, rebuild};
use tidings_replay::{positions, replayed_topics, verify};
use tidings_server::Config;
use tidings_server::replay::{LiveEngines, ReplayTarget, open_existing_target, open_live, prepare_target};

use super::EngineArgs;

/// Differences `verify` prints before it stops looking.
const MAX_DIFFERENCES: usize = 20;

#[derive(Debug, clap::Subcommand)]
pub enum ReplayCommand {
    /// Print what a rebuild would read: per partition of the event topics, the offsets, the
    /// events and their bytes (estimated from a sample). Refuses when the log no longer holds
    /// a partition's beginning.
    Plan {
        /// A target already (partly) rebuilt: plan from its checkpoints.
        #[arg(long)]
        target: Option<String>,
        #[command(flatten)]
        engines: EngineArgs,
    },
    /// Rebuild the projections into TARGET (a new data directory on the embedded store, a
    /// new keyspace on CQL) with the projector's own code, from the beginning of the event
    /// topics up to their end now. Resumes from TARGET's checkpoints after a kill; never
    /// touches the live consumer group. On embedded engines, stop the server first: the
    /// log is copied into TARGET, which then is a whole data directory.
    Rebuild {
        target: String,
        /// Records read and projected at once per partition.
        #[arg(long, default_value_t = RebuildSettings::default().batch_size)]
        batch_size: usize,
        /// Partitions rebuilt at once.
        #[arg(long, default_value_t = RebuildSettings::default().parallel)]
        parallel: usize,
        #[command(flatten)]
        engines: EngineArgs,
    },
    /// Compare TARGET with the live projection: every mailbox's rows and ids, head, read
    /// mark, hidden broadcasts and dedupe keys; every app's broadcasts and public state.
    /// Both must stand at the same log positions (the live projector drained, the target
    /// rebuilt to the end). Exits 1 and prints the first differences when they differ.
    Verify {
        target: String,
        #[command(flatten)]
        engines: EngineArgs,
    },
    /// Move a consumer group's committed offsets on the event topics (a dry run unless
    /// --execute). Refused while the group has live members.
    ResetOffsets {
        /// The consumer group, e.g. the projectors' (projector.group).
        #[arg(long)]
        group: String,
        /// `earliest`, `latest`, or an RFC 3339 time (2026-12-01T10:00:00Z): the first record
        /// appended at or after it (Kafka only: the embedded log keeps no append times).
        #[arg(long, value_parser = parse_reset_to)]
        to: ResetTo,
        /// Topics to move [default: the event topics, <prefix>.mailbox and <prefix>.broadcast].
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// Move the offsets; without it, only print the moves.
        #[arg(long)]
        execute: bool,
        #[command(flatten)]
        engines: EngineArgs,
    },
}

fn parse_reset_to(value: &str) -> Result<ResetTo, String> {
    match value {
        "earliest" => Ok(ResetTo::Earliest),
        "latest" => Ok(ResetTo::Latest),
        time => time
            .parse::<jiff::Timestamp>()
            .map(|at| ResetTo::Time(at.as_millisecond()))
            .map_err(|error| format!("use earliest, latest or an RFC 3339 time like 2026-12-01T10:00:00Z ({error})")),
    }
}

pub fn run(config_file: Option<&Path>, command: ReplayCommand) -> anyhow::Result<()> {
    let engines = match &command {
        ReplayCommand::Plan { engines, .. }
        | ReplayCommand::Rebuild { engines, .. }
        | ReplayCommand::Verify { engines, .. }
        | ReplayCommand::ResetOffsets { engines, .. } => engines,
    };
    let config = Config::load(config_file, &engines.overrides())?;
    tidings_server::telemetry::init_logs(&config.telemetry);
    let topics = Topics::with_prefix(&config.topics.prefix);
    super::runtime()?.block_on(async {
        match command {
            ReplayCommand::Plan { target, .. } => print_plan(&config, &topics, target.as_deref()).await,
            ReplayCommand::Rebuild { target, batch_size, parallel, .. } => {
                run_rebuild(&config, &topics, &target, &RebuildSettings { batch_size, parallel }).await
            }
            ReplayCommand::Verify { target, .. } => run_verify(&config, &topics, &target).await,
            ReplayCommand::ResetOffsets { group, to, topics: named, execute, .. } => {
                let topics = if named.is_empty() { replayed_topics(&topics).to_vec() } else { named };
                reset_offsets(&config, &group, &topics, to, execute).await
            }
        }
    })
}

async fn print_plan(config: &Config, topics: &Topics, target: Option<&str>) -> anyhow::Result<()> {
    let live = open_live(config, false).await?;
    let checkpoints = match target {
        Some(name) => match open_existing_target(&ReplayTarget::named(config, name)?).await? {
            Some(store) => store.replay_checkpoints().await?,
            None => Vec::new(),
        },
        None => Vec::new(),
    };
    let plan = plan(live.log.as_ref(), &replayed_topics(topics), &checkpoints).await?;
    println!(
        "{:<32} {:>9} {:>12} {:>12} {:>12} {:>14}",
        "topic", "partition", "from", "until", "events", "bytes (est.)"
    );
    let mut total_bytes = 0;
    for partition in &plan.partitions {
        let bytes = estimated_bytes(live.log.as_ref(), partition).await?;
        total_bytes += bytes;
        let from = if partition.resumed { format!("{} (resumed)", partition.from) } else { partition.from.to_string() };
        println!(
            "{:<32} {:>9} {:>12} {:>12} {:>12} {:>14}",
            partition.topic,
            partition.partition,
            from,
            partition.until,
            partition.records(),
            indicatif::HumanBytes(bytes).to_string()
        );
    }
    println!(
        "{:<32} {:>9} {:>12} {:>12} {:>12} {:>14}",
        "total",
        "",
        "",
        "",
        plan.records(),
        indicatif::HumanBytes(total_bytes).to_string()
    );
    Ok(())
}

async fn run_rebuild(config: &Config, topics: &Topics, name: &str, settings: &RebuildSettings) -> anyhow::Result<()> {
    let target = ReplayTarget::named(config, name)?;
    let live = open_live(config, false).await?;
    let copying = counting_bar("copying the log", log_records(&live, topics).await?);
    let target_engines = prepare_target(config, live, &target, {
        let copying = copying.clone();
        move |records| copying.inc(records)
    })
    .await?;
    copying.finish_and_clear();

    let checkpoints = target_engines.store.replay_checkpoints().await?;
    let plan = plan(target_engines.log.as_ref(), &replayed_topics(topics), &checkpoints).await?;
    let resumed = plan.partitions.iter().filter(|p| p.resumed).count();
    eprintln!(
        "rebuilding {target}: {} events over {} partitions{}",
        plan.records(),
        plan.partitions.len(),
        if resumed > 0 { format!(", resuming {resumed} from checkpoints") } else { String::new() }
    );
    let projecting = counting_bar("projecting", plan.records());
    let started = Instant::now();
    let report = rebuild(
        Arc::clone(&target_engines.log),
        Arc::clone(&target_engines.store),
        topics,
        &plan,
        settings,
        &|records| projecting.inc(records),
    )
    .await?;
    projecting.finish_and_clear();
    let elapsed = started.elapsed();
    println!(
        "rebuilt {target} up to the log's end: {} events in {:.1} s ({:.0} events/s): {} projected, {} duplicates, \
         {} broadcast events refused, {} invalid (dead-lettered by the live projector)",
        report.records,
        elapsed.as_secs_f64(),
        report.records as f64 / elapsed.as_secs_f64().max(1e-9),
        report.projected,
        report.duplicates,
        report.rejected,
        report.invalid,
    );
    println!("next: tidings replay verify {name}");
    Ok(())
}

async fn run_verify(config: &Config, topics: &Topics, name: &str) -> anyhow::Result<()> {
    let target = ReplayTarget::named(config, name)?;
    let live = open_live(config, true).await?;
    let live_store = live.store.clone().context("the live store, opened for verify")?;
    let rebuilt = open_existing_target(&target)
        .await?
        .with_context(|| format!("there is no {target}: run `tidings replay rebuild {name}` first"))?;
    let checkpoints = rebuilt.replay_checkpoints().await?;
    let group = &config.projector.group;
    let mismatches = positions::mismatches(live.log.as_ref(), group, &replayed_topics(topics), &checkpoints).await?;
    if !mismatches.is_empty() {
        for mismatch in &mismatches {
            eprintln!("  {mismatch}");
        }
        anyhow::bail!(
            "the live projection (group {group}) and {target} stand at different log positions, so differences would \
             only be events in flight: let the live projector drain, then run `tidings replay rebuild {name}` again \
             to bring the target to the end, and verify again"
        );
    }
    let comparing = ProgressBar::new_spinner().with_message("comparing mailboxes");
    comparing.enable_steady_tick(Duration::from_millis(200));
    let report = verify::verify(live_store.as_ref(), rebuilt.as_ref(), MAX_DIFFERENCES, &|| comparing.inc(1)).await?;
    comparing.finish_and_clear();
    println!(
        "compared {} mailboxes ({} messages, {} dedupe keys) and {} apps ({} broadcasts) at the same log positions",
        report.mailboxes, report.messages, report.deliveries, report.apps, report.broadcasts
    );
    if report.differences.is_empty() {
        println!("{target} equals the live projection");
        return Ok(());
    }
    for difference in &report.differences {
        println!("DIFFERENT {difference}");
    }
    anyhow::bail!("{target} differs from the live projection (first {} differences above)", report.differences.len())
}

async fn reset_offsets(
    config: &Config,
    group: &str,
    topics: &[TopicName],
    to: ResetTo,
    execute: bool,
) -> anyhow::Result<()> {
    let live = open_live(config, false).await?;
    let moves = plan_reset(live.log.as_ref(), group, topics, to).await?;
    for offset_move in &moves {
        println!("{offset_move}");
    }
    if !execute {
        println!("dry run: nothing moved (add --execute to move group {group})");
        return Ok(());
    }
    execute_reset(live.log.as_ref(), group, &moves).await?;
    println!("moved group {group} on {} partitions", moves.len());
    Ok(())
}

/// Records of every topic the deployment has, for the copy's progress bar.
async fn log_records(live: &LiveEngines, topics: &Topics) -> anyhow::Result<u64> {
    let mut records = 0;
    for topic in [&topics.mailbox, &topics.broadcast, &topics.reach, &topics.notify, &topics.dead_letter] {
        for extent in live.log.partitions(topic).await? {
            records += u64::try_from(extent.end - extent.earliest).unwrap_or(0);
        }
    }
    Ok(records)
}

fn counting_bar(what: &'static str, length: u64) -> ProgressBar {
    let bar = ProgressBar::new(length).with_message(what);
    bar.set_style(
        ProgressStyle::with_template("{msg:>16} [{bar:40}] {human_pos}/{human_len} events, {per_sec}, ETA {eta}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_targets_parse_and_bad_ones_say_what_is_accepted() {
        assert_eq!(parse_reset_to("earliest"), Ok(ResetTo::Earliest));
        assert_eq!(parse_reset_to("latest"), Ok(ResetTo::Latest));
        assert_eq!(parse_reset_to("2026-12-01T10:00:00Z"), Ok(ResetTo::Time(1_796_119_200_000)));
        assert!(parse_reset_to("yesterday").unwrap_err().contains("earliest, latest or an RFC 3339 time"));
    }
}
