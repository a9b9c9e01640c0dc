// The SDK against the distributed roles on real Kafka and Cassandra (infra/test.sh starts
// them; a missing engine fails here): kill -9 of the gateway mid-session, with business
// sends and socket sends in flight. The SDK reconnects, and every message arrives once.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { freshUid, userClient } from "../support/clients.js";
import { eventually, TidingsServer } from "../../dev/server.js";

let server: TidingsServer;
before(async () => {
  server = await TidingsServer.start("distributed");
});
after(async () => {
  await server.stop();
});

test("kill -9 of the gateway mid-session: the SDK reconnects and every message arrives exactly once", async () => {
  const [alice, bob] = [freshUid(), freshUid()];
  const receiver = userClient(server, bob);
  const sender = userClient(server, alice, { ackTimeoutMs: 1_000 });
  receiver.client.connect();
  sender.client.connect();
  await Promise.all([receiver.online(), sender.online()]);
  const reconnects: number[] = [];
  receiver.client.on("state", (change) => change.state === "offline" && reconnects.push(change.code ?? 0));

  const expected: string[] = [];
  const receipts: Array<Promise<unknown>> = [];
  for (let i = 0; i < 40; i++) {
    if (i === 15) await server.kill9AndRestart("gateway");
    if (i % 2 === 0) {
      const msgkey = `biz-${bob}-${i}`;
      expected.push(msgkey);
      await server.send(1, { mode: "unicast", from_uid: 7, to_uids: [bob], content: `business ${i}`, msgkey });
    } else {
      const msgkey = `chat-${alice}-${i}`;
      expected.push(msgkey);
      receipts.push(sender.client.send({ toUid: bob, content: `chat ${i}`, msgkey }));
    }
    await new Promise((done) => setTimeout(done, 25));
  }
  await Promise.all(receipts);
  assert.equal(sender.client.pendingSends, 0, "every socket send acknowledged");
  await eventually("every message at the receiver", 30_000, () => expected.every((key) => receiver.messages.some((m) => m.msgkey === key)));
  await receiver.client.syncNow();

  assert.ok(reconnects.length >= 1, "the receiver lost its gateway and came back");
  const keys = receiver.messages.map((m) => m.msgkey);
  assert.equal(new Set(keys).size, keys.length, `no message twice: ${keys.join(" ")}`);
  assert.deepEqual([...keys].sort(), [...expected].sort());
  const ids = receiver.messages.map((m) => m.msg_id);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "in mailbox order");
  await sender.client.syncNow();
  const own = sender.messages.map((m) => m.msgkey);
  assert.deepEqual([...own].sort(), expected.filter((key) => key.startsWith("chat-")).sort(), "the sender's copies, once each");
  receiver.client.close();
  sender.client.close();
});
