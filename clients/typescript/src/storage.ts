// Where the client keeps its sync cursor, so that a restarted app resumes where it was
// instead of pulling its whole mailbox again. The cursor is opaque: store it as given.

/** A place to keep small strings by key. Either method may be async. */
export interface CursorStorage {
  load(key: string): string | undefined | Promise<string | undefined>;
  save(key: string, value: string): void | Promise<void>;
}

/** Keeps cursors for the life of the process (the default). */
export class MemoryStorage implements CursorStorage {
  private readonly values = new Map<string, string>();

  load(key: string): string | undefined {
    return this.values.get(key);
  }

  save(key: string, value: string): void {
    this.values.set(key, value);
  }
}

/** The browser's `localStorage` (or any Web Storage object). */
export class WebStorage implements CursorStorage {
  constructor(private readonly storage: Storage = globalThis.localStorage) {}

  load(key: string): string | undefined {
    return this.storage.getItem(key) ?? undefined;
  }

  save(key: string, value: string): void {
    this.storage.setItem(key, value);
  }
}
