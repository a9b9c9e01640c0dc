// Reconnect delays: exponential backoff with full jitter (a uniformly random delay between
// zero and the capped exponential), so that clients a gateway dropped together do not come
// back together. The bounds are the server's (`welcome.reconnect`).

export class Backoff {
  private attempt = 0;

  constructor(
    private minMs: number,
    private maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Adopts the server's bounds. */
  setBounds(minMs: number, maxMs: number): void {
    this.minMs = Math.max(0, minMs);
    this.maxMs = Math.max(this.minMs, maxMs);
  }

  /** The delay before the next attempt: uniform in [0, min(max, min * 2^attempt)]. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.minMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 32);
    return Math.round(this.random() * ceiling);
  }

  /** After a session was established, or when the network is back: start small again. */
  reset(): void {
    this.attempt = 0;
  }
}
