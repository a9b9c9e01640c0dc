//! The gateway under test: a `tidings all-in-one` process of its own, so that its memory is
//! measured apart from the load generator's.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// A running `tidings all-in-one` on fresh loopback ports and a scratch data directory.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    pub api: String,
    admin: String,
}

/// The secret the server signs with, and the benchmark mints tokens with.
pub const SECRET: &str = "tidings-bench-gateway";

impl ServerProcess {
    pub async fn start(binary: &Path, data_dir: &Path) -> anyhow::Result<Self> {
        let (api_port, admin_port) = (free_port()?, free_port()?);
        let child = Command::new(binary)
            .args(["all-in-one", "--data-dir"])
            .arg(data_dir)
            .args(["--listen", &format!("127.0.0.1:{api_port}"), "--admin-listen", &format!("127.0.0.1:{admin_port}")])
            .env("TIDINGS_AUTH__SECRET", SECRET)
            // The benchmark's clients log in faster than any real crowd: no frame cap.
            .env("TIDINGS_GATEWAY__MAX_FRAMES_PER_SECOND", "1000000")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {} (build it: cargo build --release -p tidings)", binary.display()))?;
        let server = Self {
            child,
            api: format!("http://127.0.0.1:{api_port}"),
            admin: format!("http://127.0.0.1:{admin_port}"),
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = http.get(format!("{}/health/ready", self.admin)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "the server was not ready within 60 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The server's resident memory, from `/proc/<pid>/status` (Linux).
    pub fn resident_bytes(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmRSS in /proc/<pid>/status")?;
        Ok(kib * 1024)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
