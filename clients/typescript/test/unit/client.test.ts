// TidingsClient against a fake socket, with mocked timers: the contract's client side
// (login, heartbeat watchdog, reconnect backoff and close codes, one sync in flight, resume
// from the stored cursor, dedupe, the outbox's retransmissions).

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";

import { CloseCode, MemoryStorage, SendRefused, TidingsClient, type MailboxEntry, type StateChange } from "../../src/index.js";
import { fakeNetwork, type FakeSocket } from "./fake-socket.js";

const URL = "ws://gateway.test/v1/connect";

function entry(msgId: number, source: "private" | "public" = "private"): MailboxEntry {
  return {
    msg_id: msgId,
    source,
    from_uid: 7,
    to_uid: 42,
    contacter: 7,
    create_time: 1,
    expire: 0,
    is_read: false,
    category: 0,
    type: 0,
    priority: 0,
    business_type: 0,
    app_id: 1,
    msgkey: `k${msgId}`,
    content: `message ${msgId}`,
  };
}

/** Lets awaited promises (the token provider, storage) run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

interface Harness {
  client: TidingsClient;
  sockets: FakeSocket[];
  tokenRequests: Array<{ refresh: boolean }>;
  messages: MailboxEntry[];
  states: StateChange[];
  storage: MemoryStorage;
  socket(): FakeSocket;
}

function harness(options: { storage?: MemoryStorage; random?: () => number } = {}): Harness {
  const network = fakeNetwork();
  const tokenRequests: Array<{ refresh: boolean }> = [];
  const storage = options.storage ?? new MemoryStorage();
  const client = new TidingsClient({
    url: URL,
    token: (request) => {
      tokenRequests.push(request);
      return `token-${tokenRequests.length}`;
    },
    platform: "web",
    appVersion: "1.2.3",
    coreLevel: 5,
    storage,
    WebSocket: network.WebSocket,
    random: options.random ?? (() => 1),
    ackTimeoutMs: 1_000,
  });
  const messages: MailboxEntry[] = [];
  const states: StateChange[] = [];
  client.on("message", (message) => messages.push(message));
  client.on("state", (state) => states.push(state));
  return {
    client,
    sockets: network.sockets,
    tokenRequests,
    messages,
    states,
    storage,
    socket() {
      const last = network.sockets[network.sockets.length - 1];
      assert.ok(last, "a socket was opened");
      return last;
    },
  };
}

function welcome(socket: FakeSocket, heartbeatMs = 1_000, reconnect = { min_ms: 100, max_ms: 1_000 }): void {
  socket.receive({ type: "welcome", session_id: "s1", heartbeat_ms: heartbeatMs, reconnect, server_time_us: 0 });
}

function answerSync(socket: FakeSocket, messages: MailboxEntry[], cursor: string, hasMore = false): void {
  const sync = socket.lastFrame("sync");
  socket.receive({ type: "synced", id: sync.id, messages, cursor, has_more: hasMore });
}

/** Connects; the socket, open (the client has sent its login). */
async function opened(h: Harness): Promise<FakeSocket> {
  h.client.connect();
  await flush();
  const socket = h.socket();
  socket.open();
  return socket;
}

/** Connects and completes the login and the first (empty) sync. */
async function online(h: Harness): Promise<FakeSocket> {
  const socket = await opened(h);
  welcome(socket);
  answerSync(socket, [], "c0");
  await flush();
  return socket;
}

beforeEach(() => mock.timers.enable({ apis: ["setTimeout"] }));
afterEach(() => mock.timers.reset());

describe("login", () => {
  test("the first frame is login with the token and the identity", async () => {
    const h = harness();
    const socket = await opened(h);
    assert.equal(socket.url, URL);
    assert.deepEqual(socket.sent, [
      { type: "login", token: "token-1", platform: "web", app_version: "1.2.3", core_level: 5 },
    ]);
    assert.equal(h.client.state, "connecting");
    welcome(socket);
    assert.equal(h.client.state, "online");
    assert.equal(socket.sent[1]?.type, "sync", "a sync right after the welcome");
    h.client.close();
  });

  test("a gateway that never answers the upgrade is given up on and retried", async () => {
    const h = harness();
    h.client.connect();
    await flush();
    mock.timers.tick(10_000);
    assert.equal(h.client.state, "offline");
    assert.equal(h.sockets[0]?.closedByClient?.code, 4000);
    mock.timers.tick(500);
    await flush();
    assert.equal(h.sockets.length, 2, "a new attempt after the backoff");
    h.client.close();
  });
});

