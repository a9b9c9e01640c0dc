// The identities of the messages already handed to the app, so that one message is never
// emitted twice (a page pulled again after a lost answer, an HTTP sync beside the socket's).
// Bounded: the oldest identities are forgotten first; the cursor guards what is older.

export class SeenMessages {
  private readonly keys = new Set<string>();

  constructor(private readonly capacity: number) {}

  /** Records `key`; false when it was already there. */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.capacity) {
      const oldest = this.keys.values().next().value as string;
      this.keys.delete(oldest);
    }
    return true;
  }
}
