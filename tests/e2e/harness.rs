//! Runs a real `tidings all-in-one` process on free loopback ports and a fresh data
//! directory, and talks to it over HTTP like a business server, an operator and clients.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use tidings_http::{Authenticator, CallerRole, Claims};

pub const SECRET: &str = "e2e-secret";
/// The refresh interval the test servers run with.
pub const REFRESH: Duration = Duration::from_millis(300);

/// How the system under test is deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One `tidings all-in-one` process on embedded engines.
    Embedded,
    /// Separate ingest, two projector and pull processes on a real Apache Kafka
    /// (`TIDINGS_TEST_KAFKA`, default 127.0.0.1:9092) and a real CQL server
    /// (`TIDINGS_TEST_CQL`, default 127.0.0.1:9042), with fresh topics and keyspace.
    Distributed,
}

/// How long a change may take to show in pulls: projection lag plus a refresh interval,
/// with room for a loaded machine (and, distributed, a consumer-group rebalance).
pub fn visible_within() -> Duration {
    Duration::from_secs(20)
}

/// One running `tidings` process.
struct Process {
    args: Vec<String>,
    child: Option<Child>,
    admin: String,
}

pub struct Server {
    mode: Mode,
    processes: Vec<Process>,
    /// Where business servers and operators call.
    business_api: String,
    /// Where clients call (also serves /openapi.json).
    client_api: String,
    /// Where clients hold their long connection.
    gateway_api: String,
    data_dir: PathBuf,
    env: Vec<(String, String)>,
    _temp: tempfile::TempDir,
    http: reqwest::Client,
    auth: Authenticator,
}

/// A name no other test run uses.
fn unique_name() -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("e2e_{}_{}_{n}", std::process::id(), tidings_domain::time::now_us() % 1_000_000_000)
}

