// The client of the notify-pull long connection (docs/design.md, "Long-connection contract";
// schemas/asyncapi.yaml). The socket only says *that* something changed; the sync stream,
// resumed from a persisted cursor, is the source of truth. So a lost socket, a restarted
// gateway or a restarted app loses nothing and, with the dedupe of `SeenMessages`, shows
// nothing twice (docs/design.md#no-missed-pull, #connected-client-never-stale).

import { Backoff } from "./backoff.js";
import { Emitter } from "./emitter.js";
import { createHttpClient, type TidingsHttp, type TokenProvider } from "./http.js";
import { Outbox, SendRefused, type OutgoingMessage, type SendReceipt } from "./outbox.js";
import {
  CloseCode,
  parseServerFrame,
  reasonMillis,
  type ClientFrame,
  type ErrorFrame,
  type MailboxEntry,
  type Notify,
  type Platform,
  type ServerFrame,
  type Synced,
} from "./protocol.js";
import { SeenMessages } from "./seen.js";
import { MemoryStorage, type CursorStorage } from "./storage.js";

/** What the client needs of a WebSocket: the browser's, or the `ws` package's in Node.js. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string) => SocketLike;

/** The handler slots both WebSocket implementations have. */
interface SocketHandlers {
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

const OPEN = 1;

export interface TidingsClientOptions {
  /** The gateway's WebSocket URL, e.g. `wss://im.example.com/v1/connect`. */
  url: string;
  /** Gives the user's token; called with `refresh: true` after the gateway refused one (4401). */
  token: TokenProvider;
  /** The API's origin for HTTP calls; by default the origin of `url`. */
  httpUrl?: string;
  platform?: Platform;
  appVersion?: string;
  coreLevel?: number;
  /** Where the sync cursor is kept (default: in memory). */
  storage?: CursorStorage;
  /** The key the cursor is kept under (default `tidings.cursor`); one per user and app. */
  storageKey?: string;
  /** The WebSocket implementation (default `globalThis.WebSocket`; in Node.js 20 pass `ws`). */
  WebSocket?: WebSocketConstructor;
  /** At most this many messages per page (default: the server's). */
  syncLimit?: number;
  /** Retransmit a send not acknowledged after this long (default 5000 ms). */
  ackTimeoutMs?: number;
  /** Give up on a session that answered nothing for this long after opening (default 10000 ms). */
  openTimeoutMs?: number;
  /** Drop a session whose sync is not answered in this long (default 15000 ms). */
  requestTimeoutMs?: number;
  /** Reconnect bounds until the server gives its own (default 500 ms to 30 s). */
  reconnect?: { minMs: number; maxMs: number };
  /** How many message identities are remembered for dedupe (default 10000). */
  dedupeCapacity?: number;
  /** Source of randomness for the backoff and the broadcast pull spread (tests). */
  random?: () => number;
  fetch?: typeof globalThis.fetch;
}

export type ConnectionState = "idle" | "connecting" | "online" | "offline" | "closed";

export interface StateChange {
  state: ConnectionState;
  /** The session, when online. */
  sessionId?: string;
  /** Why the last socket closed, when offline or closed. */
  code?: number;
  reason?: string;
  /** When offline: the reconnect comes after this long. */
  retryInMs?: number;
}

export interface TidingsEvents {
  /** A message the app has not been given before, in mailbox order. */
  message: MailboxEntry;
  /** A message this client deleted (`deleteMessage`). */
  deleted: { msgId: number };
  /**
   * Messages the sender recalled (a `delete` command of the sync stream): drop them, by the
   * `msg_id` they came under; `broadcastId` when a broadcast was recalled. Ids the app never
   * got can be ignored. Emitted once, like a message.
   */
  recalled: { msgIds: number[]; broadcastId?: number };
  state: StateChange;
  /** Every notify, before the sync it triggers. */
  notify: Notify;
  /** A problem the client recovers from by itself (a failed sync, a storage error). */
  error: Error;
}

/** Closed for good: by `close()`, or a token the gateway will never accept (4403). */
export class ClientClosed extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ClientClosed";
  }
}

interface PendingSync {
  resolve: (page: Synced) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * One user's connection to Tidings. `connect()` starts it; it then stays connected
 * (reconnecting with full-jitter backoff), pulls whenever a notify says so, and emits
 * `message` once per message (`recalled` once per delete command).
 */
export class TidingsClient extends Emitter<TidingsEvents> {
  /** The typed HTTP API, with the same token and identity. */
  readonly http: TidingsHttp;

