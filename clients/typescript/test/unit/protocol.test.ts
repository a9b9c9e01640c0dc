import assert from "node:assert/strict";
import { test } from "node:test";

import { parseServerFrame, reasonMillis } from "../../src/protocol.js";

test("frames the contract defines are parsed, anything else is not", () => {
  assert.deepEqual(parseServerFrame('{"type":"ping"}'), { type: "ping" });
  assert.equal(parseServerFrame("not json"), undefined);
  assert.equal(parseServerFrame('{"type":"surprise"}'), undefined);
  assert.equal(parseServerFrame("[1,2]"), undefined);
  assert.equal(parseServerFrame("null"), undefined);
});

test("close reasons carry their delay as key=N", () => {
  assert.equal(reasonMillis("retry_after_ms=250", "retry_after_ms"), 250);
  assert.equal(reasonMillis("draining; reconnect_after_ms=1200", "reconnect_after_ms"), 1200);
  assert.equal(reasonMillis("reconnect_after_ms=1200", "retry_after_ms"), undefined);
  assert.equal(reasonMillis("xretry_after_ms=5", "retry_after_ms"), undefined);
});
