// The SDK against a real `tidings all-in-one` (embedded engines): notify then pull, two
// devices, sends over the socket with a lost ack, offline catch-up from a stored cursor, a
// refused token refreshed, and a broadcast to the clients its audience admits only.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";

import { MemoryStorage, type SocketLike } from "../../src/index.js";
import { freshUid, userClient } from "../support/clients.js";
import { eventually, TidingsServer } from "../../dev/server.js";

/** How long a message may take from a send's 202 to the client's hands here (notify + pull). */
const DELIVERY_BOUND_MS = 2_000;

let server: TidingsServer;
before(async () => {
  server = await TidingsServer.start("embedded");
});
after(async () => {
  await server.stop();
});

/**
 * A WebSocket that loses the network (terminates, no close handshake) instead of
 * delivering an `ack` whenever `lose()` says so: the ack never reaches the client.
 */
function lossy(lose: () => boolean): new (url: string) => SocketLike {
  return class LossySocket implements SocketLike {
    onopen: ((event: unknown) => void) | null = null;
    onmessage: ((event: { data: unknown }) => void) | null = null;
    onclose: ((event: { code: number; reason: string }) => void) | null = null;
    onerror: ((event: unknown) => void) | null = null;
    private readonly inner: WebSocket;

    constructor(url: string) {
      this.inner = new WebSocket(url);
      this.inner.onopen = (event) => this.onopen?.(event);
      this.inner.onclose = (event) => this.onclose?.(event);
      this.inner.onerror = (event) => this.onerror?.(event);
      this.inner.onmessage = (event) => {
        if (String(event.data).includes('"type":"ack"') && lose()) return this.inner.terminate();
        this.onmessage?.(event);
      };
    }

    get readyState(): number {
      return this.inner.readyState;
    }

    send(data: string): void {
      this.inner.send(data);
    }

    close(code?: number, reason?: string): void {
      this.inner.close(code, reason);
    }
  };
}

/** Every message of `uid`'s mailbox, by HTTP sync (the other way in). */
async function mailboxOf(uid: number): Promise<Array<{ msgkey: string; content: string }>> {
  const messages: Array<{ msgkey: string; content: string }> = [];
  let cursor = "";
  for (;;) {
    const response = await fetch(`${server.clientApi}/v1/mailbox/sync?cursor=${encodeURIComponent(cursor)}`, {
      headers: { Authorization: `Bearer ${server.token("user", 1, { uid })}` },
    });
    assert.equal(response.status, 200);
    const page = (await response.json()) as { messages: typeof messages; cursor: string; has_more: boolean };
    messages.push(...page.messages);
    cursor = page.cursor;
    if (!page.has_more) return messages;
  }
}

describe("notify, then pull", () => {
  test("a business server's send reaches both devices of the user within the bound", async () => {
    const uid = freshUid();
    const phone = userClient(server, uid, { platform: "ios" });
    const laptop = userClient(server, uid, { platform: "mac" });
    phone.client.connect();
    laptop.client.connect();
    await Promise.all([phone.online(), laptop.online()]);
    const sentAt = Date.now();
    await server.send(1, { mode: "unicast", from_uid: 7, to_uids: [uid], content: "to both devices", msgkey: `b-${uid}` });
    for (const device of [phone, laptop]) {
      const message = await eventually("the message on each device", DELIVERY_BOUND_MS, () =>
        device.messages.find((m) => m.msgkey === `b-${uid}`),
      );
      assert.equal(message.content, "to both devices");
    }
    assert.ok(Date.now() - sentAt < DELIVERY_BOUND_MS);
    phone.client.close();
    laptop.client.close();
  });

  test("a client offline during sends gets everything, once, when it comes back with its cursor", async () => {
    const uid = freshUid();
    const storage = new MemoryStorage();
    const first = userClient(server, uid, { storage });
    first.client.connect();
    await first.online();
    await server.send(1, { mode: "unicast", from_uid: 7, to_uids: [uid], content: "before", msgkey: `o-${uid}-0` });
    await eventually("the first message", DELIVERY_BOUND_MS, () => first.messages.length === 1);
    first.client.close();
    for (let i = 1; i <= 5; i++) {
      await server.send(1, { mode: "unicast", from_uid: 7, to_uids: [uid], content: `while offline ${i}`, msgkey: `o-${uid}-${i}` });
    }
    // The same app restarted: a new client, the stored cursor.
    const again = userClient(server, uid, { storage });
    again.client.connect();
    await eventually("the missed messages", DELIVERY_BOUND_MS, () => again.messages.length >= 5);
    await again.client.syncNow();
    assert.deepEqual(
      again.messages.map((m) => m.content),
      [1, 2, 3, 4, 5].map((i) => `while offline ${i}`),
    );
    again.client.close();
  });
});