  private readonly options: TidingsClientOptions;
  private readonly storage: CursorStorage;
  private readonly storageKey: string;
  private readonly random: () => number;
  private readonly backoff: Backoff;
  private readonly outbox: Outbox;
  private readonly seen: SeenMessages;
  private readonly syncs = new Map<number, PendingSync>();
  private readonly sendIds = new Map<number, string>();
  private socket: (SocketLike & SocketHandlers) | undefined;
  private currentState: ConnectionState = "idle";
  private cursor: string | undefined;
  private cursorLoaded = false;
  private nextId = 1;
  private heartbeatMs = 0;
  private refreshToken = false;
  private syncing = false;
  private syncAgain = false;
  private caughtUpWaiters: Array<() => void> = [];
  private watchdog: ReturnType<typeof setTimeout> | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private publicPullTimer: ReturnType<typeof setTimeout> | undefined;
  private removeWakeListeners: (() => void) | undefined;

  constructor(options: TidingsClientOptions) {
    super();
    this.options = options;
    this.storage = options.storage ?? new MemoryStorage();
    this.storageKey = options.storageKey ?? "tidings.cursor";
    this.random = options.random ?? Math.random;
    this.backoff = new Backoff(options.reconnect?.minMs ?? 500, options.reconnect?.maxMs ?? 30_000, this.random);
    this.outbox = new Outbox(() => globalThis.crypto.randomUUID());
    this.seen = new SeenMessages(options.dedupeCapacity ?? 10_000);
    this.http = createHttpClient({
      baseUrl: options.httpUrl ?? httpOrigin(options.url),
      token: options.token,
      ...(options.platform && { platform: options.platform }),
      ...(options.appVersion && { appVersion: options.appVersion }),
      ...(options.coreLevel !== undefined && { coreLevel: options.coreLevel }),
      ...(options.fetch && { fetch: options.fetch }),
    });
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** Unacknowledged sends. */
  get pendingSends(): number {
    return this.outbox.size;
  }

  /** Starts connecting (and staying connected). Calling it again does nothing. */
  connect(): void {
    if (this.currentState !== "idle") return;
    this.listenForWakeUps();
    void this.open();
  }

  /** Closes the connection for good; pending sends are rejected. */
  close(): void {
    if (this.currentState === "closed") return;
    this.stop(new ClientClosed("the client was closed"), { code: 1000, reason: "closed by the client" });
  }

  /**
   * Sends a private chat message as the logged-in user. It resolves once the log has it
   * durably; until then it is retransmitted (same `msgkey`) on every session and after each
   * ack timeout, so it is delivered once whatever the network does.
   */
  send(message: OutgoingMessage): Promise<SendReceipt> {
    if (this.currentState === "closed") return Promise.reject(new ClientClosed("the client is closed"));
    const { body, promise, isNew } = this.outbox.add(message);
    if (isNew && this.isOnline()) this.transmit(body.msgkey);
    return promise;
  }

  /** Pulls now (as a notify would); resolves once a sync has caught up (the next, if offline). */
  syncNow(): Promise<void> {
    const caughtUp = new Promise<void>((resolve) => this.caughtUpWaiters.push(resolve));
    this.requestSync();
    return caughtUp;
  }

  /** Deletes a message for this user (HTTP), then emits `deleted`. */
  async deleteMessage(msgId: number): Promise<void> {
    const { error, response } = await this.http.DELETE("/v1/mailbox/messages/{msg_id}", {
      params: { path: { msg_id: msgId } },
    });
    if (!response.ok) throw new Error(`deleting message ${msgId}: ${response.status} ${JSON.stringify(error)}`);
    this.emit("deleted", { msgId });
  }

  /** Marks the private mailbox read up to `upTo` (HTTP). */
  async markRead(upTo: number): Promise<void> {
    const { error, response } = await this.http.POST("/v1/mailbox/read", { body: { up_to: upTo } });
    if (!response.ok) throw new Error(`marking read up to ${upTo}: ${response.status} ${JSON.stringify(error)}`);
  }

  private async open(): Promise<void> {
    this.reconnectTimer = undefined;
    this.setState({ state: "connecting" });
    let token: string;
    try {
      if (!this.cursorLoaded) {
        this.cursor = (await this.storage.load(this.storageKey)) ?? undefined;
        this.cursorLoaded = true;
      }
      token = await this.options.token({ refresh: this.refreshToken });
    } catch (error) {
      this.report(error);
      this.scheduleReconnect({ code: 0, reason: "no token" }, this.backoff.next());
      return;
    }
    if (this.currentState === "closed") return;
    const Impl = this.options.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketConstructor | undefined);
    if (!Impl) throw new Error("no WebSocket implementation: pass options.WebSocket (the `ws` package in Node.js)");
    const socket = new Impl(this.options.url) as SocketLike & SocketHandlers;
    this.socket = socket;
    this.armWatchdog(this.options.openTimeoutMs ?? 10_000);
    socket.onopen = () => {
      this.write({
        type: "login",
        token,
        ...(this.options.platform && { platform: this.options.platform }),
        ...(this.options.appVersion && { app_version: this.options.appVersion }),
        ...(this.options.coreLevel !== undefined && { core_level: this.options.coreLevel }),
      });
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      const frame = typeof event.data === "string" ? parseServerFrame(event.data) : undefined;
      if (frame) this.handle(frame);
      else this.report(new Error("the gateway sent a frame the contract does not define"));
    };
    socket.onclose = (event) => {
      if (this.socket === socket) this.ended(event.code, event.reason);
    };
    socket.onerror = () => {
      // A close event follows every error; the reconnect happens there.
    };
  }

