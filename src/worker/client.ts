import { MessagePort } from 'node:worker_threads';
import type {
  BatchOperation,
  BatchOptions,
  DeleteOptions,
  DeleteRangeResult,
  Entry,
  PutOptions,
  RangeOptions,
  StoreStats,
  TtlOptions,
  WriteResult,
} from '../store.js';
import type { SnapshotResult } from '../types.js';
import { InvalidArgumentError, StoreClosedError, invariantBroken } from '../errors.js';
import { fromWireError, isStoreReply, sendable, type RangeKind, type RangePage, type StoreMethod, type StoreRequest } from './protocol.js';

/**
 * A remote range's options: those of the store's `range`, and `pageSize`, how many entries each
 * round trip to the owner brings (default `rangePageSizeDefault`, 1000; at most `rangePageSizeMax`).
 */
export interface RemoteRangeOptions extends RangeOptions {
  pageSize?: number;
}

/**
 * A remote range: an async iterator over the walk's items (read it with `for await`). `return()`
 * ends the walk early and resolves once the owner has freed what it held for it; a `break` out of
 * `for await` calls it.
 */
export interface RangeWalk<T> extends AsyncIterableIterator<T> {
  next(): Promise<IteratorResult<T>>;
  return(): Promise<IteratorResult<T>>;
  [Symbol.asyncIterator](): RangeWalk<T>;
}

interface PendingCall {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/**
 * A store owned by another thread, reached through a MessagePort (see `connectStore`). The same
 * methods as `DurableKVStore`, all async since each call crosses threads; errors arrive as the same
 * classes with the same `code`.
 *
 * Calls are applied on the owner in the order they are made. A write resolves once it is durable
 * and visible to `get` there, exactly as on the owner. If the connection closes (this `close()`, the
 * owner's server stopping, the owner closing the store) pending calls reject with ERR_STORE_CLOSED:
 * a write pending at that moment may or may not have been applied.
 *
 * Values cross as structured clones: strings, JSON-able values and Uint8Arrays arrive intact (binary
 * values come back as Buffers); a class instance arrives as a plain object, so a `toJSON` method is
 * not seen by a 'json' store. A value that cannot be cloned (a function, a symbol) is refused with
 * ERR_INVALID_ARG without being sent.
 *
 * Ranges (`range`, `keys`, `values`, `entries`) are async iterables that bring the range in pages
 * (`pageSize`, default 1000). The owner takes the store's view of the range when the call reaches
 * it, so the whole walk is the store as of the call, whatever is written while it is read; it holds
 * that view under a cursor until the walk ends, is returned (a `break` out of `for await`) or the
 * connection closes. A range that fits in its first page holds none.
 */
export class RemoteStore<V = string> {
  readonly #port: MessagePort;
  readonly #pending = new Map<number, PendingCall>();
  #nextId = 1;
  #closed = false;
  readonly #closedPromise: Promise<void>;
  /**
   * Frees the owner's cursor of a walk that was dropped unfinished, neither read to its end nor
   * returned (a `for await` always does one or the other): once it is garbage, not before.
   */
  readonly #abandoned = new FinalizationRegistry<number>((cursor) => {
    if (!this.#closed) this.#call('rangeClose', [cursor]).catch(() => {});
  });

