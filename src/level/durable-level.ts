import { AbstractLevel, AbstractSnapshot, type AbstractDatabaseOptions } from 'abstract-level';
import { DurableKVStore, type BatchOperation } from '../store.js';
import type { StoreOptions } from '../options.js';
import type { ReadView } from '../read-view.js';
import { InvalidArgumentError, NoStoreError, StoreExistsError, type DurableKVError } from '../errors.js';
import { batchOpsMaxDefault } from '../limits.js';
import { NodeFileSystem } from '../fs/node-file-system.js';
import type { FileSystem } from '../fs/file-system.js';
import { classifyDirectory, lockFileName } from '../format/file-names.js';
import { DurableIterator, DurableKeyIterator, DurableValueIterator, type LevelIteratorOptions } from './iterators.js';
import { storeRange, type LevelRangeOptions, type ViewHandle } from './cursor.js';
import { type LevelData, type LevelFormat, levelValue, storeKey, storeValue } from './key-codec.js';

/**
 * `new DurableLevel(location, options)`: abstract-level's options (`keyEncoding`, `valueEncoding`,
 * `createIfMissing`, `errorIfExists`, `passive`) and the store's (`sync`, `fs`, limits, …). The
 * store's own `valueEncoding` is not an option here: values are always stored as bytes.
 */
export interface DurableLevelOptions<K, V> extends Omit<StoreOptions, 'valueEncoding'> {
  keyEncoding?: AbstractDatabaseOptions<K, V>['keyEncoding'];
  valueEncoding?: AbstractDatabaseOptions<K, V>['valueEncoding'];
  createIfMissing?: boolean;
  errorIfExists?: boolean;
  passive?: boolean;
  /** Types only: the key and value types of the default encodings. */
  readonly _types?: [K, V];
}

interface OpenOptions {
  createIfMissing?: boolean;
  errorIfExists?: boolean;
}

interface FormatOptions {
  keyEncoding: LevelFormat;
  valueEncoding: LevelFormat;
  snapshot?: unknown;
}

type LevelOperation = { type: 'put'; key: LevelData; value: LevelData } | { type: 'del'; key: LevelData };

/**
 * What the adapter declares to abstract-level (and to every Level module that reads `db.supports`).
 * Encodings: 'utf8', 'buffer' and 'view' are native (keys and values reach the adapter as given and
 * are stored as bytes); abstract-level transcodes the rest ('json', 'hex', 'base64', …) through them.
 */
const manifest = {
  encodings: { utf8: true, buffer: true, view: true },
  implicitSnapshots: true,
  explicitSnapshots: true,
  seek: true,
  getSync: true,
  has: true,
  permanence: true,
  createIfMissing: true,
  errorIfExists: true,
  // Reads are synchronous lookups in memory: there is nothing for an abort signal to cut short.
  signals: { iterators: false },
} as const;

/**
 * durable-kv as an abstract-level database: the Level ecosystem (level-read-stream, sublevels,
 * indexers, …) on a store whose every acknowledged write is durable under its `sync` policy.
 *
 * ```ts
 * import { DurableLevel } from 'durable-kv/level';
 * const db = new DurableLevel('./data', { valueEncoding: 'json' });
 * await db.put('user:1', { name: 'Ada' });
 * ```
 */
export class DurableLevel<K = string, V = string> extends AbstractLevel<LevelData, K, V> {
  readonly location: string;
  #store: DurableKVStore<Uint8Array> | undefined;
  #batchOpsMax = batchOpsMaxDefault;

  constructor(location: string, options: DurableLevelOptions<K, V> = {}) {
    if (typeof location !== 'string' || location === '') throw new TypeError("The first argument 'location' must be a non-empty string");
    // abstract-level keeps every option and hands them, merged with open()'s, to _open.
    super(manifest, options);
    this.location = location;
  }

