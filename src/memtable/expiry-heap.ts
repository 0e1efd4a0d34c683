/**
 * A binary min-heap of (expiresAt, key): what active expiry looks at next. Entries are never
 * removed when a key is rewritten or deleted (that would need a position per key); a popped entry
 * is checked against the memtable instead, and the heap is rebuilt when such stale ones pile up.
 */
export class ExpiryHeap {
  #times: number[] = [];
  #keys: string[] = [];

  get size(): number {
    return this.#times.length;
  }

  clear(): void {
    this.#times = [];
    this.#keys = [];
  }

  push(expiresAt: number, key: string): void {
    const times = this.#times;
    const keys = this.#keys;
    let at = times.length;
    times.push(expiresAt);
    keys.push(key);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (times[parent] <= expiresAt) break;
      times[at] = times[parent];
      keys[at] = keys[parent];
      at = parent;
    }
    times[at] = expiresAt;
    keys[at] = key;
  }

  /** The earliest time in the heap; only when it is not empty. */
  peekTime(): number {
    return this.#times[0];
  }

  /** Removes the earliest entry and returns its key; only when the heap is not empty. */
  popKey(): string {
    const times = this.#times;
    const keys = this.#keys;
    const top = keys[0];
    const lastTime = times.pop() as number;
    const lastKey = keys.pop() as string;
    const count = times.length;
    if (count === 0) return top;
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= count) break;
      if (child + 1 < count && times[child + 1] < times[child]) child++;
      if (times[child] >= lastTime) break;
      times[at] = times[child];
      keys[at] = keys[child];
      at = child;
    }
    times[at] = lastTime;
    keys[at] = lastKey;
    return top;
  }
}
