import { EventEmitter } from 'eventemitter3';
import { BehaviorSubject, of, type Observable } from 'rxjs';
import { createActor, type Actor } from 'xstate';
import { Engine, type EngineStats, type ReplicationHook } from './engine.js';
import { scrubError, type VerifyResult } from './recovery/scrub.js';

export type { EngineStats, ReplicationHook } from './engine.js';
export type { CommitGate, CommittedGroup } from './commit-gate.js';
import { lifecycleMachine, publicState, type StoreState } from './lifecycle.js';
import { fileSystem, resolveOptions, snapshotGenerationsOption, type StoreOptions } from './options.js';
import { checkKey, prepareDelete, preparePut, describe } from './codec.js';
import type { DeleteRangeResult, EncodableOp, IntentOp, SnapshotResult, StoredEntry, WriteResult } from './types.js';
import {
  batchChecksOf,
  checksOf,
  expiryOf,
  checkBatchOpFields,
  optionsObject,
  type DeleteOptions,
  type Expiry,
  type PutOptions,
  type TtlOptions,
} from './write-options.js';
import { isExpired } from './memtable/expiry.js';
import { encodeRangeSpec } from './format/range-spec.js';
import type { RangeOptions } from './memtable/range-options.js';
import { decoded, keyRangeOf, keysOf, ReadView, valuesOf, type Entry } from './read-view.js';

export type { DeleteRangeResult, RangeOptions, WriteResult };
export type { DeleteOptions, PutOptions, TtlOptions } from './write-options.js';
import { assert, InvalidArgumentError, StoreClosedError, type StoreFailedError } from './errors.js';
import { repairStore, type RepairReport } from './repair.js';
import type { OperationEvent, StoreEvents } from './events.js';
import type { StoreSignal } from './signals.js';
import type { Change } from './change-feed.js';
import type { RecoveryReport } from './recovery/report.js';
import type { FileSystem } from './fs/file-system.js';

/** The value type `get` returns for the chosen `valueEncoding`. */
export type ValueFor<O> = O extends { valueEncoding: 'binary' } ? Uint8Array : O extends { valueEncoding: 'json' } ? unknown : string;

export type BatchOperation<V> =
  | ({ type: 'put'; key: string; value: V } & TtlOptions & { keepTtl?: boolean })
  | { type: 'delete'; key: string }
  | { type: 'increment'; key: string; delta?: number };

export type { Entry } from './read-view.js';

/** `batch`'s options: checks that must all hold, or nothing is written. */
export interface BatchOptions {
  checks?: Array<{ key: string; version: number } | { key: string; absent: true }>;
}

/** What `settings` returns. */
export interface StoreSettings {
  valueEncoding: 'utf8' | 'json' | 'binary';
  keyBytesMax: number;
  valueBytesMax: number;
  sync: 'always' | 'interval' | 'never';
}

/** Each store's replication hook: reached only through `replicationHook`, never from the public API. */
const replicationHooks = new WeakMap<object, () => ReplicationHook>();

/**
 * The one place `durable-kv/replication` reaches into a store (see `ReplicationHook`): not part of
 * the public API.
 */
export function replicationHook(store: DurableKVStore<unknown>): ReplicationHook {
  const hook = replicationHooks.get(store);
  assert(hook !== undefined, 'replicationHook of something that is not a DurableKVStore');
  return hook();
}

/** What `stats()` returns: the lifecycle state and the engine's figures. */
export interface StoreStats extends EngineStats {
  state: StoreState;
}

/**
 * An embedded, persistent key-value store: the data lives in memory, every write goes through a
 * write-ahead log and is durable (per `sync`) before its promise resolves.
 *
 * ```ts
 * const store = await DurableKVStore.open('./data');
 * await store.put('user:1', 'Ada');
 * store.get('user:1'); // 'Ada'
 * await store.close();
 * ```
 */
export class DurableKVStore<V = string> extends EventEmitter<StoreEvents> {
  readonly #engine: Engine;
  readonly #actor: Actor<typeof lifecycleMachine>;
  readonly #state$: BehaviorSubject<StoreState>;
  /** The same as `#state$.value`, kept in a plain field: `get` checks it on every call. */
  #state: StoreState = 'opening';
  #closeRequested = false;
  #closed: Promise<void> | undefined;