describe("sync", () => {
  test("pages are pulled until has_more is false, each message emitted, the cursor stored", async () => {
    const h = harness();
    const socket = await opened(h);
    welcome(socket);
    assert.equal(socket.lastFrame("sync").cursor, undefined, "no stored cursor: from the beginning");
    answerSync(socket, [entry(1), entry(2)], "c2", true);
    await flush();
    assert.equal(socket.lastFrame("sync").cursor, "c2");
    answerSync(socket, [entry(3)], "c3");
    await flush();
    assert.deepEqual(h.messages.map((m) => m.msg_id), [1, 2, 3]);
    assert.equal(h.storage.load("tidings.cursor"), "c3");
    assert.equal(socket.frames("sync").length, 2);
    h.client.close();
  });

  test("a stored cursor is where the first sync resumes", async () => {
    const storage = new MemoryStorage();
    storage.save("tidings.cursor", "stored");
    const h = harness({ storage });
    welcome(await opened(h));
    assert.equal(h.socket().lastFrame("sync").cursor, "stored");
    h.client.close();
  });

  test("one sync in flight: notifies during it make exactly one more round, then it rests", async () => {
    const h = harness();
    const socket = await online(h);
    socket.receive({ type: "notify", source: "private", up_to: 5 });
    socket.receive({ type: "notify", source: "private", up_to: 6 });
    socket.receive({ type: "notify", source: "private", up_to: 7 });
    assert.equal(socket.frames("sync").length, 2, "the first sync, and one for the notifies");
    answerSync(socket, [entry(5)], "c5");
    await flush();
    const syncs = socket.frames("sync");
    assert.equal(syncs.length, 3, "the page may predate the later notifies: one more round");
    assert.equal(syncs[2]?.cursor, "c5");
    answerSync(socket, [entry(6), entry(7)], "c7");
    await flush();
    assert.equal(socket.frames("sync").length, 3, "caught up, nothing new: no more syncs");
    h.client.close();
  });

  test("a message seen before is not emitted again", async () => {
    const h = harness();
    const socket = await online(h);
    socket.receive({ type: "notify", source: "private", up_to: 2 });
    answerSync(socket, [entry(1), entry(2)], "c2");
    await flush();
    socket.receive({ type: "notify", source: "public", seq: 1, pull_within_ms: 0 });
    mock.timers.tick(0);
    answerSync(socket, [entry(2), entry(2, "public"), entry(3)], "c3");
    await flush();
    assert.deepEqual(
      h.messages.map((m) => `${m.source}:${m.msg_id}`),
      ["private:1", "private:2", "public:2", "private:3"],
    );
    h.client.close();
  });

  test("a delete command emits recalled once, never a message", async () => {
    const h = harness();
    const recalled: Array<{ msgIds: number[]; broadcastId?: number }> = [];
    h.client.on("recalled", (event) => recalled.push(event));
    const socket = await online(h);
    const command: MailboxEntry = {
      ...entry(9, "public"),
      source: "command",
      command: "delete",
      msg_ids: [2],
      broadcast_id: 5,
      content: "",
    };
    socket.receive({ type: "notify", source: "public", seq: 1, pull_within_ms: 0 });
    mock.timers.tick(0);
    answerSync(socket, [entry(2, "public"), command], "c9");
    await flush();
    socket.receive({ type: "notify", source: "public", seq: 2, pull_within_ms: 0 });
    mock.timers.tick(0);
    answerSync(socket, [command], "c9");
    await flush();
    assert.deepEqual(h.messages.map((m) => `${m.source}:${m.msg_id}`), ["public:2"]);
    assert.deepEqual(recalled, [{ msgIds: [2], broadcastId: 5 }]);
    h.client.close();
  });

  test("a broadcast notify is pulled at a random moment of pull_within_ms", async () => {
    const h = harness({ random: () => 0.5 });
    const socket = await online(h);
    socket.receive({ type: "notify", source: "public", seq: 3, pull_within_ms: 2_000 });
    socket.receive({ type: "notify", source: "public", seq: 4, pull_within_ms: 2_000 });
    mock.timers.tick(999);
    assert.equal(socket.frames("sync").length, 1, "not before its moment");
    mock.timers.tick(1);
    assert.equal(socket.frames("sync").length, 2, "one sync for both notifies");
    h.client.close();
  });

  test("syncNow resolves once the mailbox is caught up", async () => {
    const h = harness();
    const socket = await online(h);
    let done = false;
    const caughtUp = h.client.syncNow().then(() => (done = true));
    answerSync(socket, [entry(1)], "c1", true);
    await flush();
    assert.equal(done, false, "a page with has_more is not caught up");
    answerSync(socket, [entry(2)], "c2");
    await caughtUp;
    assert.deepEqual(h.messages.map((m) => m.msg_id), [1, 2]);
    h.client.close();
  });
});

