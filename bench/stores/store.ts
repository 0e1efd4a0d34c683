/** What every store adapter offers the workloads. Values are 100-byte strings, keys 16-byte strings. */
export interface BenchStore {
  /** Resolves once the write is acknowledged: durable when opened with `durable: true`. */
  put(key: string, value: string): Promise<unknown>;
  /** A point read. Every adapter reads synchronously (the abstract-level stores through getSync). */
  get(key: string): string | undefined;
  /** Bulk prefill of `count` entries, as fast as the store allows; durable once it resolves. */
  load(count: number, key: (i: number) => string, value: (i: number) => string): Promise<void>;
  close(): Promise<void>;
  /**
   * W8: walks the entries with key ≥ `gte` in key order, at most `limit` of them, reading every key
   * and value (an entry counts only if its value is non-empty, so no value can be left undecoded),
   * and returns how many it walked. Synchronous except for the abstract-level stores (classic-level,
   * durable-level, memory-level), whose iterators are async.
   */
  range?(gte: string, limit: number): number | Promise<number>;
  /** durable-kv only: a manual snapshot. */
  snapshot?(): Promise<void>;
  /** Store-specific facts worth keeping in the results (e.g. durable-kv's recovery report). */
  info?(): Record<string, unknown>;
  /** Cumulative counters (durable-kv with BENCH_COMMIT_STATS=1: group commits and fsyncs). */
  counters?(): Record<string, number>;
}

export interface OpenOptions {
  /** true: a put resolves only once it is on disk (fsynced). false: no fsync at all. */
  durable: boolean;
  /** durable-kv: automatic snapshots (default: the store's default). */
  autoSnapshot?: boolean;
}

export type StoreName =
  | 'durable-kv'
  | 'durable-kv-cas'
  | 'durable-kv-rmw'
  | 'durable-level'
  | 'raw'
  | 'lmdb'
  | 'classic-level'
  | 'memory-level'
  | 'better-sqlite3';

/**
 * `durable-kv-cas`: durable-kv with every put conditional (`ifAbsent`), no read before it;
 * `durable-kv-rmw`: on the version read just before it (a read-modify-write).
 */
export const storeNames: readonly StoreName[] = [
  'durable-kv',
  'durable-kv-cas',
  'durable-kv-rmw',
  'durable-level',
  'raw',
  'lmdb',
  'classic-level',
  'memory-level',
  'better-sqlite3',
];
/**
 * Issue 14: durable-kv through its abstract-level adapter (`src/level`), and memory-level (the
 * abstract-level machinery over an in-memory tree, no disk) as the floor of what any abstract-level
 * database pays. They measure the adapter, not a store: they run in W2, W3, W4 and W8 only.
 */
export const levelStores: readonly StoreName[] = ['durable-level', 'memory-level'];
/** The stores every workload that compares stores runs (W1, W5): all but the adapter's. */
export const coreStoreNames: readonly StoreName[] = storeNames.filter((name) => !levelStores.includes(name));
/** The stores that count as peers ("best peer"); durable-kv and the raw baseline do not. */
export const peerNames: readonly StoreName[] = ['lmdb', 'classic-level', 'better-sqlite3'];

export type StoreOpener = (dir: string, options: OpenOptions) => Promise<BenchStore>;

/** Loads a store's adapter (and the store's own modules): do this before timing an open. */
export async function storeOpener(name: StoreName): Promise<StoreOpener> {
  switch (name) {
    case 'durable-kv':
      return (await import('./durable-kv.js')).open;
    case 'durable-kv-cas':
      return (await import('./durable-kv-cas.js')).open;
    case 'durable-kv-rmw':
      return (await import('./durable-kv-rmw.js')).open;
    case 'raw':
      return (await import('./raw.js')).open;
    case 'lmdb':
      return (await import('./lmdb.js')).open;
    case 'durable-level':
      return (await import('./durable-level.js')).open;
    case 'classic-level':
      return (await import('./classic-level.js')).open;
    case 'memory-level':
      return (await import('./memory-level.js')).open;
    case 'better-sqlite3':
      return (await import('./better-sqlite3.js')).open;
  }
}

export async function openStore(name: StoreName, dir: string, options: OpenOptions): Promise<BenchStore> {
  return (await storeOpener(name))(dir, options);
}

/** Prefill in chunks, so no store has to hold a million-op batch at once. */
export const loadChunk = 10_000;
