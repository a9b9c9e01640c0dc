// The frames of the long-connection contract (v1), as `schemas/asyncapi.yaml` describes them:
// JSON text frames `{"type": ...}` over the WebSocket at GET /v1/connect; a frame with an `id`
// gets its answer with the same `id`. See docs/design.md, "Long-connection contract".

import type { components } from "./generated/openapi.js";

/** One message of a pull, private or public (the OpenAPI schema `MailboxEntry`). */
export type MailboxEntry = components["schemas"]["MailboxEntry"];
/** A client platform, as audiences and the identity headers spell it. */
export type Platform = components["schemas"]["Platform"];

export interface Welcome {
  type: "welcome";
  session_id: string;
  heartbeat_ms: number;
  reconnect: { min_ms: number; max_ms: number };
  server_time_us: number;
}

/** A signal to sync, never the message: at most one pending per source, the newest wins. */
export type Notify =
  | { type: "notify"; source: "private"; up_to: number }
  | { type: "notify"; source: "public"; seq: number; pull_within_ms: number };

export interface Synced {
  type: "synced";
  id: number;
  messages: MailboxEntry[];
  cursor: string;
  has_more: boolean;
}

export interface Ack {
  type: "ack";
  id: number;
  msgkey: string;
}

export type ErrorCode = "unknown_type" | "invalid_field" | "already_logged_in" | "forbidden" | "unavailable";

export interface ErrorFrame {
  type: "error";
  id?: number;
  code: ErrorCode;
  message: string;
  field?: string;
}

export type ServerFrame = Welcome | { type: "ping" } | { type: "pong" } | Notify | Synced | Ack | ErrorFrame;

export interface LoginFrame {
  type: "login";
  token: string;
  platform?: Platform;
  app_version?: string;
  core_level?: number;
}

export interface SyncFrame {
  type: "sync";
  id: number;
  cursor?: string;
  limit?: number;
}

export interface SendFrame {
  type: "send";
  id: number;
  to_uid: number;
  content: string;
  msgkey: string;
  category?: number;
  message_type?: number;
  priority?: number;
  business_type?: number;
  expire_s?: number;
}

export type ClientFrame = LoginFrame | { type: "ping" } | { type: "pong" } | SyncFrame | SendFrame;

/** The close codes of the contract. */
export const CloseCode = {
  /** No `login` within the gateway's login timeout. */
  NoLogin: 4001,
  /** A frame that is not JSON text, or a first frame that is not `login`. */
  Malformed: 4400,
  /** A bad or expired token: get a fresh one, then reconnect. */
  BadToken: 4401,
  /** The token may not open a connection (not a user token): reconnecting will not help. */
  NotAllowed: 4403,
  /** Silent for two heartbeats. */
  HeartbeatTimeout: 4408,
  /** A frame above the gateway's size cap. */
  TooLarge: 4413,
  /** Too many frames a second; the reason carries `retry_after_ms=N`. */
  TooManyFrames: 4429,
  /** The gateway is stopping; the reason carries `reconnect_after_ms=N`. */
  Draining: 4503,
} as const;

const SERVER_FRAME_TYPES = new Set(["welcome", "ping", "pong", "notify", "synced", "ack", "error"]);

/** The frame a text message holds, or `undefined` for anything the contract does not define. */
export function parseServerFrame(text: string): ServerFrame | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const type = (value as { type?: unknown }).type;
  return typeof type === "string" && SERVER_FRAME_TYPES.has(type) ? (value as ServerFrame) : undefined;
}

/** The `key=N` number a close reason carries (`retry_after_ms`, `reconnect_after_ms`). */
export function reasonMillis(reason: string, key: string): number | undefined {
  const match = new RegExp(`(?:^|[ ,;])${key}=(\\d+)`).exec(reason);
  return match ? Number(match[1]) : undefined;
}
