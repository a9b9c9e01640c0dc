//! The engines' processes, as `infra/kafka/start.sh` and `infra/cassandra/start.sh` ran
//! them: found by their pid files under `<infra>/.run`, and only signalled when the process
//! there is the one those scripts started from this infra dir, listening where the run's
//! configuration points (never another checkout's, never another port's).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Context;

/// The engines of one infra dir.
#[derive(Debug, Clone)]
pub struct EngineProcesses {
    infra: PathBuf,
    kafka_port: u16,
    kafka_controller_port: u16,
    cql_port: u16,
}

/// One engine's pid file, the configuration file its command line names, and the line of
/// that file that puts it on the run's port.
struct Engine {
    pid_file: PathBuf,
    config_file: PathBuf,
    port_setting: String,
}

impl EngineProcesses {
    /// `infra` is the repository's `infra` directory the engines were started from; the
    /// ports are those the run talks to (Kafka's controller port to start it again as it was).
    pub fn new(infra: &Path, kafka_port: u16, kafka_controller_port: u16, cql_port: u16) -> anyhow::Result<Self> {
        let infra = infra.canonicalize().with_context(|| format!("the infra dir {}", infra.display()))?;
        let engines = Self { infra, kafka_port, kafka_controller_port, cql_port };
        engines.kafka().pid()?;
        engines.cassandra().pid()?;
        Ok(engines)
    }

    fn kafka(&self) -> Engine {
        let run = self.infra.join(".run/kafka");
        Engine {
            pid_file: run.join("kafka.pid"),
            config_file: run.join("server.properties"),
            port_setting: format!("PLAINTEXT://127.0.0.1:{},", self.kafka_port),
        }
    }

    fn cassandra(&self) -> Engine {
        let run = self.infra.join(".run/cassandra");
        Engine {
            pid_file: run.join("cassandra.pid"),
            config_file: run.join("conf/cassandra.yaml"),
            port_setting: format!("native_transport_port: {}\n", self.cql_port),
        }
    }

    /// SIGKILLs the broker and waits for it to be gone.
    pub async fn kill_kafka(&self) -> anyhow::Result<()> {
        let pid = self.kafka().pid()?;
        signal(pid, "KILL")?;
        while Path::new(&format!("/proc/{pid}")).exists() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Starts the broker again on the same data (`infra/kafka/start.sh`, which waits until
    /// it serves).
    pub async fn start_kafka(&self) -> anyhow::Result<()> {
        let script = self.infra.join("kafka/start.sh");
        let output = tokio::process::Command::new(&script)
            .env("TIDINGS_KAFKA_PORT", self.kafka_port.to_string())
            .env("TIDINGS_KAFKA_CONTROLLER_PORT", self.kafka_controller_port.to_string())
            .output()
            .await
            .with_context(|| format!("running {}", script.display()))?;
        anyhow::ensure!(
            output.status.success(),
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(())
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) Cassandra's JVM.
    pub fn freeze_cassandra(&self, frozen: bool) -> anyhow::Result<()> {
        signal(self.cassandra().pid()?, if frozen { "STOP" } else { "CONT" })
    }
}

impl Engine {
    /// The pid in the pid file, when that process runs on our configuration file and that
    /// file puts it on the run's port.
    fn pid(&self) -> anyhow::Result<u32> {
        let text = std::fs::read_to_string(&self.pid_file)
            .with_context(|| format!("reading {} (is the engine started?)", self.pid_file.display()))?;
        let pid: u32 = text.trim().parse().with_context(|| format!("a pid in {}", self.pid_file.display()))?;
        let command_line = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let config_file = self.config_file.to_string_lossy();
        anyhow::ensure!(
            String::from_utf8_lossy(&command_line).contains(config_file.as_ref()),
            "pid {pid} of {} is not an engine running on {config_file}",
            self.pid_file.display()
        );
        let settings = std::fs::read_to_string(&self.config_file).unwrap_or_default();
        anyhow::ensure!(
            settings.contains(&self.port_setting),
            "{config_file} has no {:?}: that engine is not the one the configuration points at",
            self.port_setting.trim()
        );
        Ok(pid)
    }
}

fn signal(pid: u32, name: &str) -> anyhow::Result<()> {
    let status = Command::new("kill").args(["-s", name, &pid.to_string()]).status().context("running kill")?;
    anyhow::ensure!(status.success(), "kill -s {name} {pid} failed");
    Ok(())
}
