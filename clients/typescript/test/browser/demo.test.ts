// The demo page in a real headless Chromium (Debian's, driven by playwright-core, which
// downloads no browser of its own): two users chat over the SDK's long connection, and an
// operator's broadcast reaches both.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium, type BrowserContext, type Page } from "playwright-core";

import { startDemo, type Demo } from "../../demo/serve.js";

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

let demo: Demo;
let profile: string;
let browser: BrowserContext;
let page: Page;
const problems: string[] = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install chromium (infra/browser/install.sh)`);
  demo = await startDemo(0, "warn");
  profile = mkdtempSync(join(tmpdir(), "tidings-chromium-"));
  browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on("pageerror", (error) => problems.push(String(error)));
  page.on("console", (message) => message.type() === "error" && problems.push(message.text()));
});

after(async () => {
  await browser?.close();
  await demo?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test("two users chat on the demo page, and a broadcast reaches both", async () => {
  await page.goto(`${demo.url}?users=901,902`);
  for (const uid of [901, 902]) {
    await page.locator(`#user-${uid} .state[data-state="online"]`).waitFor({ timeout: 15_000 });
  }

  await page.fill("#user-901 .send-text", "hello from 901");
  await page.click("#user-901 button[type=submit]");
  const received = page.locator("#user-902 li", { hasText: "from 901: hello from 901" });
  await received.waitFor({ timeout: 10_000 });
  await page.locator('#user-901 li[data-mine="true"]', { hasText: "hello from 901" }).waitFor({ timeout: 10_000 });

  await page.fill("#user-902 .send-text", "hi 901, 902 here");
  await page.click("#user-902 button[type=submit]");
  await page.locator("#user-901 li", { hasText: "from 902: hi 901, 902 here" }).waitFor({ timeout: 10_000 });

  await page.fill("#broadcast-text", "maintenance at noon");
  await page.click("#broadcast-form button[type=submit]");
  for (const uid of [901, 902]) {
    await page.locator(`#user-${uid} li[data-source="public"]`, { hasText: "maintenance at noon" }).waitFor({ timeout: 15_000 });
  }
  assert.match(await page.locator("#broadcast-status").innerText(), /broadcast \d+ published/);

  // Each message once in each pane.
  assert.equal(await page.locator("#user-902 li", { hasText: "hello from 901" }).count(), 1);
  assert.equal(await page.locator("#user-901 li", { hasText: "maintenance at noon" }).count(), 1);
  assert.deepEqual(problems, [], "no script errors on the page");
});
