import type { Codec } from './codec.js';
import type { StoredEntry } from './types.js';
import type { IndexSnapshot } from './memtable/ordered-index.js';
import { isExpired } from './memtable/expiry.js';
import { InvalidArgumentError } from './errors.js';
import { describe } from './codec.js';
import { normalizeRange, type KeyRange, type RangeOptions } from './memtable/range-options.js';

/** A key's entry: its value, its version (the seq that last wrote it) and its expiry (epoch ms, or null). */
export interface Entry<V> {
  value: V;
  version: number;
  expiresAt: number | null;
}

/**
 * The store frozen at one moment, for reads: every call answers as the store was when
 * `readView()` was called, whatever is written after. Taking one costs O(1) (the ordered index is
 * copy-on-write: a later write copies only the few nodes on its path) once the index is built; a
 * view holds what it sees in memory until it is dropped, so drop views you no longer need.
 *
 * Expiry is judged at the view's moment too: a key that expires after it still shows in it.
 */
export class ReadView<V> {
  readonly #entries: IndexSnapshot<StoredEntry>;
  readonly #codec: Codec<unknown>;
  readonly #nowMs: number;
  readonly #checkReadable: () => void;

  /** @internal Made by `DurableKVStore.readView()`. */
  constructor(entries: IndexSnapshot<StoredEntry>, codec: Codec<unknown>, nowMs: number, checkReadable: () => void) {
    this.#entries = entries;
    this.#codec = codec;
    this.#nowMs = nowMs;
    this.#checkReadable = checkReadable;
  }

  /** @internal Whether every key in the view is ASCII (false can also mean "not known"). */
  get asciiKeysOnly(): boolean {
    return this.#entries.asciiOnly;
  }

  /** The key's value in the view, or undefined. */
  get(key: string): V | undefined {
    const entry = this.#live(key);
    return entry === undefined ? undefined : (this.#codec.fromStored(entry.value) as V);
  }

  has(key: string): boolean {
    return this.#live(key) !== undefined;
  }

  getEntry(key: string): Entry<V> | undefined {
    const entry = this.#live(key);
    if (entry === undefined) return undefined;
    return {
      value: this.#codec.fromStored(entry.value) as V,
      version: entry.version,
      expiresAt: entry.expiresAt === 0 ? null : entry.expiresAt,
    };
  }

  /** The view's entries in a range, in key order; options as the store's `range` (checked at the call). */
  range(options?: RangeOptions): IterableIterator<[string, V]> {
    return decoded(this.#walk(options), this.#codec);
  }

  keys(options?: RangeOptions): IterableIterator<string> {
    return keysOf(this.#walk(options));
  }

  values(options?: RangeOptions): IterableIterator<V> {
    return valuesOf(decoded<V>(this.#walk(options), this.#codec));
  }

  /**
   * @internal The range walk with each entry made into an item by `map`, in one generator (no
   * [key, value] pair made between): what the abstract-level adapter's iterators walk.
   */
  mapped<T>(options: RangeOptions | undefined, map: (key: string, value: V) => T): IterableIterator<T> {
    return mappedEntries(this.#walk(options), this.#codec, map);
  }

  #live(key: string): StoredEntry | undefined {
    this.#checkReadable();
    if (typeof key !== 'string') throw new InvalidArgumentError(`key must be a string, got ${describe(key)}`);
    const entry = this.#entries.get(key);
    return entry === undefined || isExpired(entry.expiresAt, this.#nowMs) ? undefined : entry;
  }

  #walk(options: RangeOptions | undefined): IterableIterator<[string, StoredEntry]> {
    this.#checkReadable();
    const nowMs = this.#nowMs;
    return this.#entries.range(keyRangeOf(options), (entry) => !isExpired(entry.expiresAt, nowMs));
  }
}

/** Range options checked once and normalised: a bad one is ERR_INVALID_ARG, as every argument of the API. */
export function keyRangeOf(options: RangeOptions | undefined): KeyRange {
  try {
    return normalizeRange(options);
  } catch (error) {
    if (error instanceof TypeError) throw new InvalidArgumentError(error.message, { cause: error });
    throw error;
  }
}

export function* decoded<V>(entries: IterableIterator<[string, StoredEntry]>, codec: Codec<unknown>): IterableIterator<[string, V]> {
  for (const [key, entry] of entries) yield [key, codec.fromStored(entry.value) as V];
}

function* mappedEntries<V, T>(
  entries: IterableIterator<[string, StoredEntry]>,
  codec: Codec<unknown>,
  map: (key: string, value: V) => T,
): IterableIterator<T> {
  for (const [key, entry] of entries) yield map(key, codec.fromStored(entry.value) as V);
}

export function* keysOf<T>(entries: IterableIterator<[string, T]>): IterableIterator<string> {
  for (const [key] of entries) yield key;
}

export function* valuesOf<T>(entries: IterableIterator<[string, T]>): IterableIterator<T> {
  for (const [, value] of entries) yield value;
}
