import { performance } from 'node:perf_hooks';
import { assert } from '../errors.js';
import type { PendingBlock, StoredEntry } from '../types.js';
import { compareKeys } from './key-order.js';

export type { PendingBlock } from '../types.js';

/**
 * The part of the snapshot an open has not decoded yet, so that a store of a million keys opens
 * once its files are read and checked, not once a million `Map.set`s are done (they are most of the
 * load: about 1 µs each on a shared VM).
 *
 * The invariant that keeps reads and writes right: **no key of the map lies in the key range of a
 * pending block**. Whoever reads a key the map lacks, or writes or deletes any key, first loads the
 * pending block whose range holds it (`loadCovering`); so a pending block's entries are exactly what
 * the store holds in its range, and the store's size is the map's plus `entries`. Anything that needs
 * every entry at once (ranges, a snapshot's freeze, a read view) loads the rest first (`loadAll`).
 * No pending block holds an entry with an expiry: recovery loads those at once, so the expiry actor
 * sees every key it must expire.
 */
export class PendingBlocks {
  readonly #blocks: Array<PendingBlock | undefined> = [];
  /** Every block's first key, loaded or not: what a lookup binary-searches. */
  readonly #firstKeys: string[] = [];
  /** The first index that may still be pending: blocks load front to back in the background. */
  #front = 0;
  #entries = 0;
  #loadMs = 0;

  /** Time spent decoding blocks so far (recovery reports what its WAL replay spent on them). */
  get loadMs(): number {
    return this.#loadMs;
  }

  /** Entries not yet in the map. */
  get entries(): number {
    return this.#entries;
  }

  add(block: PendingBlock): void {
    assert(block.entries > 0 && compareKeys(block.firstKey, block.lastKey) <= 0, 'a pending block holds its keys in order');
    const last = this.#blocks.at(-1);
    assert(last === undefined || compareKeys(last.lastKey, block.firstKey) < 0, 'pending blocks come in key order, without overlap');
    this.#blocks.push(block);
    this.#firstKeys.push(block.firstKey);
    this.#entries += block.entries;
  }

  /** Loads the pending block whose key range holds `key`, if there is one; whether one was loaded. */
  loadCovering(key: string, into: (key: string, entry: StoredEntry) => void): boolean {
    if (this.#entries === 0) return false;
    const index = this.#covering(key);
    if (index === -1) return false;
    this.#load(index, into);
    return true;
  }

  /** Loads the next pending block in key order; whether any is left after it. */
  loadNext(into: (key: string, entry: StoredEntry) => void): boolean {
    while (this.#front < this.#blocks.length && this.#blocks[this.#front] === undefined) this.#front++;
    if (this.#front < this.#blocks.length) this.#load(this.#front, into);
    return this.#entries > 0;
  }

  loadAll(into: (key: string, entry: StoredEntry) => void): void {
    while (this.loadNext(into));
  }

  /** Forgets every pending block (recovery's sink, when the snapshot that delivered them failed). */
  clear(): void {
    this.#blocks.length = 0;
    this.#firstKeys.length = 0;
    this.#front = 0;
    this.#entries = 0;
  }

  #load(index: number, into: (key: string, entry: StoredEntry) => void): void {
    const block = this.#blocks[index];
    assert(block !== undefined, 'a pending block loads once');
    // Out of the list first: `into` may write, and a write looks for a pending block to load.
    this.#blocks[index] = undefined;
    this.#entries -= block.entries;
    const startedAtMs = performance.now();
    let loaded = 0;
    block.load((key, entry) => {
      loaded++;
      into(key, entry);
    });
    assert(loaded === block.entries, 'a pending block loads as many entries as it was read with');
    this.#loadMs += performance.now() - startedAtMs;
  }

  /** The index of the pending block whose [firstKey, lastKey] holds `key`, or -1. */
  #covering(key: string): number {
    // The only block that can hold `key` is the last one whose first key is ≤ it (blocks do not overlap).
    const firstKeys = this.#firstKeys;
    // Keys past the snapshot's last key (new keys appended in order: a log of inserts) skip the search.
    const lastBlock = this.#blocks.at(-1);
    if (lastBlock !== undefined && compareKeys(key, lastBlock.lastKey) > 0) return -1;
    let low = 0;
    let high = firstKeys.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareKeys(firstKeys[mid], key) <= 0) low = mid + 1;
      else high = mid;
    }
    const block = low === 0 ? undefined : this.#blocks[low - 1];
    return block !== undefined && compareKeys(key, block.lastKey) <= 0 ? low - 1 : -1;
  }
}
