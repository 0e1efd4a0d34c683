/**
 * SCAN's cursors. Redis clients treat a cursor as an integer (node-redis parses it with `Number`),
 * but a position in ordered keys is a key. So a cursor is a number the server hands out for "after
 * this key", remembered here: a scan resumes strictly after the last key it returned, and so returns
 * every key present throughout it exactly once, whatever is added or removed meanwhile.
 *
 * Bounded: the least recently used positions are forgotten past `scanCursorsMax`; resuming a forgotten cursor is
 * an error rather than a silently wrong scan. Cursors are shared by the server's connections (a
 * client may resume on another connection, as with Redis) and die with the server.
 */
export const scanCursorsMax = 65_536;

export class ScanCursors {
  readonly #after = new Map<number, string>();
  /** Cursors count up from a random start below 2^48, so a stale cursor from a previous run is unlikely to resume anything. */
  #next = 1 + Math.floor(Math.random() * 2 ** 48);

  /** A new cursor resuming after `key`. */
  save(key: string): number {
    const cursor = this.#next++;
    this.#after.set(cursor, key);
    if (this.#after.size > scanCursorsMax) this.#after.delete(this.#after.keys().next().value as number);
    return cursor;
  }

  /** The key a cursor resumes after, or undefined if it is unknown (never given, or forgotten). */
  resume(cursor: number): string | undefined {
    const key = this.#after.get(cursor);
    if (key === undefined) return undefined;
    // Used again: the newest now (a client may retry a SCAN whose reply it lost).
    this.#after.delete(cursor);
    this.#after.set(cursor, key);
    return key;
  }
}