  private constructor(dir: string, options: StoreOptions) {
    super();
    const resolved = resolveOptions(options);
    for (const [name, listener] of Object.entries(resolved.listeners ?? {})) {
      if (typeof listener === 'function') this.on(name as keyof StoreEvents, listener as (...args: unknown[]) => void);
    }
    this.#engine = new Engine(dir, resolved, this, (error) => this.#fail(error));
    replicationHooks.set(this, () => this.#engine.replication);
    this.#actor = createActor(lifecycleMachine, { input: { steps: this.#engine } });
    this.#state$ = new BehaviorSubject<StoreState>('opening');
    this.#actor.subscribe((snapshot) => this.#onTransition(publicState(String(snapshot.value))));
  }

  /**
   * The store's value encoding and size limits, as resolved at open: what a layer above (the RESP
   * server) checks its own input against.
   */
  get settings(): StoreSettings {
    const { valueEncoding, keyBytesMax, valueBytesMax, sync } = this.#engine.options;
    return { valueEncoding, keyBytesMax, valueBytesMax, sync };
  }

  /** Opens (creating if missing) the store in `dir`: takes the lock, recovers, and resolves when ready. */
  static async open<O extends StoreOptions = StoreOptions>(dir: string, options?: O): Promise<DurableKVStore<ValueFor<O>>> {
    if (typeof dir !== 'string' || dir.length === 0) throw new InvalidArgumentError(`dir must be a non-empty string, got ${describe(dir)}`);
    const store = new DurableKVStore<ValueFor<O>>(dir, options ?? {});
    await store.#opened();
    return store;
  }

  /**
   * Cuts the log at the first corruption so the store can open again, and reports what it dropped.
   * Only on explicit request: what it drops may include acknowledged writes. A damaged newest
   * snapshot with an older generation behind it is restored with no loss; without one it is
   * salvaged (every intact block kept, `repaired.salvaged.lost` says what was not). Then a fresh snapshot is
   * written so the store has its generations again (`snapshotGenerations`: the store's setting,
   * default 2; best effort: `freshSnapshotSeq` says whether it was written).
   */
  static async repair(dir: string, options?: { fs?: FileSystem; snapshotGenerations?: number }): Promise<RepairReport> {
    if (typeof dir !== 'string' || dir.length === 0) throw new InvalidArgumentError(`dir must be a non-empty string, got ${describe(dir)}`);
    if (options !== undefined && (typeof options !== 'object' || options === null))
      throw new InvalidArgumentError('options must be an object');
    const fs = fileSystem(options?.fs);
    const snapshotGenerations = snapshotGenerationsOption(options?.snapshotGenerations);
    const report = await repairStore(dir, { fs });
    if (report.repaired?.restoredFrom === undefined && report.repaired?.salvaged === undefined) return report;
    return { ...report, freshSnapshotSeq: await DurableKVStore.#snapshotNow(dir, fs, snapshotGenerations) };
  }

  /**
   * Writes a fresh snapshot: after a repair restored from an older generation, only that one is left
   * with its WAL, and one more damaged byte would find no copy. 'binary' keeps every value's bytes as
   * they are, whatever encoding wrote them. Best effort: the repaired store is consistent without it
   * (another process may have opened it meanwhile, or the disk may be full): undefined then.
   */
  static async #snapshotNow(dir: string, fs: FileSystem, snapshotGenerations: number): Promise<number | undefined> {
    try {
      const store = await DurableKVStore.open(dir, { fs, valueEncoding: 'binary', autoSnapshot: false, snapshotGenerations });
      try {
        return (await store.snapshot()).seq;
      } finally {
        await store.close();
      }
    } catch {
      return undefined;
    }
  }

  get state(): StoreState {
    return this.#state;
  }

  /** The current state on subscribe, then each transition; completes once closed. */
  get state$(): Observable<StoreState> {
    // A completed BehaviorSubject replays nothing: a subscriber after close must still get 'closed'.
    if (this.#state$.value === 'closed') return of<StoreState>('closed');
    return this.#state$.asObservable();
  }

  /** Completed operations (put, delete, batch, snapshot). Costs nothing while nobody subscribes. */
  get operations$(): Observable<OperationEvent> {
    return this.#engine.operations.asObservable();
  }

  /**
   * The engine's own signals — group commits, fsync latencies, WAL size, snapshot start/finish,
   * lifecycle transitions — after the recovery report of this open. Free while nobody subscribes.
   */
  get signals$(): Observable<StoreSignal> {
    return this.#engine.signals$;
  }

  /**
   * Committed changes with seq > `since`, in seq order: first replayed from the WAL on disk, then
   * live as they commit, with no gap or duplicate in between. A consumer that stores the last seq it
   * processed resumes from there after a restart. Errors with ERR_CHANGES_UNAVAILABLE if a snapshot
   * already compacted the records after `since` (see the `walRetentionMs` option).
   */
  changes(options: { since?: number } = {}): Observable<Change<V>> {
    this.#checkReadable();
    if (typeof options !== 'object' || options === null)
      throw new InvalidArgumentError(`changes takes { since }, got ${describe(options)}`);
    const since = options.since ?? 0;
    if (!Number.isSafeInteger(since) || since < 0) throw new InvalidArgumentError('changes: since must be a non-negative integer seq');
    return this.#engine.changes<V>(since);
  }

  /** What recovery found and did when this store opened. */
  get recoveryReport(): RecoveryReport {
    const report = this.#engine.recoveryReport;
    assert(report !== undefined, 'a store is handed out only once recovery has finished');
    return report;
  }

  get size(): number {
    this.#checkReadable();
    return this.#engine.memtable.size;
  }

  /** The key's value, or undefined when it does not exist (an expired key does not). */
  get(key: string): V | undefined {
    this.#checkReadable();
    checkReadKey(key);
    const entry = this.#engine.memtable.get(key);
    if (entry === undefined || (entry.expiresAt !== 0 && entry.expiresAt <= this.#engine.clock.now())) return undefined;
    return this.#engine.codec.fromStored(entry.value) as V;
  }

  has(key: string): boolean {
    this.#checkReadable();
    checkReadKey(key);
    return this.#liveEntry(key) !== undefined;
  }

  /**
   * The key's value with its version (the seq of the record that last wrote it: a put, an increment,
   * an expire) and its expiry (epoch ms, or null), or undefined when it does not exist.
   */
  getEntry(key: string): Entry<V> | undefined {
    this.#checkReadable();
    checkReadKey(key);
    const entry = this.#liveEntry(key);
    if (entry === undefined) return undefined;
    const value = this.#engine.codec.fromStored(entry.value) as V;
    return { value, version: entry.version, expiresAt: entry.expiresAt === 0 ? null : entry.expiresAt };
  }

  #liveEntry(key: string): StoredEntry | undefined {
    const entry = this.#engine.memtable.get(key);
    return entry === undefined || isExpired(entry.expiresAt, this.#engine.clock.now()) ? undefined : entry;
  }

  /**
   * The entries in a range of keys, in key order (UTF-8 byte order): `gt`/`gte` and `lt`/`lte`
   * bound it, `prefix` restricts it further, `reverse` walks from the top, `limit` counts the
   * entries returned. What it yields is the store as it was at the call, whatever is written while
   * it is walked. The first range read builds the ordered index (O(n)); each after costs O(log n).
   * Bad options throw ERR_INVALID_ARG at the call.
   */
  range(options?: RangeOptions): IterableIterator<[string, V]> {
    this.#checkReadable();
    return decoded<V>(this.#rangeOf(options), this.#engine.codec);
  }

  /** Every key in the range (none: every key), in order; as `range`. */
  keys(options?: RangeOptions): IterableIterator<string> {
    this.#checkReadable();
    return keysOf(this.#rangeOf(options));
  }

  /** Every value in the range (none: every key's), in key order; as `range`. */
  values(options?: RangeOptions): IterableIterator<V> {
    this.#checkReadable();
    return valuesOf(decoded<V>(this.#rangeOf(options), this.#engine.codec));
  }

  /** Every entry in the range (none: every entry), in key order; as `range`. */
  entries(options?: RangeOptions): IterableIterator<[string, V]> {
    return this.range(options);
  }

  // These run at the call, not at the first next(): the state and the options are checked, and the
  // store's state is pinned, when the caller asks (a generator would do neither until iterated).
  // The clock is read at the call too: an entry that expires while the caller walks still shows.
  #rangeOf(options: RangeOptions | undefined): IterableIterator<[string, StoredEntry]> {
    return this.#engine.memtable.range(keyRangeOf(options), this.#engine.clock.now());
  }

  /**
   * The store frozen now, for reads: `get`, `has`, `getEntry` and ranges on the view answer as the
   * store was at this call, whatever is written after (an explicit snapshot, as LevelDB's
   * `GetSnapshot`). O(1) once the ordered index is built (the first range read or view builds it).
   */
  readView(): ReadView<V> {
    this.#checkReadable();
    return new ReadView<V>(this.#engine.memtable.pin(), this.#engine.codec, this.#engine.clock.now(), () => this.#checkReadable());
  }

  /**
   * Resolves `{ ok: true, seq }` once the write is durable under the sync policy and visible to
   * `get`. Options: `ttlMs` or `expiresAt` (epoch ms) set an expiry, `keepTtl` keeps the key's (a put
   * without them clears it); `ifVersion` / `ifAbsent` make it conditional: checked against every
   * write sequenced before it, a failed check resolves `{ ok: false, conflicts: [key] }` and writes
   * nothing.
   */
  put(key: string, value: V, options?: PutOptions): Promise<WriteResult> {
    // Not an async function: one promise per write, not two (this is the hot path).
    try {
      this.#checkWritable();
      const op = preparePut(key, value, this.#engine.codec, this.#engine.options);
      if (options === undefined) return this.#engine.write('put', [op]);
      const checked = optionsObject<PutOptions>(options, 'put');
      const ttl = expiryOf(checked, this.#engine.clock, 'put');
      const checks = checksOf(key, checked, 'put');
      const intentOp = withExpiry(op, ttl);
      if (checks.length === 0 && intentOp.type === 'put') return this.#engine.write('put', [intentOp]);
      return this.#engine.write('put', [], { checks, ops: [intentOp] });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Deleting a missing key is not an error (it is still logged, so it orders with other writes).
   * `ifVersion`: delete only that version; otherwise `{ ok: false, conflicts: [key] }`.
   */
  delete(key: string, options?: DeleteOptions): Promise<WriteResult> {
    try {
      this.#checkWritable();
      const op = prepareDelete(key, this.#engine.options);
      if (options === undefined) return this.#engine.write('delete', [op]);
      const checks = checksOf(key, optionsObject<DeleteOptions>(options, 'delete'), 'delete');
      if (checks.length === 0) return this.#engine.write('delete', [op]);
      return this.#engine.write('delete', [], { checks, ops: [op] });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Applies every operation or none, also across crashes: the batch is one WAL record. Puts take
   * `ttlMs` / `expiresAt` / `keepTtl`; `{ type: 'increment', key, delta }` adds to a number. With
   * `checks`, nothing is written unless every check holds: `{ ok: false, conflicts }` names the
   * keys whose checks failed.
   */
  batch(operations: ReadonlyArray<BatchOperation<V>>, options?: BatchOptions): Promise<WriteResult> {
    // Like put: the engine's own promise, so acknowledgements of all writes keep their seq order.
    try {
      this.#checkWritable();
      const ops = this.#prepareBatch(operations);
      const checks = batchChecksOf(optionsObject<BatchOptions>(options, 'batch').checks, (key) => this.#checkedKey(key));
      const plain = checks.length === 0 && ops.every(isEncodable);
      if (plain && ops.length === 0) return this.#engine.writeNothing();
      if (plain) return this.#engine.write('batch', ops as EncodableOp[]);
      return this.#engine.write('batch', [], { checks, ops });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Adds `delta` (a safe integer, default 1) to the key's number, atomically: resolves the new
   * value. A missing key counts as 0. The value must be a decimal integer ('utf8'), an integer
   * ('json') or ASCII decimal digits ('binary'); anything else, or a result beyond ±(2^53 − 1),
   * rejects with ERR_NOT_A_NUMBER and writes nothing. It keeps the key's expiry unless given one.
   */
  increment(key: string, delta = 1, options?: TtlOptions): Promise<number> {
    try {
      this.#checkWritable();
      const keyBytes = checkKey(key, this.#engine.options);
      if (!Number.isSafeInteger(delta)) throw new InvalidArgumentError(`increment: delta must be a safe integer, got ${describe(delta)}`);
      const ttl = expiryOf(optionsObject<TtlOptions>(options, 'increment'), this.#engine.clock, 'increment');
      const expiresAt = ttl.expiresAt === 0 ? undefined : ttl.expiresAt;
      return this.#engine.write<number>('increment', [], { checks: [], ops: [{ type: 'increment', key, keyBytes, delta, expiresAt }] });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Sets the key's expiry: `{ ttlMs }` from now, `{ expiresAt }` (epoch ms), or `null` to remove it.
   * Keeps the value; gives the key a new version. `{ ok: false, conflicts: [key] }` if the key does
   * not exist.
   */
  expire(key: string, expiry: TtlOptions | null): Promise<WriteResult> {
    try {
      this.#checkWritable();
      const keyBytes = checkKey(key, this.#engine.options);
      if (expiry !== null && (typeof expiry !== 'object' || (expiry.ttlMs === undefined && expiry.expiresAt === undefined))) {
        throw new InvalidArgumentError('expire takes { ttlMs }, { expiresAt } or null');
      }
      const expiresAt = expiry === null ? 0 : expiryOf(optionsObject<TtlOptions>(expiry, 'expire'), this.#engine.clock, 'expire').expiresAt;
      return this.#engine.write('expire', [], { checks: [], ops: [{ type: 'expireExisting', key, keyBytes, expiresAt }] });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Deletes every key in the range (options as for `range`; `{}` is every key) as one atomic WAL
   * record, which holds the range, not the keys: resolves `{ ok: true, seq, deleted }` once it is
   * durable, `deleted` counting the keys it removed. Its keys are those in the range when it is
   * applied, in seq order after every write before it (and the same on replay).
   */
  deleteRange(options: RangeOptions): Promise<DeleteRangeResult> {
    try {
      this.#checkWritable();
      if (options === undefined) throw new InvalidArgumentError('deleteRange takes range options; {} deletes every key');
      const range = keyRangeOf(options);
      const spec = encodeRangeSpec(range);
      return this.#engine.write<DeleteRangeResult>('deleteRange', [{ type: 'deleteRange', range, spec, keyBytes: spec.byteLength }]);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Reads every file of the running store and checks every checksum, in the background, one file at
   * a time: snapshots (older generations included) and WAL segments (the live one as far as it was
   * written when the call began). Resolves with what it found; damage is also emitted as an 'error'
   * event (ERR_STORE_CORRUPT, naming the file and offset), so a service learns of a bad sector while
   * an older generation can still repair it. Changes nothing.
   */
  async verify(): Promise<VerifyResult> {
    this.#checkReadable();
    const result = await this.#engine.verify();
    const damage = scrubError(result);
    if (damage !== undefined) this.emit('error', damage);
    return result;
  }

  /** Writes a snapshot of the map and compacts the WAL behind it. */
  async snapshot(): Promise<SnapshotResult> {
    this.#checkWritable();
    return this.#engine.snapshot('manual');
  }

  /**
   * A consistent copy of the store as of one moment, taken while writes go on, into `toDir`
   * (created if missing; it must not hold a store): one snapshot file, checked and fsynced, that
   * `DurableKVStore.open(toDir)` opens. Resolves with what was written (`seq`: the last write it
   * holds). A failure (the target's disk full, say) rejects the backup and leaves the store as it was.
   */
  async backup(toDir: string): Promise<SnapshotResult> {
    this.#checkWritable();
    if (typeof toDir !== 'string' || toDir.length === 0)
      throw new InvalidArgumentError(`backup: toDir must be a non-empty string, got ${describe(toDir)}`);
    return this.#engine.backup(toDir);
  }

  stats(): StoreStats {
    this.#checkReadable();
    return { state: this.state, ...this.#engine.stats() };
  }

  /** Drains pending writes, syncs and releases the directory. Calling it again is fine. */
  close(): Promise<void> {
    this.#closeRequested = true;
    this.#closed ??= new Promise<void>((resolve, reject) => {
      const subscription = this.#actor.subscribe((snapshot) => {
        if (snapshot.value !== 'closed') return;
        subscription.unsubscribe();
        const { closeError } = snapshot.context;
        if (closeError !== undefined) reject(closeError);
        else resolve();
      });
      this.#actor.send({ type: 'CLOSE' });
    });
    return this.#closed;
  }

  #checkedKey(key: unknown): string {
    checkKey(key, this.#engine.options);
    return key as string;
  }

  #prepareBatch(operations: ReadonlyArray<BatchOperation<V>>): IntentOp[] {
    if (!Array.isArray(operations)) throw new InvalidArgumentError(`batch takes an array of operations, got ${describe(operations)}`);
    const { batchOpsMax } = this.#engine.options;
    if (operations.length > batchOpsMax)
      throw new InvalidArgumentError(`batch has ${operations.length} operations, over batchOpsMax (${batchOpsMax})`);
    // Array.from, not map: map skips the holes of a sparse array, which would reach the encoder as undefined.
    const ops = Array.from(operations, (operation, index) => {
      if (typeof operation !== 'object' || operation === null) throw new InvalidArgumentError(`batch[${index}] is not an operation`);
      const where = `batch[${index}]`;
      checkBatchOpFields(operation, where);
      if (operation.type === 'put') {
        const op = preparePut(operation.key, operation.value, this.#engine.codec, this.#engine.options);
        return withExpiry(op, expiryOf(operation, this.#engine.clock, where));
      }
      if (operation.type === 'delete') return prepareDelete(operation.key, this.#engine.options);
      if (operation.type === 'increment') {
        const keyBytes = checkKey(operation.key, this.#engine.options);
        const delta = operation.delta ?? 1;
        if (!Number.isSafeInteger(delta)) throw new InvalidArgumentError(`${where}: delta must be a safe integer, got ${describe(delta)}`);
        return { type: 'increment', key: operation.key, keyBytes, delta, expiresAt: undefined } satisfies IntentOp;
      }
      throw new InvalidArgumentError(`${where}.type must be 'put', 'delete' or 'increment'`);
    });
    return ops;
  }

  #checkReadable(): void {
    if (this.#state === 'closed') throw new StoreClosedError();
  }

  #checkWritable(): void {
    if (this.#closeRequested || this.#state === 'closed') throw new StoreClosedError();
    const failure = this.#engine.failure;
    if (failure !== undefined) throw failure;
  }

  #fail(error: StoreFailedError): void {
    this.#actor.send({ type: 'FAIL', error });
    this.emit('error', error);
  }

  #onTransition(state: StoreState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#state$.next(state);
    this.emit('state', state);
    this.#engine.signal(() => ({ type: 'state', state }));
    if (state === 'closed') {
      this.#state$.complete();
      this.#engine.completeStreams();
    }
  }

  #opened(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const subscription = this.#actor.subscribe((snapshot) => {
        if (snapshot.value === 'ready') resolve();
        else if (snapshot.value === 'openFailed') reject(snapshot.context.error);
        else return;
        queueMicrotask(() => subscription.unsubscribe());
      });
      this.#actor.start();
    });
  }
}

/** A checked put with its expiry: a plain put (expiresAt set or 0), or one that keeps the key's. */
function withExpiry(op: Extract<EncodableOp, { type: 'put' }>, ttl: Expiry): IntentOp {
  if (!ttl.keepTtl) return ttl.expiresAt === 0 ? op : { ...op, expiresAt: ttl.expiresAt };
  const { key, keyBytes, value, valueBytes } = op;
  return { type: 'putKeepTtl', key, keyBytes, value, valueBytes };
}

/** Whether an op needs no resolving: it goes to the WAL as it is. */
function isEncodable(op: IntentOp): op is Extract<IntentOp, EncodableOp> {
  return op.type === 'put' || op.type === 'delete';
}

/** A read takes any string (one that could not be stored is simply absent), but not a non-string. */
function checkReadKey(key: unknown): void {
  if (typeof key !== 'string') throw new InvalidArgumentError(`key must be a string, got ${describe(key)}`);
}
