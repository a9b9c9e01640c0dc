// The operator console in a real headless Chromium (Debian's, driven by playwright-core,
// which downloads no browser of its own), against a real `tidings all-in-one`: an operator
// logs in, drafts, edits, pre-publishes and publishes a broadcast, watches its reach grow as
// simulated clients pull it, stops it, and finds every step in the audit trail. Then a
// templated broadcast: refused without its fallback and while it doesn't compile, then
// previewed for a user as that user's pull renders it. Then the refusals: a wrong password, too many attempts, a missing CSRF token, an expired session,
// an operator of another app, an illegal transition from a stale page.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";

import { Client, SECRET, Server, freshProfile } from "../support.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const APP = 1;
const OTHER_APP = 2;
const PASSWORD = "correct horse battery";
const TESTER = 1001;
const OUTSIDER = 1002;
const CLIENTS = 12;

let server;
let profile;
let browser;
let page;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install chromium (infra/browser/install.sh)`);
  server = new Server();
  server.addOperator(APP, "alice", PASSWORD);
  server.addOperator(OTHER_APP, "bob", PASSWORD);
  await server.start();
  profile = freshProfile();
  browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
  page = browser.pages()[0] ?? (await browser.newPage());
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function logIn(target, app, name, password) {
  await target.goto(`${server.url}/console/login`);
  await target.fill("#app", String(app));
  await target.fill("#name", name);
  await target.fill("#password", password);
  await target.click("button[type=submit]");
}

/** Reloads the page until `locator` shows `text` (reach is flushed on an interval). */
async function untilText(target, locator, text, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const shown = (await target.locator(locator).innerText()).trim();
    if (shown === text) return;
    if (Date.now() > deadline) assert.fail(`${locator} shows ${shown}, not ${text}`);
    await new Promise((wake) => setTimeout(wake, 300));
    await target.reload();
  }
}

async function confirmAction(action) {
  await page.click(`a[data-action="${action}"]`);
  await page.click("#confirm");
}

test("an operator drives a broadcast from draft to stop and sees its reach and audit trail", async () => {
  await page.goto(`${server.url}/console/`);
  assert.match(page.url(), /\/console\/login\?session=missing$/);

  await logIn(page, APP, "alice", "not the password");
  assert.match(await page.locator(".error").innerText(), /Wrong app, name or password/);

  await logIn(page, APP, "alice", PASSWORD);
  assert.match(page.url(), /\/console\/apps\/1\/broadcasts$/);
  const cookie = (await browser.cookies()).find((c) => c.name === "tidings_console");
  assert.ok(cookie.httpOnly, "the session cookie is HttpOnly");
  assert.equal(cookie.sameSite, "Strict");

  // A draft: first refused with the errors next to their fields, then accepted.
  await page.click("text=New broadcast");
  await page.fill("#content", "");
  await page.fill('[id="audience.min_core_level"]', "20");
  await page.fill('[id="audience.max_core_level"]', "5");
  await page.click("#editor button[type=submit]");
  const errorAfter = (id) => page.locator(`[id="${id}"] + .error`).innerText();
  assert.match(await errorAfter("content"), /must not be empty/);
  await page.fill("#content", "Spring sale");
  await page.click("#editor button[type=submit]");
  assert.match(await errorAfter("audience.min_core_level"), /above max_core_level 5/);
  await page.fill('[id="audience.max_core_level"]', "");
  await page.fill('[id="audience.min_core_level"]', "");
  await page.click("#editor button[type=submit]");
  await page.locator("#state", { hasText: /^draft$/ }).waitFor();
  const broadcastUrl = page.url().split("?")[0];
  const broadcastId = Number(broadcastUrl.split("/").pop());

  // An edit.
  await page.fill("#content", "Spring sale: 20% off");
  await page.click("#editor button[type=submit]");
  assert.match(await page.locator(".notice").innerText(), /modified/);
  assert.equal(await page.inputValue("#content"), "Spring sale: 20% off");

  // The whitelist, then a stale confirmation page opened before pre-publishing.
  await page.click("header >> text=Whitelist");
  await page.fill("#uids", String(TESTER));
  await page.click("form.editor button[type=submit]");
  await page.locator(".notice").waitFor();
  const stale = await browser.newPage();
  await stale.goto(`${broadcastUrl}/actions/prepublish`);

  await page.goto(broadcastUrl);
  await page.click('a[data-action="prepublish"]');
  assert.match(await page.locator("#whom").innerText(), new RegExp(`only to the 1 whitelisted users \\(${TESTER}\\)`));
  await page.click("#confirm");
  await page.locator("#state", { hasText: /^pre_published$/ }).waitFor();

  // The stale page's confirmation is refused: the state moved on.
  await stale.click("#confirm");
  assert.match(await stale.locator(".problem").innerText(), /Cannot prepublish a broadcast that is pre_published\. Nothing was changed\./);
  await stale.close();

  // The tester pulls it, another user does not; the preview agrees.
  const tester = new Client(server, APP, TESTER, "web");
  const outsider = new Client(server, APP, OUTSIDER, "web");
  await waitFor(async () => (await tester.sync()).includes(broadcastId), "the tester syncs the pre-published broadcast");
  assert.deepEqual(await outsider.sync(), []);
  await page.goto(`${server.url}/console/apps/${APP}/preview?uid=${TESTER}&platform=web`);
  assert.match(await page.locator("#preview").innerText(), /Spring sale: 20% off/);
  await page.goto(`${server.url}/console/apps/${APP}/preview?uid=${OUTSIDER}&platform=web`);
  await page.locator("#preview-empty").waitFor();

  // Published: N clients pull it, some read it, and the page shows the reach.
  await page.goto(broadcastUrl);
  await confirmAction("publish");
  await page.locator("#state", { hasText: /^published$/ }).waitFor();
  const clients = Array.from({ length: CLIENTS }, (_, i) => new Client(server, APP, 2001 + i, i % 2 ? "android" : "ios"));
  for (const client of clients) {
    await waitFor(async () => (await client.sync()).includes(broadcastId), `client syncs the broadcast`);
  }
  for (const client of clients.slice(0, 5)) await client.markRead();
  // Pulling again changes nothing: reach counts users, not pulls.
  for (const client of clients) await client.sync();
  await untilText(page, "#reach tr.delivered td.total", String(CLIENTS + 1));
  await untilText(page, "#reach tr.read td.total", "5");
  assert.equal(await page.locator('#reach tr.delivered td[data-platform="ios"]').innerText(), String(CLIENTS / 2));
  assert.equal(await page.locator('#reach tr.delivered td[data-platform="android"]').innerText(), String(CLIENTS / 2));
  assert.equal(await page.locator("figure.chart svg polyline, figure.chart svg circle").count() >= 2, true);
  if (process.env.CONSOLE_SCREENSHOT) await page.screenshot({ path: process.env.CONSOLE_SCREENSHOT, fullPage: true });
  await page.goto(`${server.url}/console/apps/${APP}/broadcasts`);
  assert.equal(await page.locator(`tr[data-broadcast="${broadcastId}"] td.delivered`).innerText(), String(CLIENTS + 1));

  // Stopped.
  await page.goto(broadcastUrl);
  await confirmAction("stop");
  await page.locator("#state", { hasText: /^stopped$/ }).waitFor();

  // Every step in the audit trail, by alice.
  await page.goto(`${server.url}/console/apps/${APP}/audit`);
  const steps = await page.locator("table.audit tbody tr").evaluateAll((rows) =>
    rows.map((row) => `${row.querySelector(".change").textContent} ${row.querySelector(".actor").textContent}`),
  );
  assert.deepEqual(steps.reverse(), [
    "created operator:alice",
    "modified operator:alice",
    "whitelist_replaced operator:alice",
    "prepublish operator:alice",
    "publish operator:alice",
    "stop operator:alice",
  ]);
});

test("a templated broadcast: refused without a fallback or when it doesn't compile, then rendered per user in the preview as in a pull", async () => {
  await page.goto(`${server.url}/console/apps/${APP}/broadcasts/new`);
  const errorAfter = (id) => page.locator(`[id="${id}"] + .error`).innerText();
  await page.selectOption("#content_format", "template");
  await page.fill("#content", "Hello\n{% if %}");
  await page.click("#editor button[type=submit]");
  assert.match(await errorAfter("fallback_content"), /must not be empty/);
  await page.fill("#fallback_content", "Hello");
  await page.click("#editor button[type=submit]");
  assert.match(await errorAfter("content"), /is not a valid template: line 2, column \d+/);
  assert.equal(await page.inputValue("#content_format"), "template", "the form comes back as typed");

  await page.fill("#content", "Hello {{ uid }}");
  await page.click("#editor button[type=submit]");
  await page.locator("#state", { hasText: /^draft$/ }).waitFor();
  assert.equal(await page.locator("#format").innerText(), "template");
  const broadcastId = Number(page.url().split("?")[0].split("/").pop());
  await confirmAction("publish");
  await page.locator("#state", { hasText: /^published$/ }).waitFor();

  const user = new Client(server, APP, 42, "ios");
  await waitFor(async () => (await user.sync()).includes(broadcastId), "user 42 syncs the templated broadcast");
  const pulled = user.received.find((message) => message.broadcast_id === broadcastId);
  assert.equal(pulled.content, "Hello 42");
  await page.goto(`${server.url}/console/apps/${APP}/preview?uid=42&platform=ios&app_version=1.0.0&core_level=10`);
  const row = page.locator(`#preview tr[data-broadcast="${broadcastId}"]`);
  assert.equal(await row.locator("td.content").innerText(), pulled.content);
  assert.equal(await row.locator("td.rendering").getAttribute("data-outcome"), "rendered");

  await page.goto(`${server.url}/console/apps/${APP}/broadcasts`);
  assert.equal(await page.locator(`tr[data-broadcast="${broadcastId}"] td.format`).innerText(), "template");
});

