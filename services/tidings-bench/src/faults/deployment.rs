//! The deployment a fault scenario runs against: `tidings ingest`, two `tidings project`
//! in one consumer group (reaching the CQL store through the [`FaultProxy`]) and `tidings
//! pull`, each in a process of its own on the run's topics, group and keyspace.

use std::path::PathBuf;

use crate::processes::{Launch, ServerProcess};

use super::proxy::FaultProxy;

/// How many projectors share the consumer group.
pub const PROJECTORS: usize = 2;

/// What starting a process takes, kept to start projectors again.
#[derive(Debug)]
pub struct Roles {
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    pub config_file: Option<PathBuf>,
    /// `TIDINGS_*` settings of every process (the run's names).
    pub env: Vec<(String, String)>,
    /// Where the processes' logs go, if not to stderr.
    pub logs: Option<PathBuf>,
}

impl Roles {
    fn launch(&self, extra: &[(String, String)]) -> Launch<'_> {
        Launch {
            binary: &self.binary,
            data_dir: &self.data_dir,
            config_file: self.config_file.as_deref(),
            env: self.env.iter().chain(extra).cloned().collect(),
            logs: self.logs.as_deref(),
        }
    }
}

#[derive(Debug)]
pub struct Deployment {
    roles: Roles,
    /// The projectors' store setting, pointing at the proxy.
    projector_env: Vec<(String, String)>,
    pub ingest: ServerProcess,
    pub pull: ServerProcess,
    projectors: Vec<ServerProcess>,
    restarts: usize,
}

impl Deployment {
    pub async fn start(roles: Roles, proxy: &FaultProxy) -> anyhow::Result<Self> {
        let projector_env = vec![("TIDINGS_STORE__NODES".to_owned(), format!("[\"{}\"]", proxy.address))];
        let ingest = ServerProcess::start(&roles.launch(&[]), "ingest").await?;
        let pull = ServerProcess::start(&roles.launch(&[]), "pull").await?;
        let mut projectors = Vec::with_capacity(PROJECTORS);
        for _ in 0..PROJECTORS {
            projectors.push(ServerProcess::start(&roles.launch(&projector_env), "project").await?);
        }
        Ok(Self { roles, projector_env, ingest, pull, projectors, restarts: 0 })
    }

    /// SIGKILLs the next projector in turn and starts a new one in its place at once.
    pub async fn kill_and_restart_a_projector(&mut self) -> anyhow::Result<()> {
        let index = self.restarts % self.projectors.len();
        self.restarts += 1;
        drop(self.projectors.remove(index));
        let started = ServerProcess::start(&self.roles.launch(&self.projector_env), "project").await?;
        self.projectors.insert(index, started);
        Ok(())
    }

    /// The projectors running now.
    pub fn projectors(&self) -> &[ServerProcess] {
        &self.projectors
    }

    /// Projectors killed so far.
    pub fn restarts(&self) -> usize {
        self.restarts
    }
}
