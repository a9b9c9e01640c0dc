//! The deployment under test, in `tidings` processes of its own: [`ServerProcess`] (one
//! role on fresh loopback ports, killed with SIGKILL when dropped, as `faults` does to
//! projectors) and the `gateway` benchmark's [`Deployment`] (one `tidings all-in-one` on
//! embedded engines, or, on the configured Kafka and CQL store, `tidings ingest`, `tidings
//! project` and `--gateways` `tidings gateway` processes), so that each gateway's memory is
//! measured apart from the load generators'.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// The secret the servers sign with, and the benchmarks mint tokens with.
pub const SECRET: &str = "tidings-bench-gateway";

/// How the processes are started: the binary, the configuration they share, the settings
/// the benchmark gives them.
#[derive(Debug)]
pub struct Launch<'a> {
    pub binary: &'a Path,
    pub data_dir: &'a Path,
    /// The user's config file (naming Kafka and the CQL store), when distributed.
    pub config_file: Option<&'a Path>,
    /// `TIDINGS_*` settings for every process (the run's topic prefix, group, keyspace; the
    /// wave's pace).
    pub env: Vec<(String, String)>,
    /// A directory the processes' logs are appended to (`<role>.log`), instead of this
    /// process's stderr.
    pub logs: Option<&'a Path>,
}

/// One running `tidings` process on fresh loopback ports.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    pub api: String,
    admin: String,
}

impl ServerProcess {
    pub async fn start(launch: &Launch<'_>, command: &str) -> anyhow::Result<Self> {
        let (api_port, admin_port) = (free_port()?, free_port()?);
        let mut process = Command::new(launch.binary);
        if let Some(file) = launch.config_file {
            process.arg("--config").arg(file);
        }
        if let Some(logs) = launch.logs {
            let file = logs.join(format!("{command}.log"));
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&file)
                .with_context(|| format!("opening {}", file.display()))?;
            process.stderr(log);
        }
        let child = process
            .args([command, "--data-dir"])
            .arg(launch.data_dir)
            .args(["--listen", &format!("127.0.0.1:{api_port}"), "--admin-listen", &format!("127.0.0.1:{admin_port}")])
            .env("TIDINGS_AUTH__SECRET", SECRET)
            // The benchmark's clients log in faster than any real crowd: no frame cap.
            .env("TIDINGS_GATEWAY__MAX_FRAMES_PER_SECOND", "1000000")
            .env("RUST_LOG", "warn")
            .envs(launch.env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| {
                format!("starting {} (build it: cargo build --release -p tidings)", launch.binary.display())
            })?;
        let server = Self {
            child,
            api: format!("http://127.0.0.1:{api_port}"),
            admin: format!("http://127.0.0.1:{admin_port}"),
        };
        server.wait_ready(command).await?;
        Ok(server)
    }

    async fn wait_ready(&self, command: &str) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = http.get(format!("{}/health/ready", self.admin)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "tidings {command} was not ready within 60 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The process's resident memory, from `/proc/<pid>/status` (Linux).
    pub fn resident_bytes(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS in /proc/<pid>/status")?;
        Ok(kib * 1024)
    }

    /// The syncs this process's pullers have answered so far (its
    /// `tidings_puller_pull_duration_seconds` count of kind `sync`).
    pub async fn syncs_answered(&self, http: &reqwest::Client) -> anyhow::Result<f64> {
        let text = self.metrics(http).await?;
        Ok(text
            .lines()
            .filter(|line| {
                line.starts_with("tidings_puller_pull_duration_seconds_count{") && line.contains(r#"kind="sync""#)
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum())
    }

    /// The process's Prometheus exposition, as text.
    pub async fn metrics(&self, http: &reqwest::Client) -> anyhow::Result<String> {
        Ok(http.get(format!("{}/metrics", self.admin)).send().await?.error_for_status()?.text().await?)
    }

    /// The WebSocket URL of this process's gateway.
    pub fn connect_url(&self) -> String {
        format!("{}/v1/connect", self.api.replacen("http", "ws", 1))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The processes of one run.
#[derive(Debug)]
pub struct Deployment {
    /// Where business sends and broadcasts go.
    pub business_api: String,
    /// The processes holding the connections (all-in-one counts as one).
    pub gateways: Vec<ServerProcess>,
    /// Ingest and projector, when distributed.
    _others: Vec<ServerProcess>,
}

impl Deployment {
    /// `gateways` of 1 on embedded engines: one all-in-one; otherwise the distributed roles.
    pub async fn start(launch: &Launch<'_>, gateways: usize, distributed: bool) -> anyhow::Result<Self> {
        if !distributed {
            let all_in_one = ServerProcess::start(launch, "all-in-one").await?;
            return Ok(Self { business_api: all_in_one.api.clone(), gateways: vec![all_in_one], _others: Vec::new() });
        }
        let ingest = ServerProcess::start(launch, "ingest").await?;
        let project = ServerProcess::start(launch, "project").await?;
        let mut started = Vec::with_capacity(gateways);
        for _ in 0..gateways {
            started.push(ServerProcess::start(launch, "gateway").await?);
        }
        Ok(Self { business_api: ingest.api.clone(), gateways: started, _others: vec![ingest, project] })
    }

    pub fn connect_urls(&self) -> Vec<String> {
        self.gateways.iter().map(ServerProcess::connect_url).collect()
    }

    /// The syncs every gateway has answered so far.
    pub async fn syncs_answered(&self, http: &reqwest::Client) -> anyhow::Result<f64> {
        let mut total = 0.0;
        for gateway in &self.gateways {
            total += gateway.syncs_answered(http).await?;
        }
        Ok(total)
    }

    /// Every gateway process's resident memory.
    pub fn gateway_bytes(&self) -> anyhow::Result<Vec<u64>> {
        self.gateways.iter().map(ServerProcess::resident_bytes).collect()
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