test("refusals change nothing: CSRF, another app, an expired session, too many logins", async () => {
  const whitelist = async () => (await page.goto(`${server.url}/console/apps/${APP}/whitelist`), page.inputValue("#uids"));
  const before = await whitelist();

  // A form without the session's CSRF token (the session cookie goes along).
  const forged = await page.request.post(`${server.url}/console/apps/${APP}/whitelist`, { form: { uids: "666" }, maxRedirects: 0 });
  assert.equal(forged.status(), 403);
  assert.match(await forged.text(), /no valid CSRF token/);
  assert.equal(await whitelist(), before);

  // An operator of another app, with a valid session and CSRF token of their own.
  const bobProfile = freshProfile();
  const bob = await chromium.launchPersistentContext(bobProfile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
  try {
    const bobPage = bob.pages()[0] ?? (await bob.newPage());
    await logIn(bobPage, OTHER_APP, "bob", PASSWORD);
    assert.match(bobPage.url(), /\/console\/apps\/2\/broadcasts$/);
    const csrf = await bobPage.locator('input[name="csrf"]').first().inputValue();
    const refused = await bobPage.goto(`${server.url}/console/apps/${APP}/whitelist`);
    assert.equal(refused.status(), 403);
    assert.match(await bobPage.locator(".problem").innerText(), /You are an operator of app 2, not of app 1/);
    const posted = await bobPage.request.post(`${server.url}/console/apps/${APP}/whitelist`, { form: { uids: "666", csrf }, maxRedirects: 0 });
    assert.equal(posted.status(), 403);
    assert.equal(await whitelist(), before);
  } finally {
    await bob.close();
    rmSync(bobProfile, { recursive: true, force: true });
  }

  // An expired session: signed by the server's key, but past its expiry.
  const expired = sessionToken({ app_id: APP, operator: "alice", csrf: "00", aud: "tidings-console", exp: Math.floor(Date.now() / 1000) - 60 });
  // Same name, domain and path as the live session's cookie, so it replaces that one.
  await browser.addCookies([{ name: "tidings_console", value: expired, domain: "127.0.0.1", path: "/console", httpOnly: true, sameSite: "Strict" }]);
  await page.goto(`${server.url}/console/apps/${APP}/broadcasts`);
  assert.match(page.url(), /\/console\/login\?session=expired$/);
  assert.match(await page.locator(".notice").innerText(), /Your session expired/);

  // Login attempts are limited per operator (5 a minute in this test's configuration).
  for (let attempt = 0; attempt < 5; attempt++) {
    await logIn(page, APP, "carol", "guess " + attempt);
    assert.match(await page.locator(".error").innerText(), /Wrong app, name or password/);
  }
  await logIn(page, APP, "carol", "one guess too many");
  assert.match(await page.locator(".error").innerText(), /Too many login attempts/);
});

/** A console session token as the server signs it: HS256 under the derived session key. */
function sessionToken(claims) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${encode({ typ: "JWT", alg: "HS256" })}.${encode(claims)}`;
  const key = Buffer.concat([Buffer.from("tidings-console-session/"), Buffer.from(SECRET)]);
  return `${unsigned}.${createHmac("sha256", key).update(unsigned).digest("base64url")}`;
}

async function waitFor(check, what, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
    await new Promise((wake) => setTimeout(wake, 200));
  }
}