  private handle(frame: ServerFrame): void {
    // Any frame proves the connection alive.
    if (this.heartbeatMs > 0) this.armWatchdog(2 * this.heartbeatMs + 1_000);
    switch (frame.type) {
      case "welcome":
        this.heartbeatMs = frame.heartbeat_ms;
        this.refreshToken = false;
        this.backoff.setBounds(frame.reconnect.min_ms, frame.reconnect.max_ms);
        this.backoff.reset();
        this.armWatchdog(2 * this.heartbeatMs + 1_000);
        this.setState({ state: "online", sessionId: frame.session_id });
        for (const body of this.outbox.bodies()) this.transmit(body.msgkey);
        this.requestSync();
        return;
      case "ping":
        this.write({ type: "pong" });
        return;
      case "pong":
        return;
      case "notify":
        this.emit("notify", frame);
        if (frame.source === "private") this.requestSync();
        else this.schedulePublicPull(frame.pull_within_ms);
        return;
      case "synced":
        this.settleSync(frame.id)?.resolve(frame);
        return;
      case "ack":
        this.sendIds.delete(frame.id);
        this.outbox.acknowledged(frame.msgkey);
        return;
      case "error":
        this.handleError(frame);
        return;
    }
  }

  private handleError(frame: ErrorFrame): void {
    const failure = new SendRefused(frame.code, frame.message, frame.field);
    const sync = frame.id === undefined ? undefined : this.settleSync(frame.id);
    if (sync) return sync.reject(failure);
    const msgkey = frame.id === undefined ? undefined : this.sendIds.get(frame.id);
    if (msgkey !== undefined && frame.id !== undefined) {
      this.sendIds.delete(frame.id);
      // "unavailable" is the log being down: the retransmission timer tries again.
      if (frame.code !== "unavailable") this.outbox.refused(msgkey, failure);
      return;
    }
    this.report(failure);
  }

  private transmit(msgkey: string): void {
    const body = this.outbox.body(msgkey);
    if (!body || !this.isOnline()) return;
    const id = this.nextId++;
    this.sendIds.set(id, msgkey);
    this.write({ ...body, id });
    this.outbox.armRetransmit(msgkey, this.options.ackTimeoutMs ?? 5_000, () => this.transmit(msgkey));
  }

  /** Starts a sync, or (one being in flight) makes it go round once more. */
  private requestSync(): void {
    clearTimeout(this.publicPullTimer);
    this.publicPullTimer = undefined;
    if (!this.isOnline()) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    void this.syncUntilCaughtUp().then((caughtUp) => {
      this.syncing = false;
      if (this.syncAgain && this.isOnline()) return this.requestSync();
      if (!caughtUp) return;
      for (const resolve of this.caughtUpWaiters.splice(0)) resolve();
    });
  }

  /** Pulls pages until `has_more` is false; false when the session ended first. */
  private async syncUntilCaughtUp(): Promise<boolean> {
    try {
      let more = true;
      while (more) {
        this.syncAgain = false;
        const page = await this.pull();
        for (const entry of page.messages) {
          if (!this.seen.add(`${entry.source}:${entry.msg_id}`)) continue;
          if (entry.source !== "command") this.emit("message", entry);
          else if (entry.command === "delete") {
            this.emit("recalled", { msgIds: entry.msg_ids ?? [], broadcastId: entry.broadcast_id ?? undefined });
          }
        }
        this.cursor = page.cursor;
        await this.storage.save(this.storageKey, page.cursor);
        more = page.has_more || this.syncAgain;
      }
      return true;
    } catch (error) {
      // The session ended mid-sync (the next welcome syncs again) or the storage failed.
      if (this.isOnline()) this.report(error);
      return false;
    }
  }

