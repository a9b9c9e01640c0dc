// @tidings/client: the client SDK of Tidings. `TidingsClient` holds the notify-pull long
// connection; `createHttpClient` is the typed HTTP API. README.md in this folder shows both.

export { TidingsClient, ClientClosed } from "./client.js";
export type {
  ConnectionState,
  SocketLike,
  StateChange,
  TidingsClientOptions,
  TidingsEvents,
  WebSocketConstructor,
} from "./client.js";
export { createHttpClient } from "./http.js";
export type { HttpOptions, TidingsHttp, TokenProvider, paths } from "./http.js";
export { SendRefused } from "./outbox.js";
export type { OutgoingMessage, SendReceipt } from "./outbox.js";
export { CloseCode } from "./protocol.js";
export type { MailboxEntry, Notify, Platform, ServerFrame, ClientFrame } from "./protocol.js";
export { MemoryStorage, WebStorage } from "./storage.js";
export type { CursorStorage } from "./storage.js";
export { Backoff } from "./backoff.js";