describe("heartbeats", () => {
  test("pings are answered with pong", async () => {
    const h = harness();
    const socket = await online(h);
    socket.receive({ type: "ping" });
    assert.deepEqual(socket.sent[socket.sent.length - 1], { type: "pong" });
    h.client.close();
  });

  test("a gateway silent for two heartbeats is dropped and reconnected to", async () => {
    const h = harness();
    const socket = await online(h);
    mock.timers.tick(2_000);
    socket.receive({ type: "ping" });
    mock.timers.tick(2_999);
    assert.equal(h.client.state, "online", "a frame re-arms the watchdog");
    mock.timers.tick(1);
    assert.equal(h.client.state, "offline");
    assert.equal(socket.closedByClient?.code, 4000);
    mock.timers.tick(100);
    await flush();
    assert.equal(h.sockets.length, 2);
    h.client.close();
  });
});

describe("reconnect", () => {
  test("full-jitter backoff within the server's bounds, reset by a welcome", async () => {
    const h = harness();
    let socket = await online(h);
    const delays: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      socket.serverClose(1006);
      delays.push(h.states[h.states.length - 1]?.retryInMs ?? -1);
      mock.timers.tick(delays[attempt] ?? 0);
      await flush();
      socket = h.socket();
    }
    // random() = 1: the ceiling itself, doubling from min_ms (100) up to max_ms (1000).
    assert.deepEqual(delays, [100, 200, 400, 800, 1_000]);
    socket.open();
    welcome(socket);
    socket.serverClose(1006);
    assert.equal(h.states[h.states.length - 1]?.retryInMs, 100, "reset after a session");
    h.client.close();
  });

  test("the delay is uniform below the ceiling (full jitter)", async () => {
    const h = harness({ random: () => 0.25 });
    const socket = await online(h);
    socket.serverClose(1006);
    assert.equal(h.states[h.states.length - 1]?.retryInMs, 25);
    h.client.close();
  });

  test("4401 asks the token provider for a fresh token", async () => {
    const h = harness();
    const socket = await online(h);
    socket.serverClose(CloseCode.BadToken, "token expired");
    mock.timers.tick(100);
    await flush();
    assert.deepEqual(h.tokenRequests, [{ refresh: false }, { refresh: true }]);
    h.socket().open();
    assert.equal(h.socket().lastFrame("login").token, "token-2");
    h.client.close();
  });

  test("4503 reconnects after the reason's delay, 4429 after retry_after_ms", async () => {
    const h = harness();
    const socket = await online(h);
    socket.serverClose(CloseCode.Draining, "reconnect_after_ms=1234");
    assert.equal(h.states[h.states.length - 1]?.retryInMs, 1_234);
    mock.timers.tick(1_234);
    await flush();
    const second = h.socket();
    second.open();
    welcome(second);
    second.serverClose(CloseCode.TooManyFrames, "retry_after_ms=777");
    assert.equal(h.states[h.states.length - 1]?.retryInMs, 777);
    h.client.close();
  });

  test("4403 closes the client for good and rejects pending sends", async () => {
    const h = harness();
    const socket = await online(h);
    const sent = h.client.send({ toUid: 9, content: "hi", msgkey: "m1" });
    socket.serverClose(CloseCode.NotAllowed, "not a user token");
    assert.equal(h.client.state, "closed");
    await assert.rejects(sent, { name: "ClientClosed" });
    mock.timers.tick(60_000);
    assert.equal(h.sockets.length, 1, "no reconnect");
  });

  test("a session after a reconnect syncs from the last cursor", async () => {
    const h = harness();
    const socket = await online(h);
    socket.receive({ type: "notify", source: "private", up_to: 1 });
    answerSync(socket, [entry(1)], "c1");
    await flush();
    socket.serverClose(1006);
    mock.timers.tick(100);
    await flush();
    const next = h.socket();
    next.open();
    welcome(next);
    assert.equal(next.lastFrame("sync").cursor, "c1");
    h.client.close();
  });
});