  private pull(): Promise<Synced> {
    const id = this.nextId++;
    return new Promise<Synced>((resolve, reject) => {
      const timeoutMs = this.options.requestTimeoutMs ?? 15_000;
      const timer = setTimeout(() => {
        this.settleSync(id)?.reject(new Error(`no answer to sync ${id} in ${timeoutMs} ms`));
        this.drop(4000, "sync timed out");
      }, timeoutMs);
      this.syncs.set(id, { resolve, reject, timer });
      this.write({
        type: "sync",
        id,
        ...(this.cursor !== undefined && { cursor: this.cursor }),
        ...(this.options.syncLimit !== undefined && { limit: this.options.syncLimit }),
      });
    });
  }

  private settleSync(id: number): PendingSync | undefined {
    const pending = this.syncs.get(id);
    if (!pending) return undefined;
    clearTimeout(pending.timer);
    this.syncs.delete(id);
    return pending;
  }

  /** A broadcast wave: pull at a random moment of the window the gateway gave. */
  private schedulePublicPull(withinMs: number): void {
    if (this.publicPullTimer !== undefined) return;
    this.publicPullTimer = setTimeout(() => this.requestSync(), Math.round(this.random() * withinMs));
  }

  private armWatchdog(ms: number): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.drop(4000, `nothing heard for ${ms} ms`), ms);
  }

  /** Gives up on the current socket without waiting for its closing handshake. */
  private drop(code: number, reason: string): void {
    const socket = this.socket;
    if (!socket) return;
    this.ended(code, reason);
    try {
      socket.close(code, reason);
    } catch {
      // Closing a socket that never opened may throw; it is gone either way.
    }
  }

  /** The current socket closed (by the gateway, the network, or `drop`). */
  private ended(code: number, reason: string): void {
    this.detach();
    if (this.currentState === "closed") return;
    if (code === CloseCode.NotAllowed) {
      this.stop(new ClientClosed(`the gateway refused this token for good: ${reason}`), { code, reason });
      return;
    }
    if (code === CloseCode.BadToken) this.refreshToken = true;
    const serverDelay =
      code === CloseCode.Draining
        ? reasonMillis(reason, "reconnect_after_ms")
        : code === CloseCode.TooManyFrames
          ? reasonMillis(reason, "retry_after_ms")
          : undefined;
    const delay = serverDelay ?? this.backoff.next();
    this.scheduleReconnect({ code, reason }, delay);
  }

  private scheduleReconnect(why: { code: number; reason: string }, delayMs: number): void {
    if (this.currentState === "closed") return;
    this.setState({ state: "offline", ...why, retryInMs: delayMs });
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.open(), delayMs);
  }

  /** The network came back, or the page became visible: reconnect now, with a fresh backoff. */
  private wake(): void {
    this.backoff.reset();
    if (this.currentState === "offline" && this.reconnectTimer !== undefined) {
      clearTimeout(this.reconnectTimer);
      void this.open();
    }
  }

  private listenForWakeUps(): void {
    const target = globalThis as { addEventListener?: (type: string, listener: () => void) => void };
    const doc = (globalThis as { document?: Document }).document;
    if (typeof target.addEventListener !== "function" || !doc) return;
    const onOnline = () => this.wake();
    const onVisibility = () => {
      if (doc.visibilityState === "visible") this.wake();
    };
    globalThis.addEventListener("online", onOnline);
    doc.addEventListener("visibilitychange", onVisibility);
    this.removeWakeListeners = () => {
      globalThis.removeEventListener("online", onOnline);
      doc.removeEventListener("visibilitychange", onVisibility);
    };
  }

  private stop(error: Error, why: { code: number; reason: string }): void {
    const socket = this.socket;
    this.detach();
    clearTimeout(this.reconnectTimer);
    this.removeWakeListeners?.();
    this.currentState = "closed";
    this.outbox.abandon(error);
    this.emit("state", { state: "closed", ...why });
    socket?.close(1000, "closed by the client");
  }

  /** Forgets the current socket and everything tied to its session. */
  private detach(): void {
    const socket = this.socket;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    }
    this.socket = undefined;
    clearTimeout(this.watchdog);
    clearTimeout(this.publicPullTimer);
    this.publicPullTimer = undefined;
    this.outbox.disarmAll();
    this.sendIds.clear();
    for (const id of [...this.syncs.keys()]) this.settleSync(id)?.reject(new Error("the session ended"));
  }

  private isOnline(): boolean {
    return this.currentState === "online" && this.socket?.readyState === OPEN;
  }

  private write(frame: ClientFrame): void {
    if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify(frame));
  }

  private setState(change: StateChange): void {
    this.currentState = change.state;
    this.emit("state", change);
  }

  private report(error: unknown): void {
    this.emit("error", error instanceof Error ? error : new Error(String(error)));
  }
}

/** `wss://host/v1/connect` → `https://host`. */
function httpOrigin(url: string): string {
  const parsed = new URL(url);
  parsed.protocol = parsed.protocol === "wss:" ? "https:" : "http:";
  return parsed.origin;
}
