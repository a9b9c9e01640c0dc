// Real Tidings processes for the SDK's tests and the demo: `tidings all-in-one` on embedded
// engines, or the distributed roles (ingest, project, pull, gateway) on the Apache Kafka
// and Cassandra that infra/test.sh starts. A missing binary or engine is an error, so a
// test that needs one fails, never skips.

import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// dist/dev/server.js → the repository root.
const ROOT = resolve(fileURLToPath(import.meta.url), "../../../../..");

/** The `tidings` binary: `TIDINGS_BIN`, else the workspace's debug build, else its release build. */
export function tidingsBinary(): string {
  const candidates = [
    process.env.TIDINGS_BIN,
    join(ROOT, "target/debug/tidings"),
    join(ROOT, "target/release/tidings"),
  ].filter((path): path is string => Boolean(path));
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new Error(`no tidings binary (looked at ${candidates.join(", ")}): run \`cargo build -p tidings\` first`);
  }
  return found;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port"))));
    });
  });
}

interface Role {
  command: string;
  api: string;
  admin: string;
  args: string[];
  child?: ChildProcess;
}

export type Mode = "embedded" | "distributed";

const SECRET = "sdk-test-secret";

/** A running Tidings deployment, and the way to its APIs and tokens. */
export class TidingsServer {
  private constructor(
    private readonly roles: Role[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly dataDir: string,
  ) {}

  static async start(mode: Mode = "embedded", extraEnv: Record<string, string> = {}): Promise<TidingsServer> {
    const dataDir = mkdtempSync(join(tmpdir(), "tidings-sdk-"));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TIDINGS_AUTH__SECRET: SECRET,
      TIDINGS_PULLER__REFRESH_INTERVAL_MS: "200",
      TIDINGS_PROJECTOR__POLL_WAIT_MS: "50",
      TIDINGS_INGEST__PROJECTION_WAIT_MS: "30000",
      TIDINGS_GATEWAY__HEARTBEAT_MS: "1000",
      TIDINGS_GATEWAY__BROADCAST_PULL_WITHIN_MS: "500",
      TIDINGS_GATEWAY__DRAIN_WINDOW_MS: "300",
      RUST_LOG: "warn",
      ...extraEnv,
    };
    const commands = mode === "embedded" ? ["all-in-one"] : ["ingest", "project", "pull", "gateway"];
    if (mode === "distributed") {
      const name = `sdk_${process.pid}_${Date.now() % 1_000_000_000}`;
      Object.assign(env, {
        TIDINGS_LOG__PROVIDER: "kafka",
        TIDINGS_LOG__BOOTSTRAP_SERVERS: process.env.TIDINGS_TEST_KAFKA ?? "127.0.0.1:9092",
        TIDINGS_LOG__PARTITIONS: "2",
        TIDINGS_TOPICS__PREFIX: name,
        TIDINGS_PROJECTOR__GROUP: name,
        TIDINGS_STORE__PROVIDER: "scylla",
        TIDINGS_STORE__NODES: JSON.stringify([process.env.TIDINGS_TEST_CQL ?? "127.0.0.1:9042"]),
        TIDINGS_STORE__KEYSPACE: name,
      });
      try {
        execFileSync(tidingsBinary(), ["schema", "migrate"], { env, stdio: ["ignore", "ignore", "pipe"] });
      } catch (error) {
        throw new Error(`tidings schema migrate failed (is Cassandra up? infra/cassandra/start.sh): ${String(error)}`);
      }
    }
    const roles: Role[] = [];
    for (const command of commands) {
      const [apiPort, adminPort] = [await freePort(), await freePort()];
      roles.push({
        command,
        api: `127.0.0.1:${apiPort}`,
        admin: `http://127.0.0.1:${adminPort}`,
        args: [command, "--data-dir", dataDir, "--listen", `127.0.0.1:${apiPort}`, "--admin-listen", `127.0.0.1:${adminPort}`],
      });
    }
    const server = new TidingsServer(roles, env, dataDir);
    for (const role of roles) await server.launch(role);
    return server;
  }