  /** The store underneath, while open: its snapshots, change feed, stats and backups are all there. */
  get store(): DurableKVStore<Uint8Array> {
    const store = this.#store;
    if (store === undefined) throw new TypeError('DurableLevel.store: the database is not open');
    return store;
  }

  /** @internal abstract-level's hook. Options: the constructor's and open()'s; the store takes the ones it knows and ignores the rest. */
  async _open(options: OpenOptions & Omit<StoreOptions, 'valueEncoding'>): Promise<void> {
    const { createIfMissing, errorIfExists, ...storeOptions } = options;
    this.#batchOpsMax = storeOptions.batchOpsMax ?? batchOpsMaxDefault;
    const exists = await holdsStore(this.location, storeOptions.fs ?? new NodeFileSystem());
    if (exists === 'leveldb') throw new InvalidArgumentError(leveldbMessage(this.location));
    if (!exists && createIfMissing === false) throw new NoStoreError(this.location);
    if (exists && errorIfExists === true) throw new StoreExistsError(this.location);
    try {
      const store = await DurableKVStore.open(this.location, { ...storeOptions, valueEncoding: 'binary' });
      this.#store = store as unknown as DurableKVStore<Uint8Array>;
    } catch (error) {
      if ((error as DurableKVError).code === 'ERR_STORE_LOCKED') throw lockedError(error);
      throw error;
    }
  }

  /** @internal abstract-level's hook. */
  async _close(): Promise<void> {
    const store = this.#store;
    this.#store = undefined;
    await store?.close();
  }

  /** @internal abstract-level's hook. */
  async _get(key: LevelData, options: FormatOptions): Promise<LevelData | undefined> {
    return this._getSync(key, options);
  }

  /** @internal abstract-level's hook. */
  _getSync(key: LevelData, options: FormatOptions): LevelData | undefined {
    const value = this.#reader(options).get(storeKey(key));
    return value === undefined ? undefined : levelValue(value, options.valueEncoding);
  }

  /** @internal abstract-level's hook. */
  async _getMany(keys: LevelData[], options: FormatOptions): Promise<Array<LevelData | undefined>> {
    const reader = this.#reader(options);
    return keys.map((key) => {
      const value = reader.get(storeKey(key));
      return value === undefined ? undefined : levelValue(value, options.valueEncoding);
    });
  }

  /** @internal abstract-level's hook. */
  async _has(key: LevelData, options: FormatOptions): Promise<boolean> {
    return this.#reader(options).has(storeKey(key));
  }

  /** @internal abstract-level's hook. */
  async _hasMany(keys: LevelData[], options: FormatOptions): Promise<boolean[]> {
    const reader = this.#reader(options);
    return keys.map((key) => reader.has(storeKey(key)));
  }

  /** @internal abstract-level's hook. */
  async _put(key: LevelData, value: LevelData): Promise<void> {
    await this.store.put(storeKey(key), storeValue(value));
  }

  /** @internal abstract-level's hook. */
  async _del(key: LevelData): Promise<void> {
    await this.store.delete(storeKey(key));
  }

  /** @internal abstract-level's hook. One WAL record: every operation is applied, or none. */
  async _batch(operations: LevelOperation[]): Promise<void> {
    const ops = operations.map(
      (op): BatchOperation<Uint8Array> =>
        op.type === 'put' ? { type: 'put', key: storeKey(op.key), value: storeValue(op.value) } : { type: 'delete', key: storeKey(op.key) },
    );
    await this.store.batch(ops);
  }

  /** @internal abstract-level's hook. One `deleteRange` record; with a snapshot, the keys the snapshot holds in the range. */
  async _clear(options: LevelRangeOptions & { snapshot?: unknown }): Promise<void> {
    if (options.snapshot === undefined || options.snapshot === null) {
      await this.store.deleteRange(storeRange(options, true));
      return;
    }
    const keys = [...this.viewFor(options)().keys(storeRange(options, true))];
    const batchOpsMax = this.#batchOpsMax;
    for (let i = 0; i < keys.length; i += batchOpsMax) {
      await this.store.batch(keys.slice(i, i + batchOpsMax).map((key) => ({ type: 'delete' as const, key })));
    }
  }

