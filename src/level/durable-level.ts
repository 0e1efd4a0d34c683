import { AbstractLevel, AbstractSnapshot, type AbstractDatabaseOptions } from 'abstract-level';
import { DurableKVStore, type BatchOperation } from '../store.js';
import type { StoreOptions } from '../options.js';
import type { ReadView } from '../read-view.js';
import { InvalidArgumentError, NoStoreError, StoreClosedError, StoreExistsError, type DurableKVError } from '../errors.js';
import { batchOpsMaxDefault, keyBytesMaxDefault, levelClearKeyBytesMax, recordBytesMax, valueBytesMaxDefault } from '../limits.js';
import { NodeFileSystem } from '../fs/node-file-system.js';
import type { FileSystem } from '../fs/file-system.js';
import { classifyDirectory } from '../format/file-names.js';
import { DurableIterator, DurableKeyIterator, DurableValueIterator, type LevelIteratorOptions } from './iterators.js';
import { deleteChunks } from './delete-chunks.js';
import { storeRange, type LevelRangeOptions, type ViewHandle } from './cursor.js';
import { checkedStoreKey, type LevelData, type LevelFormat, levelValue, storeKey, storeValue } from './key-codec.js';

/**
 * `new DurableLevel(location, options)`: abstract-level's options (`keyEncoding`, `valueEncoding`,
 * `createIfMissing`, `errorIfExists`, `passive`) and the store's (`sync`, `fs`, limits, …). The
 * store's own `valueEncoding` is not an option here: the adapter stores values its own way (key-codec.ts).
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
 * are stored so that they read back in any format); abstract-level transcodes the rest ('json', 'hex',
 * 'base64', …) through them.
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
  #store: DurableKVStore<string> | undefined;
  /** The user's limits, in the Level key's and value's own bytes (the store gets room for their stored form). */
  #limits = { keyBytesMax: keyBytesMaxDefault, valueBytesMax: valueBytesMaxDefault, batchOpsMax: batchOpsMaxDefault };

  constructor(location: string, options: DurableLevelOptions<K, V> = {}) {
    if (typeof location !== 'string' || location === '') throw new TypeError("The first argument 'location' must be a non-empty string");
    // abstract-level keeps every option and hands them, merged with open()'s, to _open.
    super(manifest, options);
    this.location = location;
  }

  /**
   * The store underneath, while open: its snapshots, change feed, stats and backups are all there.
   * ERR_STORE_CLOSED when there is none (before open, or after a close that failed: see `_close`).
   */
  get store(): DurableKVStore<string> {
    const store = this.#store;
    if (store === undefined) throw new StoreClosedError('the database is not open');
    return store;
  }

  /** @internal abstract-level's hook. Options: the constructor's and open()'s; the store takes the ones it knows and ignores the rest. */
  async _open(options: OpenOptions & Omit<StoreOptions, 'valueEncoding'>): Promise<void> {
    const { createIfMissing, errorIfExists, ...storeOptions } = options;
    this.#limits = {
      keyBytesMax: storeOptions.keyBytesMax ?? keyBytesMaxDefault,
      valueBytesMax: storeOptions.valueBytesMax ?? valueBytesMaxDefault,
      batchOpsMax: storeOptions.batchOpsMax ?? batchOpsMaxDefault,
    };
    const exists = await holdsStore(this.location, storeOptions.fs ?? new NodeFileSystem());
    if (exists === 'leveldb') throw new InvalidArgumentError(leveldbMessage(this.location));
    if (!exists && createIfMissing === false) throw new NoStoreError(this.location);
    if (exists && errorIfExists === true) throw new StoreExistsError(this.location);
    try {
      const limits = storedFormLimits(this.#limits);
      this.#store = (await DurableKVStore.open(this.location, {
        ...storeOptions,
        ...limits,
        valueEncoding: 'utf8',
      })) as DurableKVStore<string>;
    } catch (error) {
      if ((error as DurableKVError).code === 'ERR_STORE_LOCKED') throw lockedError(error);
      throw error;
    }
  }

  /**
   * @internal abstract-level's hook. The store always ends closed, even when its close fails (the
   * last fdatasync failed: writes since the one before may not be durable). That failure is not
   * hidden: close() rejects, and abstract-level then keeps the status 'open'. Every call fails with
   * ERR_STORE_CLOSED until close() is called again, which resolves; open() then reopens the store.
   */
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
  // Not async: abstract-level awaits what these return; one promise per write, not two.
  _put(key: LevelData, value: LevelData): Promise<unknown> {
    const { keyBytesMax, valueBytesMax } = this.#limits;
    return this.store.put(checkedStoreKey(key, keyBytesMax), storeValue(value, valueBytesMax));
  }

  /** @internal abstract-level's hook. */
  _del(key: LevelData): Promise<unknown> {
    return this.store.delete(checkedStoreKey(key, this.#limits.keyBytesMax));
  }

  /** @internal abstract-level's hook. One WAL record: every operation is applied, or none. */
  _batch(operations: LevelOperation[]): Promise<unknown> {
    const { keyBytesMax, valueBytesMax } = this.#limits;
    const ops = operations.map(
      (op): BatchOperation<string> =>
        op.type === 'put'
          ? { type: 'put', key: checkedStoreKey(op.key, keyBytesMax), value: storeValue(op.value, valueBytesMax) }
          : { type: 'delete', key: checkedStoreKey(op.key, keyBytesMax) },
    );
    return this.store.batch(ops);
  }

  /** @internal abstract-level's hook. One `deleteRange` record; with a snapshot, the keys the snapshot holds in the range. */
  async _clear(options: LevelRangeOptions & { snapshot?: unknown }): Promise<void> {
    if (options.snapshot === undefined || options.snapshot === null) {
      await this.store.deleteRange(storeRange(options, true));
      return;
    }
    const keys = [...this.viewFor(options)().keys(storeRange(options, true))];
    for (const chunk of deleteChunks(keys, this.#limits.batchOpsMax, levelClearKeyBytesMax)) {
      await this.store.batch(chunk.map((key) => ({ type: 'delete' as const, key })));
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
  #reader(options: { snapshot?: unknown }): ReadView<string> | DurableKVStore<string> {
    const snapshot = options.snapshot;
    return snapshot instanceof DurableSnapshot ? snapshot.view : this.store;
  }
}

// abstract-level's type declarations omit AbstractSnapshot's constructor (it takes `{ owner }`).
const SnapshotBase = AbstractSnapshot as unknown as new (options: object) => AbstractSnapshot;

/** `db.snapshot()`: the store frozen at the call (a `ReadView`), for reads and iterators that pass it. */
export class DurableSnapshot extends SnapshotBase {
  #view: ReadView<string> | undefined;

  constructor(view: ReadView<string>, options: object) {
    super(options);
    this.#view = view;
  }

  /** The frozen view; abstract-level refuses a closed snapshot before any read reaches here. */
  get view(): ReadView<string> {
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
  // Not the LOCK file alone: LevelDB leaves one (and its LOG) where it found no database, and a
  // store that was ever opened has a WAL segment.
  if (listing.segments.length > 0 || listing.snapshots.length > 0) return true;
  return names.includes('CURRENT') && names.some((name) => name.startsWith('MANIFEST-')) ? 'leveldb' : false;
}

/**
 * The store's limits for the user's: room for the stored form of keys and values (a byte at or
 * above 0x80 takes two, and a bytes value has a two-character tag; see key-codec.ts), kept under
 * the WAL record limit. The adapter checks the user's limits itself.
 */
function storedFormLimits(limits: { keyBytesMax: number; valueBytesMax: number }): { keyBytesMax: number; valueBytesMax: number } {
  const keyBytesMax = Math.min(2 * limits.keyBytesMax, recordBytesMax / 64);
  const valueBytesMax = Math.min(2 * limits.valueBytesMax + 2, recordBytesMax / 2);
  return { keyBytesMax: Math.max(keyBytesMax, limits.keyBytesMax), valueBytesMax: Math.max(valueBytesMax, limits.valueBytesMax) };
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
