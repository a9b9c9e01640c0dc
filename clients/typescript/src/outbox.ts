// The sends not yet acknowledged (the delivery QoS of MobileIMSDK): each is transmitted on
// every new session and again after `ackTimeoutMs` without an ack, always with the same
// `msgkey`, so the gateway deduplicates the retransmissions and the message is delivered
// once (docs/design.md#exactly-once-effect).

import type { SendFrame } from "./protocol.js";

/** A private chat message to send as the logged-in user. */
export interface OutgoingMessage {
  toUid: number;
  content: string;
  /** The idempotency key; generated when omitted. Sending the same key twice sends once. */
  msgkey?: string;
  category?: number;
  /** The message's `type`. */
  messageType?: number;
  priority?: number;
  businessType?: number;
  expireS?: number;
}

/** The answer to a send: the message is durably in the log. */
export interface SendReceipt {
  msgkey: string;
}

/** The gateway refused a send for good (a bad field, sends switched off). */
export class SendRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "SendRefused";
  }
}

type Body = Omit<SendFrame, "id">;

interface Pending {
  body: Body;
  promise: Promise<SendReceipt>;
  resolve: (receipt: SendReceipt) => void;
  reject: (error: Error) => void;
  retransmit?: ReturnType<typeof setTimeout>;
}

export class Outbox {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly newKey: () => string) {}

  /** Queues `message` (or finds it, by `msgkey`); the caller transmits it. */
  add(message: OutgoingMessage): { body: Body; promise: Promise<SendReceipt>; isNew: boolean } {
    const msgkey = message.msgkey ?? this.newKey();
    const existing = this.pending.get(msgkey);
    if (existing) return { body: existing.body, promise: existing.promise, isNew: false };
    const body: Body = {
      type: "send",
      to_uid: message.toUid,
      content: message.content,
      msgkey,
      ...(message.category !== undefined && { category: message.category }),
      ...(message.messageType !== undefined && { message_type: message.messageType }),
      ...(message.priority !== undefined && { priority: message.priority }),
      ...(message.businessType !== undefined && { business_type: message.businessType }),
      ...(message.expireS !== undefined && { expire_s: message.expireS }),
    };
    let resolve!: (receipt: SendReceipt) => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<SendReceipt>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    this.pending.set(msgkey, { body, promise, resolve, reject });
    return { body, promise, isNew: true };
  }

  /** Every unacknowledged send, oldest first. */
  bodies(): Body[] {
    return [...this.pending.values()].map((entry) => entry.body);
  }

  body(msgkey: string): Body | undefined {
    return this.pending.get(msgkey)?.body;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Arms (or re-arms) the retransmission of `msgkey`. */
  armRetransmit(msgkey: string, afterMs: number, retransmit: () => void): void {
    const entry = this.pending.get(msgkey);
    if (!entry) return;
    clearTimeout(entry.retransmit);
    entry.retransmit = setTimeout(retransmit, afterMs);
  }

  /** Stops every retransmission timer (the session ended; the next one transmits again). */
  disarmAll(): void {
    for (const entry of this.pending.values()) clearTimeout(entry.retransmit);
  }

  acknowledged(msgkey: string): void {
    this.settle(msgkey)?.resolve({ msgkey });
  }

  refused(msgkey: string, error: Error): void {
    this.settle(msgkey)?.reject(error);
  }

  /** Rejects every pending send (the client was closed for good). */
  abandon(error: Error): void {
    for (const msgkey of [...this.pending.keys()]) this.refused(msgkey, error);
  }

  private settle(msgkey: string): Pending | undefined {
    const entry = this.pending.get(msgkey);
    if (!entry) return undefined;
    clearTimeout(entry.retransmit);
    this.pending.delete(msgkey);
    return entry;
  }
}
