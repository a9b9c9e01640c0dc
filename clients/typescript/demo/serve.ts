// `npm run demo`: starts a `tidings all-in-one` of its own (embedded engines, a temporary
// data directory) and serves the demo page on http://127.0.0.1:8000 (DEMO_PORT), with the
// API and the WebSocket proxied to that server so the page has one origin. Development
// tokens come from /demo/token (`tidings token`): a demo, not a login service.

import { createReadStream, existsSync } from "node:fs";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import { connect } from "node:net";
import { extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { TidingsServer } from "../dev/server.js";

const PACKAGE = resolve(fileURLToPath(import.meta.url), "../../..");
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
};

/** What the page may load: the page, the compiled SDK and demo, and openapi-fetch. */
function staticFile(path: string): string | undefined {
  if (path === "/") return join(PACKAGE, "demo/index.html");
  if (path === "/vendor/openapi-fetch.mjs") return join(PACKAGE, "node_modules/openapi-fetch/dist/index.mjs");
  const match = /^\/(src|demo)\/([\w./-]+\.(?:js|map))$/.exec(path);
  if (!match || path.includes("..")) return undefined;
  return join(PACKAGE, "dist", match[1] ?? "", match[2] ?? "");
}

export interface Demo {
  url: string;
  tidings: TidingsServer;
  stop(): Promise<void>;
}

/** Starts the demo's server and page on `port` (0: any free port); `log` is the server's RUST_LOG. */
export async function startDemo(port: number, log = "info"): Promise<Demo> {
  const tidings = await TidingsServer.start("embedded", { RUST_LOG: log });
  const upstream = new URL(tidings.clientApi);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://demo");
    if (url.pathname.startsWith("/v1/") || url.pathname === "/openapi.json") return proxy(req, res);
    if (url.pathname === "/demo/token") {
      const role = url.searchParams.get("role") === "operator" ? "operator" : "user";
      const uid = Number(url.searchParams.get("uid"));
      if (role === "user" && !(uid > 0)) {
        res.writeHead(400, { "Content-Type": "text/plain" }).end("uid: a positive integer");
        return;
      }
      res.writeHead(200, { "Content-Type": "text/plain", "Cache-Control": "no-store" });
      res.end(tidings.token(role, 1, role === "user" ? { uid } : {}));
      return;
    }
    const file = staticFile(url.pathname);
    if (!file || !existsSync(file)) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });

  function proxy(req: IncomingMessage, res: import("node:http").ServerResponse): void {
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", (error) => res.writeHead(502, { "Content-Type": "text/plain" }).end(String(error)));
    req.pipe(forward);
  }

  // The WebSocket: pass the upgrade request through as it came, then splice the sockets.
  server.on("upgrade", (req: IncomingMessage, socket, head) => {
    const backend = connect(Number(upstream.port), upstream.hostname, () => {
      const headers = Object.entries(req.headers).flatMap(([name, value]) =>
        (Array.isArray(value) ? value : [value]).map((v) => `${name}: ${v}\r\n`),
      );
      backend.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers.join("")}\r\n`);
      backend.write(head);
      backend.pipe(socket).pipe(backend);
    });
    const end = () => {
      backend.destroy();
      socket.destroy();
    };
    backend.on("error", end);
    socket.on("error", end);
    backend.on("close", end);
    socket.on("close", end);
  });

  await new Promise<void>((listening) => server.listen(port, "127.0.0.1", listening));
  const address = server.address();
  const boundPort = typeof address === "object" && address ? address.port : port;
  return {
    url: `http://127.0.0.1:${boundPort}/`,
    tidings,
    async stop() {
      server.closeAllConnections();
      await new Promise((closed) => server.close(closed));
      await tidings.stop();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const demo = await startDemo(Number(process.env.DEMO_PORT ?? 8000));
  console.log(`Tidings demo: open ${demo.url} (two users chatting, and broadcasts). Ctrl-C stops it.`);
  const stop = () => void demo.stop().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