  constructor(port: MessagePort) {
    if (!(port instanceof MessagePort)) throw new InvalidArgumentError('connectStore needs a MessagePort');
    this.#port = port;
    this.#closedPromise = new Promise<void>((resolve) => {
      port.on('close', () => {
        this.#onClose();
        resolve();
      });
    });
    port.on('message', (message: unknown) => this.#onReply(message));
    // The port keeps this thread alive only while calls are pending: a worker that is done exits
    // even if it never calls close().
    port.unref();
  }

  /** True once the connection has closed; every call then rejects with ERR_STORE_CLOSED. */
  get closed(): boolean {
    return this.#closed;
  }

  /** With options as on the owner: TTL, `keepTtl`, `ifVersion` / `ifAbsent` (a conflict resolves `{ ok: false, conflicts }`). */
  put(key: string, value: V, options?: PutOptions): Promise<WriteResult> {
    const transfer: ArrayBuffer[] = [];
    return this.#call('put', [key, sendable(value, transfer), options], transfer) as Promise<WriteResult>;
  }

  async get(key: string): Promise<V | undefined> {
    return received(await this.#call('get', [key])) as V | undefined;
  }

  /** The key's value, version and expiry, or undefined when it does not exist. */
  async getEntry(key: string): Promise<Entry<V> | undefined> {
    const entry = (await this.#call('getEntry', [key])) as Entry<unknown> | undefined;
    return entry === undefined ? undefined : { ...entry, value: received(entry.value) as V };
  }

  has(key: string): Promise<boolean> {
    return this.#call('has', [key]) as Promise<boolean>;
  }

  /** Deleting a missing key is not an error. `ifVersion`: delete only that version. */
  delete(key: string, options?: DeleteOptions): Promise<WriteResult> {
    return this.#call('delete', [key, options]) as Promise<WriteResult>;
  }

  /** Every operation or none, as on the owner; with `checks`, only if every one holds. */
  batch(operations: ReadonlyArray<BatchOperation<V>>, options?: BatchOptions): Promise<WriteResult> {
    const transfer: ArrayBuffer[] = [];
    const ops = Array.isArray(operations) ? operations.map((op: unknown) => sendableOp(op, transfer)) : operations;
    return this.#call('batch', [ops, options], transfer) as Promise<WriteResult>;
  }

  /** Adds `delta` (default 1) to the key's number and resolves the new value; ERR_NOT_A_NUMBER as on the owner. */
  increment(key: string, delta?: number, options?: TtlOptions): Promise<number> {
    return this.#call('increment', [key, delta, options]) as Promise<number>;
  }

  /** Sets (`{ ttlMs }`, `{ expiresAt }`) or removes (`null`) the key's expiry. */
  expire(key: string, expiry: TtlOptions | null): Promise<WriteResult> {
    return this.#call('expire', [key, expiry]) as Promise<WriteResult>;
  }

  /** Deletes every key in the range, atomically, as on the owner (`{}` is every key). */
  deleteRange(options: RangeOptions): Promise<DeleteRangeResult> {
    return this.#call('deleteRange', [options]) as Promise<DeleteRangeResult>;
  }

  /**
   * The entries in a range, in key order, as the store was when the call reached the owner; see
   * the class's notes on paging. Errors (bad options: ERR_INVALID_ARG) reject the first `next()`.
   */
  range(options?: RemoteRangeOptions): RangeWalk<[string, V]> {
    return this.#walk('entries', options, (keys, values, i) => [keys[i], received(values[i]) as V]);
  }

  /** Every key in the range, in order; as `range`. */
  keys(options?: RemoteRangeOptions): RangeWalk<string> {
    return this.#walk('keys', options, (keys, _values, i) => keys[i]);
  }

  /** Every value in the range, in key order; as `range`. */
  values(options?: RemoteRangeOptions): RangeWalk<V> {
    return this.#walk('values', options, (_keys, values, i) => received(values[i]) as V);
  }

  /** The same as `range`. */
  entries(options?: RemoteRangeOptions): RangeWalk<[string, V]> {
    return this.range(options);
  }

  snapshot(): Promise<SnapshotResult> {
    return this.#call('snapshot', []) as Promise<SnapshotResult>;
  }

  /** A consistent copy of the store into `toDir`, a directory on the owner's side. */
  backup(toDir: string): Promise<SnapshotResult> {
    return this.#call('backup', [toDir]) as Promise<SnapshotResult>;
  }

  stats(): Promise<StoreStats> {
    return this.#call('stats', []) as Promise<StoreStats>;
  }

  /**
   * Closes this end of the port (the owner's store stays open; only the owner closes it). Pending
   * calls reject with ERR_STORE_CLOSED. Resolves once the port has closed; calling it again is fine.
   */
  close(): Promise<void> {
    if (!this.#closed) this.#port.close();
    return this.#closedPromise;
  }

  /** Sends the walk's first request now: the owner takes its view of the range when that arrives. */
  #walk<T>(kind: RangeKind, options: RemoteRangeOptions | undefined, item: ItemOf<T>): RangeWalk<T> {
    let pageSize: unknown;
    let rangeOptions: unknown = options;
    if (typeof options === 'object' && options !== null && 'pageSize' in options) {
      ({ pageSize, ...rangeOptions } = options);
    }
    const first = this.#call('rangeOpen', [kind, rangeOptions, pageSize]) as Promise<RangePage>;
    return new RemoteWalk<T>(first, {
      item,
      next: (cursor) => this.#call('rangeNext', [cursor]) as Promise<RangePage>,
      close: (cursor) => this.#call('rangeClose', [cursor]).then(() => undefined),
      hold: (walk, cursor) => this.#abandoned.register(walk, cursor, walk),
      release: (walk) => this.#abandoned.unregister(walk),
    });
  }

  #call(method: StoreMethod, args: unknown[], transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.#closed) return Promise.reject(new StoreClosedError('the connection to the store is closed'));
    const id = this.#nextId++;
    const request: StoreRequest = { id, method, args };
    try {
      this.#port.postMessage(request, transfer);
    } catch (error) {
      // DataCloneError: nothing was sent.
      return Promise.reject(
        new InvalidArgumentError(`${method} arguments cannot be sent to the store's thread: ${(error as Error).message}`, { cause: error }),
      );
    }
    return new Promise<unknown>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) this.#port.ref();
    });
  }

  #onReply(message: unknown): void {
    if (!isStoreReply(message)) return; // not ours: the owner only sends replies
    const call = this.#pending.get(message.id);
    if (call === undefined) invariantBroken(`reply to ${message.id}, which is not pending`);
    this.#pending.delete(message.id);
    if (this.#pending.size === 0) this.#port.unref();
    if (message.ok) call.resolve(message.result);
    else call.reject(fromWireError(message.error));
  }

  #onClose(): void {
    this.#closed = true;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of pending) call.reject(new StoreClosedError('the connection to the store closed with the call pending'));
  }
}