describe("sends over the socket", () => {
  test("a send reaches both mailboxes once, also when its ack is lost and the client resends", async () => {
    const [alice, bob] = [freshUid(), freshUid()];
    // Alice's network dies right after her first send reached the gateway: the ack is lost.
    let ackLost = false;
    const sender = userClient(server, alice, { WebSocket: lossy(() => !ackLost && (ackLost = true)) });
    const receiver = userClient(server, bob);
    sender.client.connect();
    receiver.client.connect();
    await Promise.all([sender.online(), receiver.online()]);
    const states: string[] = [];
    sender.client.on("state", (change) => states.push(change.state));
    const receipt = await sender.client.send({ toUid: bob, content: "hello bob", msgkey: `s-${alice}` });
    assert.equal(receipt.msgkey, `s-${alice}`);
    assert.ok(ackLost, "the first ack was lost");
    assert.ok(states.includes("offline"), "the lost ack cost a reconnect, and the send was retransmitted");
    await eventually("bob's message", DELIVERY_BOUND_MS, () => receiver.messages.some((m) => m.msgkey === `s-${alice}`));
    await receiver.client.syncNow();
    assert.equal(receiver.messages.filter((m) => m.msgkey === `s-${alice}`).length, 1);
    for (const uid of [alice, bob]) {
      const copies = (await mailboxOf(uid)).filter((m) => m.msgkey === `s-${alice}`);
      assert.equal(copies.length, 1, `one copy in ${uid}'s mailbox`);
    }
    sender.client.close();
    receiver.client.close();
  });

  test("a refused send rejects with the field it names, and writes nothing", async () => {
    const alice = freshUid();
    const sender = userClient(server, alice);
    sender.client.connect();
    await sender.online();
    await assert.rejects(sender.client.send({ toUid: 0, content: "to nobody", msgkey: `r-${alice}` }), {
      name: "SendRefused",
      code: "invalid_field",
      field: "to_uid",
    });
    assert.equal(sender.client.pendingSends, 0);
    assert.deepEqual(await mailboxOf(alice), []);
    sender.client.close();
  });
});

describe("the typed HTTP API", () => {
  test("history, read marks and deletes through the generated client, against the server", async () => {
    const uid = freshUid();
    const reader = userClient(server, uid);
    reader.client.connect();
    await reader.online();
    for (let i = 1; i <= 3; i++) {
      await server.send(1, { mode: "unicast", from_uid: 7, to_uids: [uid], content: `history ${i}`, msgkey: `h-${uid}-${i}` });
    }
    await eventually("three messages", DELIVERY_BOUND_MS, () => reader.messages.length === 3);
    const [first, second, third] = reader.messages.map((m) => m.msg_id);
    assert.ok(first && second && third);
    await reader.client.markRead(second);
    const deleted: number[] = [];
    reader.client.on("deleted", ({ msgId }) => deleted.push(msgId));
    await reader.client.deleteMessage(first);
    assert.deepEqual(deleted, [first]);

    const history = await eventually("the delete and the read mark in history", DELIVERY_BOUND_MS, async () => {
      const { data, response } = await reader.client.http.GET("/v1/mailbox/history", {
        params: { query: { before: Number.MAX_SAFE_INTEGER, limit: 10 } },
      });
      assert.equal(response.status, 200);
      const messages = data?.messages ?? [];
      const settled = messages.length === 2 && messages.some((m) => m.msg_id === second && m.is_read);
      return settled && messages;
    });
    const byId = new Map(history.map((m) => [m.msg_id, m]));
    assert.equal(byId.has(first), false, "deleted");
    assert.equal(byId.get(second)?.is_read, true, "read up to the mark");
    assert.equal(byId.get(third)?.is_read, false, "after the mark");

    const refused = await reader.client.http.GET("/v1/mailbox/history", { params: { query: { limit: 0 } } });
    assert.equal(refused.response.status, 400, "the server's own validation reaches the typed client");
    reader.client.close();
  });
});

describe("tokens", () => {
  test("a refused token (4401) is replaced by a fresh one from the provider", async () => {
    const uid = freshUid();
    const requests: boolean[] = [];
    const client = userClient(server, uid, {
      token: ({ refresh }) => {
        requests.push(refresh);
        return server.token("user", 1, { uid, ttlS: refresh ? 3600 : -3600 });
      },
    });
    const closes: number[] = [];
    client.client.on("state", (change) => change.code && closes.push(change.code));
    client.client.connect();
    await client.online();
    assert.deepEqual(closes, [4401]);
    assert.deepEqual(requests, [false, true]);
    client.client.close();
  });
});

describe("broadcasts", () => {
  test("a published broadcast reaches the clients its audience admits, and no other", async () => {
    const ios = userClient(server, freshUid(), { platform: "ios" });
    const android = userClient(server, freshUid(), { platform: "android" });
    ios.client.connect();
    android.client.connect();
    await Promise.all([ios.online(), android.online()]);
    const notified: string[] = [];
    android.client.on("notify", (notify) => notified.push(notify.source));
    const id = await server.publishBroadcast(1, "for iOS only", { platforms: ["ios"] });
    const got = await eventually("the broadcast on iOS", DELIVERY_BOUND_MS * 2, () =>
      ios.messages.find((m) => m.broadcast_id === id),
    );
    assert.equal(got.source, "public");
    // The wave is paced: give it time to have reached everyone it would.
    await new Promise((done) => setTimeout(done, 1_000));
    await android.client.syncNow();
    assert.equal(android.messages.filter((m) => m.broadcast_id === id).length, 0);
    assert.deepEqual(notified, [], "the wave skipped the client the audience excludes");
    ios.client.close();
    android.client.close();
  });
});
