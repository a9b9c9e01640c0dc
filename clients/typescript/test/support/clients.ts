// SDK clients wired to a test server, in Node.js (the `ws` package as the WebSocket).

import WebSocket from "ws";

import { MemoryStorage, TidingsClient, type MailboxEntry, type Platform, type TidingsClientOptions } from "../../src/index.js";
import type { TidingsServer } from "../../dev/server.js";

export interface TestClient {
  client: TidingsClient;
  messages: MailboxEntry[];
  /** Resolves once the client is online. */
  online(): Promise<void>;
}

export function userClient(
  server: TidingsServer,
  uid: number,
  options: Partial<TidingsClientOptions> & { platform?: Platform } = {},
): TestClient {
  const client = new TidingsClient({
    url: server.connectUrl,
    httpUrl: server.clientApi,
    token: () => server.token("user", 1, { uid }),
    platform: options.platform ?? "web",
    storage: new MemoryStorage(),
    WebSocket,
    reconnect: { minMs: 50, maxMs: 500 },
    ...options,
  });
  const messages: MailboxEntry[] = [];
  client.on("message", (message) => messages.push(message));
  return {
    client,
    messages,
    online: () =>
      new Promise<void>((resolve) => {
        if (client.state === "online") return resolve();
        const off = client.on("state", (change) => {
          if (change.state === "online") {
            off();
            resolve();
          }
        });
      }),
  };
}

/** A fresh uid per test, so tests of one server never see each other's messages. */
let nextUid = 1_000 + (process.pid % 1_000) * 1_000;
export function freshUid(): number {
  return nextUid++;
}
