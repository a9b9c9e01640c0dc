// A WebSocket stand-in for unit tests: records what the client sends, and lets the test
// play the gateway (open, frames, close) synchronously.

import type { SocketLike } from "../../src/index.js";

export class FakeSocket implements SocketLike {
  readyState = 0;
  readonly sent: Array<Record<string, unknown>> = [];
  closedByClient: { code?: number; reason?: string } | undefined;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(code?: number, reason?: string): void {
    this.readyState = 3;
    this.closedByClient = { ...(code !== undefined && { code }), ...(reason !== undefined && { reason }) };
  }

  /** The gateway accepted the upgrade. */
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  /** The gateway (or the network) closed the socket. */
  serverClose(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** The frames of one type the client sent, in order. */
  frames(type: string): Array<Record<string, unknown>> {
    return this.sent.filter((frame) => frame.type === type);
  }

  lastFrame(type: string): Record<string, unknown> {
    const frames = this.frames(type);
    const last = frames[frames.length - 1];
    if (!last) throw new Error(`no ${type} frame was sent; sent: ${JSON.stringify(this.sent)}`);
    return last;
  }
}

/** A WebSocket constructor whose instances the test can reach, newest last. */
export function fakeNetwork(): { WebSocket: new (url: string) => FakeSocket; sockets: FakeSocket[] } {
  const sockets: FakeSocket[] = [];
  class Recorded extends FakeSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  }
  return { WebSocket: Recorded, sockets };
}