describe("outbox", () => {
  test("a send made offline goes out on the next session and resolves on its ack", async () => {
    const h = harness();
    const receipt = h.client.send({ toUid: 9, content: "hi", msgkey: "m1", messageType: 3 });
    const socket = await opened(h);
    welcome(socket);
    const send = socket.lastFrame("send");
    assert.deepEqual({ ...send, id: 0 }, { type: "send", id: 0, to_uid: 9, content: "hi", msgkey: "m1", message_type: 3 });
    socket.receive({ type: "ack", id: send.id, msgkey: "m1" });
    assert.deepEqual(await receipt, { msgkey: "m1" });
    assert.equal(h.client.pendingSends, 0);
    h.client.close();
  });

  test("an unacknowledged send is retransmitted with the same msgkey, after a timeout and on a new session", async () => {
    const h = harness();
    const socket = await online(h);
    const receipt = h.client.send({ toUid: 9, content: "hi" });
    const first = socket.lastFrame("send");
    assert.match(String(first.msgkey), /^[0-9a-f-]{36}$/, "a generated msgkey");
    mock.timers.tick(1_000);
    const again = socket.frames("send");
    assert.equal(again.length, 2);
    assert.equal(again[1]?.msgkey, first.msgkey);
    assert.notEqual(again[1]?.id, first.id);
    socket.serverClose(1006);
    mock.timers.tick(100);
    await flush();
    const next = h.socket();
    next.open();
    welcome(next);
    assert.equal(next.lastFrame("send").msgkey, first.msgkey);
    next.receive({ type: "ack", id: next.lastFrame("send").id, msgkey: first.msgkey });
    assert.deepEqual(await receipt, { msgkey: first.msgkey });
    h.client.close();
  });

  test("the same msgkey twice is one send", async () => {
    const h = harness();
    const socket = await online(h);
    const one = h.client.send({ toUid: 9, content: "hi", msgkey: "same" });
    const two = h.client.send({ toUid: 9, content: "hi", msgkey: "same" });
    assert.equal(one, two);
    assert.equal(socket.frames("send").length, 1);
    h.client.close();
    await assert.rejects(one, { name: "ClientClosed" }, "closing the client rejects what is still pending");
  });

  test("a refused send rejects with the gateway's code and field; unavailable is retried", async () => {
    const h = harness();
    const socket = await online(h);
    const refused = h.client.send({ toUid: 9, content: "hi", msgkey: "bad" });
    const bad = socket.lastFrame("send");
    socket.receive({ type: "error", id: bad.id, code: "invalid_field", message: "to_uid must be positive", field: "to_uid" });
    await assert.rejects(refused, (error: unknown) => {
      assert.ok(error instanceof SendRefused);
      assert.equal(error.code, "invalid_field");
      assert.equal(error.field, "to_uid");
      return true;
    });
    const retried = h.client.send({ toUid: 9, content: "hi", msgkey: "later" });
    const first = socket.lastFrame("send");
    socket.receive({ type: "error", id: first.id, code: "unavailable", message: "the log is unavailable" });
    assert.equal(h.client.pendingSends, 1, "kept for retransmission");
    mock.timers.tick(1_000);
    const second = socket.lastFrame("send");
    assert.equal(second.msgkey, "later");
    socket.receive({ type: "ack", id: second.id, msgkey: "later" });
    await retried;
    h.client.close();
  });
});