  private role(command: string): Role {
    const role = this.roles.find((candidate) => candidate.command === command || candidate.command === "all-in-one");
    if (!role) throw new Error(`no ${command} process`);
    return role;
  }

  /** The WebSocket URL of the gateway. */
  get connectUrl(): string {
    return `ws://${this.role("gateway").api}/v1/connect`;
  }

  /** The origin of the client API (sync, history, read marks). */
  get clientApi(): string {
    return `http://${this.role("pull").api}`;
  }

  /** The origin of the business API (sends, broadcasts). */
  get businessApi(): string {
    return `http://${this.role("ingest").api}`;
  }

  /** A token from `tidings token`, the command operators mint development tokens with. */
  token(role: "user" | "app" | "operator", appId: number, options: { uid?: number; ttlS?: number; guest?: boolean } = {}): string {
    const args = ["token", "--role", role, "--app", String(appId)];
    if (options.uid !== undefined) args.push("--uid", String(options.uid));
    if (options.ttlS !== undefined) args.push(`--ttl=${options.ttlS}`);
    if (options.guest) args.push("--guest");
    return execFileSync(tidingsBinary(), args, { env: this.env, encoding: "utf8" }).trim();
  }

  /** A business server's send; resolves with the 202 answer's body. */
  async send(appId: number, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const response = await fetch(`${this.businessApi}/v1/apps/${appId}/messages`, {
      method: "POST",
      headers: { Authorization: `Bearer ${this.token("app", appId)}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as Record<string, unknown>;
    if (response.status !== 202) throw new Error(`send answered ${response.status}: ${JSON.stringify(answer)}`);
    return answer;
  }

  /** Creates and publishes a broadcast as an operator; resolves with its id. */
  async publishBroadcast(appId: number, content: string, audience?: Record<string, unknown>): Promise<number> {
    const headers = { Authorization: `Bearer ${this.token("operator", appId)}`, "Content-Type": "application/json" };
    const created = await fetch(`${this.businessApi}/v1/apps/${appId}/broadcasts`, {
      method: "POST",
      headers,
      body: JSON.stringify({ content, expire_at: Math.floor(Date.now() / 1000) + 3600, ...(audience && { audience }) }),
    });
    const broadcast = (await created.json()) as { broadcast_id?: number };
    if (created.status !== 201 || broadcast.broadcast_id === undefined) {
      throw new Error(`creating a broadcast answered ${created.status}: ${JSON.stringify(broadcast)}`);
    }
    const published = await fetch(`${this.businessApi}/v1/apps/${appId}/broadcasts/${broadcast.broadcast_id}/publish`, {
      method: "POST",
      headers,
    });
    if (!published.ok) throw new Error(`publishing answered ${published.status}: ${await published.text()}`);
    return broadcast.broadcast_id;
  }

  /** SIGKILL one role's process (no shutdown at all), then start it again on the same ports. */
  async kill9AndRestart(command: string): Promise<void> {
    const role = this.role(command);
    await this.kill(role, "SIGKILL");
    await this.launch(role);
  }

  async stop(): Promise<void> {
    for (const role of this.roles) await this.kill(role, "SIGTERM");
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async kill(role: Role, signal: NodeJS.Signals): Promise<void> {
    const child = role.child;
    role.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((done) => child.once("exit", done));
    child.kill(signal);
    await exited;
  }

  private async launch(role: Role): Promise<void> {
    const child = spawn(tidingsBinary(), role.args, { env: this.env, stdio: ["ignore", "inherit", "inherit"] });
    role.child = child;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`tidings ${role.command} exited with ${child.exitCode} before it was ready`);
      const ready = await fetch(`${role.admin}/health/ready`).then((r) => r.ok, () => false);
      if (ready) return;
      if (Date.now() > deadline) throw new Error(`tidings ${role.command} was not ready within 60 s`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }
}

/** Resolves with `probe()`'s first truthy value, polling until `withinMs`. */
export async function eventually<T>(
  what: string,
  withinMs: number,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`);
    await new Promise((done) => setTimeout(done, 20));
  }
}