  /** @internal abstract-level's hook. */
  _iterator(options: LevelIteratorOptions): DurableIterator {
    return new DurableIterator(this as never, options);
  }

  /** @internal abstract-level's hook. */
  _keys(options: LevelIteratorOptions): DurableKeyIterator {
    return new DurableKeyIterator(this as never, options);
  }

  /** @internal abstract-level's hook. */
  _values(options: LevelIteratorOptions): DurableValueIterator {
    return new DurableValueIterator(this as never, options);
  }

  /** @internal abstract-level's hook. */
  _snapshot(options: object): DurableSnapshot {
    return new DurableSnapshot(this.store.readView(), options);
  }

  /**
   * @internal
   * The view an iterator walks: its explicit snapshot's, asked for at the first read (abstract-level
   * refuses a closed snapshot then), or the store frozen now (the implicit snapshot).
   */
  viewFor(options: { snapshot?: unknown }): ViewHandle {
    const snapshot = options.snapshot;
    if (snapshot instanceof DurableSnapshot) return () => snapshot.view;
    const view = this.store.readView();
    return () => view;
  }

  /** Point reads: an explicit snapshot's view, or the store itself (a point read needs no freezing). */
  #reader(options: { snapshot?: unknown }): ReadView<Uint8Array> | DurableKVStore<Uint8Array> {
    const snapshot = options.snapshot;
    return snapshot instanceof DurableSnapshot ? snapshot.view : this.store;
  }
}

// abstract-level's type declarations omit AbstractSnapshot's constructor (it takes `{ owner }`).
const SnapshotBase = AbstractSnapshot as unknown as new (options: object) => AbstractSnapshot;

/** `db.snapshot()`: the store frozen at the call (a `ReadView`), for reads and iterators that pass it. */
export class DurableSnapshot extends SnapshotBase {
  #view: ReadView<Uint8Array> | undefined;

  constructor(view: ReadView<Uint8Array>, options: object) {
    super(options);
    this.#view = view;
  }

  /** The frozen view; abstract-level refuses a closed snapshot before any read reaches here. */
  get view(): ReadView<Uint8Array> {
    const view = this.#view;
    if (view === undefined) throw new TypeError('DurableSnapshot: the snapshot is closed');
    return view;
  }

  /** @internal abstract-level's hook. Lets the view go, so the entries only it holds can be collected. */
  async _close(): Promise<void> {
    this.#view = undefined;
  }
}

/**
 * Whether `dir` holds a store (its lock file, a WAL segment or a snapshot), none (a missing
 * directory holds none), or a LevelDB database (`CURRENT` and a `MANIFEST-*`), which durable-kv
 * cannot read: opening the store there would show an empty database beside the user's data.
 */
async function holdsStore(dir: string, fs: FileSystem): Promise<boolean | 'leveldb'> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw error;
  }
  const listing = classifyDirectory(names);
  if (listing.segments.length > 0 || listing.snapshots.length > 0) return true;
  if (names.includes('CURRENT') && names.some((name) => name.startsWith('MANIFEST-'))) return 'leveldb';
  return names.includes(lockFileName);
}

function leveldbMessage(dir: string): string {
  return (
    `${dir} holds a LevelDB database (CURRENT, MANIFEST-*), which durable-kv cannot read: ` +
    'copy its entries into a new directory (see the README, "Moving data from classic-level")'
  );
}

/** The store is open elsewhere: Level's code for it (`LEVEL_LOCKED`), the store's error as the cause. */
function lockedError(cause: unknown): Error {
  const error = new Error((cause as Error).message, { cause }) as Error & { code: string };
  error.code = 'LEVEL_LOCKED';
  return error;
}