/** A binary value arrives as a plain Uint8Array; the owner's reads return Buffers. */
function received(value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;
}

/** The walk's item `i` of a page, from the page's parallel keys and values. */
type ItemOf<T> = (keys: string[], values: unknown[], i: number) => T;

interface WalkTransport<T> {
  item: ItemOf<T>;
  next(cursor: number): Promise<RangePage>;
  close(cursor: number): Promise<void>;
  /** The owner holds `cursor` for `walk`: free it if `walk` is dropped. */
  hold(walk: object, cursor: number): void;
  /** The owner holds no cursor for `walk` any more. */
  release(walk: object): void;
}

const walkDone: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * The client's side of a range walk: yields the pages the owner sends, asking for the next one when
 * one is used up. `next()` and `return()` run one at a time, in call order. The owner frees its
 * cursor by itself with the last page; `return()` before then frees it with `rangeClose`; a closed
 * connection frees it on the owner.
 */
class RemoteWalk<T> implements RangeWalk<T> {
  readonly #transport: WalkTransport<T>;
  /** The reply to rangeOpen, until the first next() or return() takes it. */
  #first: Promise<RangePage> | undefined;
  #keys: string[] = [];
  #values: unknown[] = [];
  #length = 0;
  #index = 0;
  /** The owner's cursor while it holds the rest of the walk. */
  #cursor: number | undefined;
  #ended = false;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(first: Promise<RangePage>, transport: WalkTransport<T>) {
    this.#transport = transport;
    this.#first = first;
    // Registered before anything else waits on the reply, so before next() or return() sees it.
    first.then(
      (page) => {
        if (page.cursor !== undefined) transport.hold(this, page.cursor);
      },
      () => {}, // the error is the first next()'s: none if the walk is never read
    );
  }

  [Symbol.asyncIterator](): RangeWalk<T> {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    return this.#enqueue(() => this.#next());
  }

  return(): Promise<IteratorResult<T>> {
    return this.#enqueue(() => this.#return());
  }

  #enqueue<R>(step: () => Promise<R>): Promise<R> {
    const result = this.#queue.then(step);
    this.#queue = result.catch(() => {});
    return result;
  }

  async #next(): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.#ended) return walkDone;
      if (this.#index < this.#length) {
        const value = this.#transport.item(this.#keys, this.#values, this.#index++);
        return { done: false, value };
      }
      const first = this.#first;
      this.#first = undefined;
      const cursor = this.#cursor;
      if (first === undefined && cursor === undefined) {
        this.#end();
        return walkDone;
      }
      let page: RangePage;
      try {
        page = await (first ?? this.#transport.next(cursor as number));
      } catch (error) {
        this.#end(); // the owner freed the cursor, or the connection closed
        throw error;
      }
      this.#keys = page.keys ?? [];
      this.#values = page.values ?? [];
      this.#length = Math.max(this.#keys.length, this.#values.length);
      this.#index = 0;
      this.#cursor = page.cursor;
      if (page.cursor === undefined) this.#transport.release(this); // the owner freed it with this last page
    }
  }

  async #return(): Promise<IteratorResult<T>> {
    const first = this.#first;
    this.#first = undefined;
    let cursor = this.#cursor;
    this.#end();
    if (first !== undefined) {
      cursor = await first.then(
        (page) => page.cursor,
        () => undefined,
      );
      this.#transport.release(this); // held when the reply came, just before this
    }
    if (cursor !== undefined) {
      try {
        await this.#transport.close(cursor);
      } catch (error) {
        if (!(error instanceof StoreClosedError)) throw error; // a closed connection freed it on the owner
      }
    }
    return walkDone;
  }

  #end(): void {
    this.#transport.release(this);
    this.#ended = true;
    this.#cursor = undefined;
    this.#keys = [];
    this.#values = [];
    this.#length = 0;
    this.#index = 0;
  }
}

function sendableOp(op: unknown, transfer: ArrayBuffer[]): unknown {
  if (typeof op !== 'object' || op === null || !('value' in op) || !(op.value instanceof Uint8Array)) return op;
  return { ...op, value: sendable(op.value, transfer) };
}

/**
 * Connects to a store served on the other end of `port` (by `serveStore` or `createStorePort` in the
 * owning thread). `V` is the owner's value type: string for 'utf8', unknown for 'json', Uint8Array
 * for 'binary'.
 */
export function connectStore<V = string>(port: MessagePort): RemoteStore<V> {
  return new RemoteStore<V>(port);
}
