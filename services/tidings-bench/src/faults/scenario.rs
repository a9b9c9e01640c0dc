//! The faults, each a script run while the clients send and sync: it injects its fault,
//! heals it, and says when the system was whole again and what it did.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::deployment::Deployment;
use super::engines::EngineProcesses;
use super::proxy::{Conditions, FaultProxy};

/// The faults the suite knows, in the order it runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// kill -9 one projector every few seconds (restarted at once) while a stream is projected.
    ProjectorKills,
    /// kill -9 the Kafka broker and start it again on the same data while ingest is sending.
    KafkaKill,
    /// SIGSTOP Cassandra's JVM, then SIGCONT.
    CassandraStall,
    /// Added latency, then an outage, between the projectors and Cassandra (the fault proxy).
    StoreProxy,
}

/// How long the parts of a script last: the full suite's, or the bounded form's for CI.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    /// Sending before a fault and after it heals.
    pub calm: Duration,
    pub projector_kill_every: Duration,
    pub kafka_down: Duration,
    pub cassandra_stall: Duration,
    pub proxy_latency: Duration,
    pub proxy_latency_for: Duration,
    pub proxy_outage: Duration,
}

impl Timings {
    pub fn new(bounded: bool) -> Self {
        Self {
            calm: Duration::from_secs(5),
            projector_kill_every: Duration::from_secs(5),
            kafka_down: Duration::from_secs(if bounded { 3 } else { 10 }),
            cassandra_stall: Duration::from_secs(if bounded { 10 } else { 30 }),
            proxy_latency: Duration::from_millis(200),
            proxy_latency_for: Duration::from_secs(if bounded { 10 } else { 20 }),
            proxy_outage: Duration::from_secs(if bounded { 5 } else { 15 }),
        }
    }
}

/// What a script works on.
#[derive(Debug)]
pub struct Targets<'a> {
    pub deployment: &'a mut Deployment,
    pub engines: &'a EngineProcesses,
    pub proxy: &'a FaultProxy,
    /// Fires when every send was started (and acknowledged or given up).
    pub sends_done: CancellationToken,
}

/// What a script did.
#[derive(Debug, Clone)]
pub struct Injected {
    pub description: String,
    /// When the last fault was over.
    pub healed_at: Instant,
}

impl Fault {
    /// Whether the run sends a fixed number of messages through the fault (else it sends
    /// until the script is done).
    pub fn sends_a_stream(self) -> bool {
        self == Self::ProjectorKills
    }

    pub async fn inject(self, timings: &Timings, targets: Targets<'_>) -> anyhow::Result<Injected> {
        let calm = timings.calm;
        let description = match self {
            Self::ProjectorKills => {
                let every = timings.projector_kill_every;
                loop {
                    tokio::select! {
                        () = tokio::time::sleep(every) => targets.deployment.kill_and_restart_a_projector().await?,
                        () = targets.sends_done.cancelled() => break,
                    }
                }
                format!("kill -9 a projector every {} s ({} kills)", every.as_secs(), targets.deployment.restarts())
            }
            Self::KafkaKill => {
                tokio::time::sleep(calm).await;
                let killed = Instant::now();
                targets.engines.kill_kafka().await?;
                tokio::time::sleep(timings.kafka_down).await;
                targets.engines.start_kafka().await?;
                format!("kill -9 Kafka, start it again ({:.1} s down)", killed.elapsed().as_secs_f64())
            }
            Self::CassandraStall => {
                tokio::time::sleep(calm).await;
                let frozen = Frozen::new(targets.engines)?;
                tokio::time::sleep(timings.cassandra_stall).await;
                drop(frozen);
                format!("SIGSTOP Cassandra {} s", timings.cassandra_stall.as_secs())
            }
            Self::StoreProxy => {
                tokio::time::sleep(calm).await;
                let slow = Conditions { latency: timings.proxy_latency, outage: false };
                targets.proxy.set(slow);
                tokio::time::sleep(timings.proxy_latency_for).await;
                targets.proxy.set(Conditions { latency: Duration::ZERO, outage: true });
                tokio::time::sleep(timings.proxy_outage).await;
                targets.proxy.set(Conditions::default());
                format!(
                    "projectors to CQL +{} ms for {} s, then cut {} s",
                    timings.proxy_latency.as_millis(),
                    timings.proxy_latency_for.as_secs(),
                    timings.proxy_outage.as_secs()
                )
            }
        };
        let healed_at = Instant::now();
        if !self.sends_a_stream() {
            tokio::time::sleep(calm).await;
        }
        Ok(Injected { description, healed_at })
    }
}

/// Cassandra's JVM stopped; it continues when this is dropped, whatever happens between.
#[derive(Debug)]
struct Frozen<'a>(&'a EngineProcesses);

impl<'a> Frozen<'a> {
    fn new(engines: &'a EngineProcesses) -> anyhow::Result<Self> {
        engines.freeze_cassandra(true)?;
        Ok(Self(engines))
    }
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        if let Err(error) = self.0.freeze_cassandra(false) {
            eprintln!("error: Cassandra stays stopped: {error:#}");
        }
    }
}
