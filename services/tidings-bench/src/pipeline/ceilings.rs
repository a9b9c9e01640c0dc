//! The engines' raw rates on the same machine, for `--ceilings`: Kafka's own producer
//! benchmark, and a loop of plain prepared inserts into the CQL store.

use std::sync::Arc;

use anyhow::Context;
use tidings_ports::EventLog;
use tidings_server::Config;
use tidings_testkit::CountingLog;
use tidings_testkit::cql_ceiling::{InsertLoad, prepared_insert_rate};

use super::{BenchRow, PipelineArgs, row};

/// Kafka's ProducerPerformance writing `records` records of `record_bytes` to a fresh topic
/// of the run's partition count, with Tidings' producer settings.
pub async fn kafka_ceiling(
    args: &PipelineArgs,
    config: &Config,
    log: &CountingLog,
    bootstrap_servers: &str,
    records: u64,
    record_bytes: usize,
) -> anyhow::Result<BenchRow> {
    let topic = format!("{}.ceiling", config.topics.prefix);
    // Subscribing creates the topic like Tidings' own; the broker does not auto-create.
    drop(log.subscribe(&format!("{}-ceiling", config.projector.group), std::slice::from_ref(&topic)).await?);
    let output = tokio::process::Command::new(&args.kafka_perf_command)
        .args(["--topic", &topic, "--num-records", &records.to_string()])
        .args(["--record-size", &record_bytes.to_string(), "--throughput", "-1"])
        .args(["--command-property", &format!("bootstrap.servers={bootstrap_servers}"), "acks=all"])
        .arg("enable.idempotence=true")
        .output()
        .await
        .with_context(|| format!("running {}", args.kafka_perf_command.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "{} failed ({}): {}{}",
        args.kafka_perf_command.display(),
        output.status,
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    let summary = ProducerPerfSummary::parse(&stdout)
        .with_context(|| format!("no summary line in ProducerPerformance's output:\n{stdout}"))?;
    Ok(BenchRow {
        phase: format!("ceiling: Kafka ProducerPerformance ({record_bytes} B, acks=all, idempotent)"),
        operations: summary.records,
        unit: "records",
        seconds: summary.records as f64 / summary.per_second,
        per_second: summary.per_second,
        p50_ms: Some(summary.p50_ms),
        p99_ms: Some(summary.p99_ms),
        of_ceiling: None,
    })
}

/// The last line of ProducerPerformance's output: "N records sent, R records/sec (M MB/sec),
/// A ms avg latency, X ms max latency, P ms 50th, Q ms 95th, S ms 99th, T ms 99.9th."
#[derive(Debug, PartialEq)]
struct ProducerPerfSummary {
    records: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl ProducerPerfSummary {
    fn parse(output: &str) -> Option<Self> {
        let line = output.lines().rev().find(|line| line.contains("records sent,"))?;
        let number_before = |label: &str| -> Option<f64> {
            let end = line.find(label)?;
            line[..end].split([',', ' ', '(']).rev().find(|word| !word.is_empty())?.parse().ok()
        };
        Some(Self {
            records: number_before(" records sent")? as u64,
            per_second: number_before(" records/sec")?,
            p50_ms: number_before(" ms 50th")?,
            p99_ms: number_before(" ms 99th")?,
        })
    }
}

/// A loop of plain prepared single-row inserts into the run's keyspace.
pub async fn cql_ceiling(settings: &tidings_scylla::ScyllaSettings, load: InsertLoad) -> anyhow::Result<BenchRow> {
    let session = Arc::new(tidings_scylla::open_session(settings).await?);
    let elapsed = prepared_insert_rate(session, &settings.keyspace, load).await?;
    let phase = format!("ceiling: CQL prepared INSERT, {} in flight ({} B rows)", load.in_flight, load.row_bytes);
    Ok(row(phase, load.rows, "rows", elapsed, Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_producer_performance_summary() {
        let output = "1000 records sent, 500.0 records/sec (0.10 MB/sec), 3.0 ms avg latency, 9.0 ms max latency.\n\
                      200000 records sent, 58633.831721 records/sec (11.18 MB/sec), 115.61 ms avg latency, \
                      525.00 ms max latency, 101 ms 50th, 223 ms 95th, 237 ms 99th, 257 ms 99.9th.\n";
        assert_eq!(
            ProducerPerfSummary::parse(output),
            Some(ProducerPerfSummary { records: 200_000, per_second: 58_633.831721, p50_ms: 101.0, p99_ms: 237.0 })
        );
        assert_eq!(ProducerPerfSummary::parse("Exception in thread main\n"), None);
    }
}
