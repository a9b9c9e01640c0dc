// The demo page: one TidingsClient per user pane, chatting over the socket, and an operator
// form that creates and publishes a broadcast over the typed HTTP API.

import { createHttpClient, TidingsClient, type MailboxEntry } from "../src/index.js";

const APP_ID = 1;
const users = (new URLSearchParams(location.search).get("users") ?? "42,43").split(",").map(Number);

async function devToken(query: string): Promise<string> {
  const response = await fetch(`/demo/token?${query}`);
  if (!response.ok) throw new Error(`no demo token: ${response.status}`);
  return response.text();
}

function element<T extends Element>(root: ParentNode, selector: string): T {
  const found = root.querySelector<T>(selector);
  if (!found) throw new Error(`the page has no ${selector}`);
  return found;
}

function mountPane(uid: number, peer: number): void {
  const template = element<HTMLTemplateElement>(document, "#pane");
  const pane = template.content.firstElementChild?.cloneNode(true) as HTMLElement;
  pane.id = `user-${uid}`;
  element(pane, ".who").textContent = `user ${uid} → ${peer}`;
  element<HTMLInputElement>(pane, ".send-text").placeholder = `a message to user ${peer}`;
  element(document, "#panes").append(pane);
  const state = element<HTMLElement>(pane, ".state");
  const list = element<HTMLOListElement>(pane, ".messages");

  const client = new TidingsClient({
    url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/v1/connect`,
    token: () => devToken(`role=user&uid=${uid}`),
    platform: "web",
    storageKey: `tidings.demo.${uid}`,
  });
  client.on("state", (change) => {
    state.textContent = change.state + (change.retryInMs !== undefined ? ` (retry in ${change.retryInMs} ms)` : "");
    state.dataset.state = change.state;
  });
  client.on("message", (message: MailboxEntry) => {
    const item = document.createElement("li");
    item.dataset.msgId = String(message.msg_id);
    item.dataset.msgkey = message.msgkey;
    item.dataset.source = message.source;
    item.dataset.mine = String(message.source === "private" && message.from_uid === uid);
    const from = message.source === "public" ? "broadcast" : `from ${message.from_uid}`;
    item.textContent = `${from}: ${message.content}`;
    list.append(item);
    list.scrollTop = list.scrollHeight;
  });
  client.on("deleted", ({ msgId }) => list.querySelector(`[data-msg-id="${msgId}"]`)?.remove());

  const form = element<HTMLFormElement>(pane, ".send-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const input = element<HTMLInputElement>(form, ".send-text");
    const content = input.value;
    input.value = "";
    client.send({ toUid: peer, content }).catch((error: Error) => alert(`not sent: ${error.message}`));
  });
  client.connect();
}

function mountOperator(): void {
  const http = createHttpClient({ baseUrl: location.origin, token: () => devToken("role=operator") });
  const form = element<HTMLFormElement>(document, "#broadcast-form");
  const status = element<HTMLElement>(document, "#broadcast-status");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = element<HTMLInputElement>(form, "#broadcast-text");
    const expireAt = Math.floor(Date.now() / 1000) + 24 * 3600;
    const created = await http.POST("/v1/apps/{app_id}/broadcasts", {
      params: { path: { app_id: APP_ID } },
      body: { content: input.value, expire_at: expireAt },
    });
    if (!created.data) {
      status.textContent = `not created: ${JSON.stringify(created.error)}`;
      return;
    }
    const id = created.data.broadcast_id;
    const published = await http.POST("/v1/apps/{app_id}/broadcasts/{broadcast_id}/{action}", {
      params: { path: { app_id: APP_ID, broadcast_id: id, action: "publish" } },
    });
    status.textContent = published.response.ok ? `broadcast ${id} published` : `not published: ${JSON.stringify(published.error)}`;
    input.value = "";
  });
}

mountOperator();
users.forEach((uid, index) => mountPane(uid, users[(index + 1) % users.length] ?? uid));
