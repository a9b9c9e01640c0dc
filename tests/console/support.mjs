// What the console's browser test runs against: a real `tidings all-in-one` on embedded
// engines in a fresh data directory, its operators made with `tidings operator add`, and
// simulated clients that pull over the HTTP API with tokens from `tidings token`.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The `tidings` binary: `TIDINGS_BIN`, else the workspace's debug build, else its release build. */
export function tidingsBinary() {
  const candidates = [process.env.TIDINGS_BIN, join(root, "target/debug/tidings"), join(root, "target/release/tidings")];
  const found = candidates.find((path) => path && existsSync(path));
  if (!found) throw new Error(`no tidings binary (looked at ${candidates.filter(Boolean).join(", ")}): run cargo build`);
  return found;
}

async function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

export const SECRET = "console-test-secret-0123456789abcdef";

/** A running all-in-one server with its own data directory. */
export class Server {
  #child;
  dataDir = mkdtempSync(join(tmpdir(), "tidings-console-"));
  env = {
    ...process.env,
    TIDINGS_AUTH__SECRET: SECRET,
    TIDINGS_DATA_DIR: this.dataDir,
    TIDINGS_PULLER__REFRESH_INTERVAL_MS: "200",
    TIDINGS_PULLER__REACH_FLUSH_INTERVAL_MS: "300",
    TIDINGS_PROJECTOR__POLL_WAIT_MS: "50",
    TIDINGS_INGEST__PROJECTION_WAIT_MS: "10000",
    TIDINGS_CONSOLE__LOGIN_ATTEMPTS_PER_MINUTE: "5",
    TIDINGS_TELEMETRY__LOG_FILTER: "warn",
  };

  /** Creates an operator before the server starts (the embedded engines lock the directory). */
  addOperator(app, name, password) {
    const args = ["operator", "add", "--app", String(app), "--name", name, "--data-dir", this.dataDir];
    const done = spawnSync(tidingsBinary(), args, { env: this.env, input: `${password}\n`, encoding: "utf8" });
    if (done.status !== 0) throw new Error(`tidings operator add failed: ${done.stderr}`);
  }

  /** Starts the server and waits until it is ready. */
  async start() {
    this.port = await freePort();
    this.adminPort = await freePort();
    this.url = `http://127.0.0.1:${this.port}`;
    const args = ["all-in-one", "--data-dir", this.dataDir, "--listen", `127.0.0.1:${this.port}`, "--admin-listen", `127.0.0.1:${this.adminPort}`];
    this.#child = spawn(tidingsBinary(), args, { env: this.env, stdio: ["ignore", "inherit", "inherit"] });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.#child.exitCode !== null) throw new Error(`tidings exited with ${this.#child.exitCode}`);
      const ready = await fetch(`http://127.0.0.1:${this.adminPort}/health/ready`).then((r) => r.ok, () => false);
      if (ready) return;
      await new Promise((wake) => setTimeout(wake, 100));
    }
    throw new Error("tidings did not get ready within 60 s");
  }

  /** A client token of `uid` in `app`. */
  token(app, uid) {
    const args = ["token", "--role", "user", "--app", String(app), "--uid", String(uid), "--data-dir", this.dataDir];
    const done = spawnSync(tidingsBinary(), args, { env: this.env, encoding: "utf8" });
    if (done.status !== 0) throw new Error(`tidings token failed: ${done.stderr}`);
    return done.stdout.trim();
  }

  async stop() {
    if (this.#child && this.#child.exitCode === null) {
      const exited = new Promise((done) => this.#child.once("exit", done));
      this.#child.kill("SIGTERM");
      await exited;
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** A simulated client: one user on one platform, syncing and marking read over HTTP. */
export class Client {
  cursor = "";
  received = [];

  constructor(server, app, uid, platform) {
    this.server = server;
    this.headers = { authorization: `Bearer ${server.token(app, uid)}`, platform, app_version: "1.0.0", core_level: "10" };
  }

  /** Syncs to the end; returns the broadcast ids this sync delivered. */
  async sync() {
    const delivered = [];
    for (;;) {
      const query = this.cursor ? `?cursor=${encodeURIComponent(this.cursor)}` : "";
      const response = await fetch(`${this.server.url}/v1/mailbox/sync${query}`, { headers: this.headers });
      if (!response.ok) throw new Error(`sync answered ${response.status}: ${await response.text()}`);
      const page = await response.json();
      this.cursor = page.cursor;
      for (const message of page.messages) {
        this.received.push(message);
        if (message.broadcast_id !== undefined && message.broadcast_id !== null) delivered.push(message.broadcast_id);
      }
      if (!page.has_more) return delivered;
    }
  }

  async markRead() {
    const upTo = Math.max(...this.received.map((m) => m.msg_id));
    const response = await fetch(`${this.server.url}/v1/mailbox/read`, {
      method: "POST",
      headers: { ...this.headers, "content-type": "application/json" },
      body: JSON.stringify({ up_to: upTo }),
    });
    if (!response.ok) throw new Error(`read answered ${response.status}: ${await response.text()}`);
  }
}

export function freshProfile() {
  return mkdtempSync(join(tmpdir(), "tidings-chromium-"));
}