/// The Kafka of distributed deployments: `TIDINGS_TEST_KAFKA`, by default 127.0.0.1:9092.
pub fn kafka_bootstrap() -> String {
    std::env::var("TIDINGS_TEST_KAFKA").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// The configuration of a distributed deployment on the test engines.
fn distributed_env() -> Vec<(String, String)> {
    let kafka = kafka_bootstrap();
    let cql = std::env::var("TIDINGS_TEST_CQL").unwrap_or_else(|_| "127.0.0.1:9042".into());
    let name = unique_name();
    [
        ("TIDINGS_LOG__PROVIDER", "kafka".to_owned()),
        ("TIDINGS_LOG__BOOTSTRAP_SERVERS", kafka),
        ("TIDINGS_LOG__PARTITIONS", "4".to_owned()),
        ("TIDINGS_TOPICS__PREFIX", name.clone()),
        ("TIDINGS_PROJECTOR__GROUP", name.clone()),
        ("TIDINGS_STORE__PROVIDER", "scylla".to_owned()),
        ("TIDINGS_STORE__NODES", format!("[\"{cql}\"]")),
        ("TIDINGS_STORE__KEYSPACE", name),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect()
}

/// `tidings schema migrate`, which must succeed: a missing CQL server fails the test here.
fn migrate(env: &[(String, String)]) {
    let output = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["schema", "migrate"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run tidings schema migrate");
    assert!(
        output.status.success(),
        "tidings schema migrate failed (is the CQL server up? infra/cassandra/start.sh): {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A free port below the kernel's ephemeral range (32768 and up), so that no outgoing
/// connection (to Kafka, to Cassandra, between the processes under test) can take it
/// between this check and the server's own bind; a counter keeps this process's tests
/// apart, the process id other test processes.
fn free_port() -> u16 {
    const FIRST: u32 = 20_000;
    const PORTS: u32 = 10_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id() % 50 * 200;
    loop {
        let port = (FIRST + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % PORTS) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Arguments for a process serving `command` on fresh ports: (args, api url, admin url).
fn serving(command: &str, data_dir: &Path) -> (Vec<String>, String, String) {
    let (api_port, admin_port) = (free_port(), free_port());
    let args = vec![
        command.to_owned(),
        "--data-dir".to_owned(),
        data_dir.display().to_string(),
        "--listen".to_owned(),
        format!("127.0.0.1:{api_port}"),
        "--admin-listen".to_owned(),
        format!("127.0.0.1:{admin_port}"),
    ];
    (args, format!("http://127.0.0.1:{api_port}"), format!("http://127.0.0.1:{admin_port}"))
}

impl Server {
    pub async fn start(mode: Mode) -> Self {
        let temp = tempfile::tempdir().expect("temporary data dir");
        let data_dir = temp.path().join("data");
        let env = vec![
            ("TIDINGS_AUTH__SECRET".to_owned(), SECRET.to_owned()),
            ("TIDINGS_PULLER__REFRESH_INTERVAL_MS".to_owned(), REFRESH.as_millis().to_string()),
            ("TIDINGS_PROJECTOR__POLL_WAIT_MS".to_owned(), "50".to_owned()),
            // Reach shows within a fraction of a second of a pull (tests/e2e/reach.rs).
            ("TIDINGS_PULLER__REACH_FLUSH_INTERVAL_MS".to_owned(), "200".to_owned()),
            ("TIDINGS_INGEST__MAX_BATCH_RECIPIENTS".to_owned(), "50".to_owned()),
            // Right after start-up the projectors may still be joining their consumer group:
            // on a loaded machine that can outlast ingest's default 5 s wait for a broadcast
            // command's own projection, which these tests expect to see (201, not 202).
            ("TIDINGS_INGEST__PROJECTION_WAIT_MS".to_owned(), "30000".to_owned()),
            ("TIDINGS_GATEWAY__LOGIN_TIMEOUT_MS".to_owned(), "1000".to_owned()),
            ("TIDINGS_GATEWAY__HEARTBEAT_MS".to_owned(), "1000".to_owned()),
            ("TIDINGS_GATEWAY__DRAIN_WINDOW_MS".to_owned(), "500".to_owned()),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ];
        let mut env = env;
        let (processes, business_api, client_api, gateway_api) = match mode {
            Mode::Embedded => {
                let (args, api, admin) = serving("all-in-one", &data_dir);
                (vec![Process { args, child: None, admin }], api.clone(), api.clone(), api)
            }
            Mode::Distributed => {
                env.extend(distributed_env());
                migrate(&env);
                let mut processes = Vec::new();
                let mut api_of = |command: &str| {
                    let (args, api, admin) = serving(command, &data_dir);
                    processes.push(Process { args, child: None, admin });
                    api
                };
                let business_api = api_of("ingest");
                api_of("project");
                api_of("project");
                let client_api = api_of("pull");
                let gateway_api = api_of("gateway");
                (processes, business_api, client_api, gateway_api)
            }
        };
        let mut server = Server {
            mode,
            processes,
            business_api,
            client_api,
            gateway_api,
            data_dir,
            env,
            _temp: temp,
            http: reqwest::Client::new(),
            auth: Authenticator::new(SECRET.as_bytes()),
        };
        server.launch_all().await;
        server
    }

    async fn launch_all(&mut self) {
        for index in 0..self.processes.len() {
            let child = Command::new(env!("CARGO_BIN_EXE_tidings"))
                .args(&self.processes[index].args)
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .spawn()
                .expect("start the tidings binary");
            self.processes[index].child = Some(child);
        }
        for index in 0..self.processes.len() {
            self.wait_ready(index).await;
        }
    }

    async fn wait_ready(&mut self, index: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let process = &mut self.processes[index];
        loop {
            if let Some(status) = process.child.as_mut().and_then(|c| c.try_wait().expect("poll child")) {
                panic!("tidings {:?} exited before it was ready: {status}", process.args);
            }
            let ready = self.http.get(format!("{}/health/ready", process.admin)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(Instant::now() < deadline, "tidings {:?} was not ready within 60 s", process.args);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Starts every process again after [`Server::terminate`].
    pub async fn start_again(&mut self) {
        self.launch_all().await;
    }

    /// SIGKILL every process, no shutdown, then start them again: whatever was
    /// acknowledged must survive.
    pub async fn kill9_and_restart(&mut self) {
        for process in &mut self.processes {
            let mut child = process.child.take().expect("running");
            child.kill().expect("kill -9");
            child.wait().expect("reap");
        }
        self.launch_all().await;
    }

    /// SIGTERM to every process, as a supervisor stops it; waits for each to exit, and
    /// says whether every one exited cleanly.
    pub async fn terminate(&mut self) -> bool {
        let mut clean = true;
        for process in &mut self.processes {
            let mut child = process.child.take().expect("running");
            let pid = child.id().to_string();
            let signalled = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
            assert!(signalled.success(), "kill -TERM {pid}");
            let deadline = Instant::now() + Duration::from_secs(30);
            let status = loop {
                if let Some(status) = child.try_wait().expect("poll child") {
                    break status;
                }
                assert!(Instant::now() < deadline, "process {pid} did not stop within 30 s of SIGTERM");
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            clean &= status.success();
        }
        clean
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// A configuration value the deployment runs with, by its environment variable.
    pub fn setting(&self, variable: &str) -> Option<&str> {
        self.env.iter().find(|(key, _)| key == variable).map(|(_, value)| value.as_str())
    }

    /// A `tidings` command (`args`, then `--data-dir`) on this deployment's engines and
    /// configuration, as an operator would run it next to the servers.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tidings"));
        command.args(args).arg("--data-dir").arg(&self.data_dir).envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// The `topics.prefix` of a distributed deployment: its own, fresh topics.
    pub fn topic_prefix(&self) -> &str {
        self.setting("TIDINGS_TOPICS__PREFIX").expect("only a distributed deployment has Kafka topics")
    }

    /// The API that serves business servers and operators (and the console).
    pub fn business_api(&self) -> &str {
        &self.business_api
    }

    /// The API that serves clients and the OpenAPI document.
    pub fn api(&self) -> &str {
        &self.client_api
    }

    /// Every process's admin listener.
    pub fn admins(&self) -> Vec<String> {
        self.processes.iter().map(|p| p.admin.clone()).collect()
    }

    /// The gateway's WebSocket URL.
    pub fn connect_url(&self) -> String {
        format!("{}/v1/connect", self.gateway_api.replacen("http", "ws", 1))
    }

    /// The one address of every API surface, in all-in-one mode.
    pub fn all_in_one_api(&self) -> &str {
        assert_eq!(self.business_api, self.client_api, "one process serves every surface only in all-in-one");
        &self.client_api
    }

    pub fn token(&self, role: CallerRole, app_id: i64, sub: &str, exp_in_s: i64, guest: bool) -> String {
        let exp = tidings_domain::time::now_s() + exp_in_s;
        self.auth.mint(&Claims { role, app_id, sub: sub.into(), exp, guest })
    }

    fn caller(&self, role: CallerRole, token: String) -> Caller<'_> {
        let base = if role == CallerRole::User { &self.client_api } else { &self.business_api };
        Caller { server: self, base: base.clone(), token, headers: vec![] }
    }

    pub fn app(&self, app_id: i64) -> Caller<'_> {
        self.caller(CallerRole::App, self.token(CallerRole::App, app_id, "biz", 3600, false))
    }

    pub fn operator(&self, app_id: i64) -> Caller<'_> {
        self.caller(CallerRole::Operator, self.token(CallerRole::Operator, app_id, "ops", 3600, false))
    }

    pub fn user(&self, app_id: i64, uid: i64) -> Caller<'_> {
        self.caller(CallerRole::User, self.token(CallerRole::User, app_id, &uid.to_string(), 3600, false))
    }

    /// A caller with a given token, at the API its role calls.
    pub fn caller_with_token(&self, role: CallerRole, token: String) -> Caller<'_> {
        self.caller(role, token)
    }

    /// The sum of a metric over every process.
    pub async fn metric(&self, name: &str) -> f64 {
        self.metric_per_process(name).await.iter().sum()
    }

    /// A metric's value in each process, in launch order.
    pub async fn metric_per_process(&self, name: &str) -> Vec<f64> {
        let mut values = Vec::new();
        for admin in self.admins() {
            let text = self.http.get(format!("{admin}/metrics")).send().await.unwrap().text().await.unwrap();
            values.push(
                text.lines()
                    .filter(|line| line.starts_with(name) && !line.starts_with('#'))
                    .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
                    .sum::<f64>(),
            );
        }
        values
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for process in &mut self.processes {
            if let Some(mut child) = process.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// One caller's credentials and client headers.
pub struct Caller<'a> {
    server: &'a Server,
    base: String,
    token: String,
    headers: Vec<(String, String)>,
}

impl Caller<'_> {
    /// The same caller, calling the API that `role` normally calls (to check refusals).
    pub fn at_api_of(mut self, role: CallerRole) -> Self {
        self.base =
            if role == CallerRole::User { self.server.client_api.clone() } else { self.server.business_api.clone() };
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut request = self.server.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        into_json(request.send().await.expect("request")).await
    }

    pub async fn raw(&self, method: Method, path: &str, body: &str) -> (StatusCode, Value) {
        let request = self.request(method, path).header("content-type", "application/json").body(body.to_owned());
        into_json(request.send().await.expect("request")).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    /// Sends and expects 202.
    pub async fn send(&self, app_id: i64, body: Value) -> Value {
        let (status, answer) = self.post(&format!("/v1/apps/{app_id}/messages"), body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "send answered {answer}");
        answer
    }

    /// One sync page.
    pub async fn sync(&self, cursor: &str) -> Value {
        let (status, page) = self.get(&format!("/v1/mailbox/sync?cursor={cursor}&limit=200")).await;
        assert_eq!(status, StatusCode::OK, "sync answered {page}");
        page
    }

    /// Syncs from `cursor` until `has_more` is false; returns every message and the last cursor.
    pub async fn sync_all(&self, cursor: &str) -> (Vec<Value>, String) {
        let mut cursor = cursor.to_owned();
        let mut messages = Vec::new();
        loop {
            let page = self.sync(&cursor).await;
            messages.extend(page["messages"].as_array().expect("messages").iter().cloned());
            cursor = page["cursor"].as_str().expect("cursor").to_owned();
            if !page["has_more"].as_bool().expect("has_more") {
                return (messages, cursor);
            }
        }
    }

    /// A broadcast draft with defaults, created and expected to be projected (201).
    pub async fn create_broadcast(&self, app_id: i64, extra: Value) -> i64 {
        let mut body = json!({"content": "broadcast", "expire_at": tidings_domain::time::now_s() + 3600});
        merge(&mut body, extra);
        let (status, created) = self.post(&format!("/v1/apps/{app_id}/broadcasts"), body).await;
        assert_eq!(status, StatusCode::CREATED, "create answered {created}");
        assert_eq!(created["state"], "draft");
        created["broadcast_id"].as_i64().expect("broadcast_id")
    }

    pub async fn broadcast_action(&self, app_id: i64, id: i64, action: &str) -> (StatusCode, Value) {
        self.post(&format!("/v1/apps/{app_id}/broadcasts/{id}/{action}"), json!({})).await
    }
}

async fn into_json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn merge(base: &mut Value, extra: Value) {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
}

/// Retries `probe` until it returns `Some`, for at most `within`; panics naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The contents of a page's messages, in order.
pub fn contents(messages: &[Value]) -> Vec<String> {
    messages.iter().map(|m| m["content"].as_str().unwrap_or_default().to_owned()).collect()
}
