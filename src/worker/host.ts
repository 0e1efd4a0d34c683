import { MessageChannel, MessagePort } from 'node:worker_threads';
import type { BatchOperation, BatchOptions, DeleteOptions, DurableKVStore, PutOptions, RangeOptions, TtlOptions } from '../store.js';
import type { StoreState } from '../lifecycle.js';
import { InvalidArgumentError, StoreOverloadedError, invariantBroken } from '../errors.js';
import { rangeCursorsMaxDefault, rangePageSizeDefault, rangePageSizeMax, requestsInFlightMaxDefault } from './limits.js';
import {
  isStoreRequest,
  rangeKinds,
  sendable,
  toWireError,
  type RangeKind,
  type RangePage,
  type StoreReply,
  type StoreRequest,
} from './protocol.js';

export interface ServeOptions {
  /**
   * Requests from this port received but not yet answered; beyond it a request is refused with
   * ERR_STORE_OVERLOADED (nothing is applied). Default `requestsInFlightMaxDefault` (4096). A range
   * walk's `rangeClose` is never refused: it only frees.
   */
  requestsInFlightMax?: number;
  /**
   * Range walks from this port that hold a cursor on the owner at once (a walk holds one from its
   * first page until it ends, is returned or the connection closes; one that fits in its first page
   * never does). Opening one more is refused with ERR_STORE_OVERLOADED. Default
   * `rangeCursorsMaxDefault` (64).
   */
  rangeCursorsMax?: number;
}

/** The owner's end of one port, as `serveStore` returns it. */
export interface StoreServer {
  /** Requests received and not yet answered. */
  readonly requestsInFlight: number;
  /** Range walks from this port whose cursor the owner holds. */
  readonly rangeCursorsOpen: number;
  /** Resolves once the server stopped: its port closed (from either side, or after the store closed). */
  readonly stopped: Promise<void>;
  /** Stops serving and closes the port; the store stays open. Calls pending on the client reject with ERR_STORE_CLOSED. */
  close(): void;
}

/**
 * Serves `store` to the client at the other end of `port` (see `connectStore`). The owner keeps the
 * store: it alone opens and closes it. Once the store has closed, the server answers what is still in
 * flight and closes the port, so the client's later calls reject with ERR_STORE_CLOSED at once and
 * neither thread is kept alive by it.
 *
 * Requests are applied in arrival order: each is handed to the store as its message arrives, and the
 * store queues writes FIFO. Replies go out as each completes, matched by id.
 *
 * A range walk's view of the store is taken when its first request arrives and kept under a cursor
 * between pages (at most `rangeCursorsMax` per port); the server frees a cursor with the walk's last
 * page, on the client's `rangeClose`, and all of them when it stops.
 */
export function serveStore<V>(store: DurableKVStore<V>, port: MessagePort, options: ServeOptions = {}): StoreServer {
  if (!(port instanceof MessagePort)) throw new InvalidArgumentError('serveStore needs a MessagePort');
  return new PortServer(store as DurableKVStore<unknown>, port, {
    inFlightMax: positiveOption(options, 'requestsInFlightMax', requestsInFlightMaxDefault),
    cursorsMax: positiveOption(options, 'rangeCursorsMax', rangeCursorsMaxDefault),
  });
}

/**
 * Makes a channel, serves `store` on one end and returns the other, to transfer to a worker:
 * `new Worker(file, { workerData: { port }, transferList: [port] })`. Closing either end stops serving.
 */
export function createStorePort<V>(store: DurableKVStore<V>, options: ServeOptions = {}): MessagePort {
  const { port1, port2 } = new MessageChannel();
  serveStore(store, port1, options);
  return port2;
}

function positiveOption(options: ServeOptions, name: keyof ServeOptions, fallback: number): number {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
  const value = options[name];
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return value;
}

/** A range walk the owner holds for a client: the store's iterator (its view as of the call) and where it stands. */
interface Cursor {
  readonly kind: RangeKind;
  readonly iterator: Iterator<unknown>;
  readonly pageSize: number;
  /** The item after the last page, read to learn whether there is more. */
  lookahead: IteratorResult<unknown> | undefined;
}

class PortServer implements StoreServer {
  readonly #store: DurableKVStore<unknown>;
  readonly #port: MessagePort;
  readonly #inFlightMax: number;
  #inFlight = 0;
  readonly #cursorsMax: number;
  readonly #cursors = new Map<number, Cursor>();
  #nextCursor = 1;
  #storeClosed = false;
  /** close() was called: the port's 'close' event is still to come. */
  #closing = false;
  #stopped = false;
  readonly stopped: Promise<void>;
  #resolveStopped!: () => void;
  readonly #onState = (state: StoreState) => this.#storeStateChanged(state);

  constructor(store: DurableKVStore<unknown>, port: MessagePort, limits: { inFlightMax: number; cursorsMax: number }) {
    this.#store = store;
    this.#port = port;
    this.#inFlightMax = limits.inFlightMax;
    this.#cursorsMax = limits.cursorsMax;
    this.stopped = new Promise<void>((resolve) => (this.#resolveStopped = resolve));
    port.on('message', (message: unknown) => this.#onRequest(message));
    port.on('close', () => this.#stop());
    store.on('state', this.#onState);
    this.#storeStateChanged(store.state);
  }

  get requestsInFlight(): number {
    return this.#inFlight;
  }

  get rangeCursorsOpen(): number {
    return this.#cursors.size;
  }

  close(): void {
    this.#closing = true;
    this.#port.close(); // 'close' follows, on both ends
  }

  #onRequest(message: unknown): void {
    // Requests still queued on the port when it closes are not applied: their callers get ERR_STORE_CLOSED.
    if (this.#closing || this.#stopped) return;
    if (!isStoreRequest(message)) {
      // Without an id there is nobody to answer; with one, say what is wrong.
      const id = (message as { id?: unknown } | null)?.id;
      if (Number.isSafeInteger(id)) this.#reject(id as number, new InvalidArgumentError('malformed request: needs { id, method, args }'));
      return;
    }
    // rangeClose only frees (and is answered at once): refusing it would keep a cursor the client let go.
    if (this.#inFlight >= this.#inFlightMax && message.method !== 'rangeClose') {
      this.#reject(
        message.id,
        new StoreOverloadedError(`${this.#inFlight} requests from this port are in flight (requestsInFlightMax ${this.#inFlightMax})`),
      );
      return;
    }
    this.#inFlight++;
    const transfer: ArrayBuffer[] = [];
    let result: unknown;
    try {
      result = this.#apply(message, transfer); // synchronously: the store queues the write in arrival order
    } catch (error) {
      this.#settle(message.id, { id: message.id, ok: false, error: toWireError(error) });
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (value: unknown) => this.#resolve(message.id, value),
        (error: unknown) => this.#settle(message.id, { id: message.id, ok: false, error: toWireError(error) }),
      );
    } else {
      this.#settle(message.id, { id: message.id, ok: true, result }, transfer);
    }
  }

  /**
   * Hands the request to the store. A result given at once is made sendable here (its binary
   * values' buffers go into `transfer`); a promise's result is made sendable when it resolves
   * (none of the async methods resolves a value that holds bytes).
   */
  #apply({ method, args }: StoreRequest, transfer: ArrayBuffer[]): unknown {
    const store = this.#store;
    switch (method) {
      case 'put':
        return store.put(args[0] as string, args[1], args[2] as PutOptions | undefined);
      case 'get':
        return sendable(store.get(args[0] as string), transfer);
      case 'getEntry': {
        const entry = store.getEntry(args[0] as string);
        return entry === undefined ? undefined : { ...entry, value: sendable(entry.value, transfer) };
      }
      case 'has':
        return store.has(args[0] as string);
      case 'delete':
        return store.delete(args[0] as string, args[1] as DeleteOptions | undefined);
      case 'batch':
        return store.batch(args[0] as ReadonlyArray<BatchOperation<unknown>>, args[1] as BatchOptions | undefined);
      case 'increment':
        return store.increment(args[0] as string, args[1] as number | undefined, args[2] as TtlOptions | undefined);
      case 'expire':
        return store.expire(args[0] as string, args[1] as TtlOptions | null);
      case 'deleteRange':
        return store.deleteRange(args[0] as RangeOptions);
      case 'snapshot':
        return store.snapshot();
      case 'backup':
        return store.backup(args[0] as string);
      case 'stats':
        return store.stats();
      case 'rangeOpen':
        return this.#rangeOpen(args, transfer);
      case 'rangeNext':
        return this.#rangeNext(args[0], transfer);
      case 'rangeClose':
        return this.#rangeClose(args[0]);
    }
  }

  /**
   * Opens a walk: the store's iterator is made now, so the walk is the store as of this request,
   * whatever is written while the client reads it. The first page goes back in the reply; the
   * iterator is kept under a cursor only if more remains.
   */
  #rangeOpen([kind, options, pageSize]: unknown[], transfer: ArrayBuffer[]): RangePage {
    if (!rangeKinds.includes(kind as RangeKind)) throw new InvalidArgumentError(`rangeOpen: unknown kind ${String(kind)}`);
    const size = pageSizeOf(pageSize);
    const cursor: Cursor = {
      kind: kind as RangeKind,
      iterator: this.#iterate(kind as RangeKind, options),
      pageSize: size,
      lookahead: undefined,
    };
    const page = readPage(cursor, transfer);
    if (cursor.lookahead === undefined) return page;
    if (this.#cursors.size >= this.#cursorsMax) {
      cursor.iterator.return?.();
      throw new StoreOverloadedError(
        `${this.#cursors.size} range walks from this port hold a cursor (rangeCursorsMax ${this.#cursorsMax}): finish or return() one first`,
      );
    }
    const id = this.#nextCursor++;
    this.#cursors.set(id, cursor);
    return { ...page, cursor: id };
  }

  #iterate(kind: RangeKind, options: unknown): Iterator<unknown> {
    const range = options as RangeOptions | undefined;
    if (kind === 'keys') return this.#store.keys(range);
    if (kind === 'values') return this.#store.values(range);
    return this.#store.range(range);
  }

  #rangeNext(id: unknown, transfer: ArrayBuffer[]): RangePage {
    const cursor = typeof id === 'number' ? this.#cursors.get(id) : undefined;
    if (cursor === undefined) throw new InvalidArgumentError(`rangeNext: no open range cursor ${String(id)}`);
    let page: RangePage;
    try {
      page = readPage(cursor, transfer);
    } catch (error) {
      this.#rangeClose(id);
      throw error;
    }
    if (cursor.lookahead !== undefined) return { ...page, cursor: id as number };
    this.#cursors.delete(id as number);
    return page;
  }

  /** Frees a cursor; one that is not open (already freed, or never was) is no error. */
  #rangeClose(id: unknown): undefined {
    const cursor = typeof id === 'number' ? this.#cursors.get(id) : undefined;
    if (cursor === undefined) return undefined;
    this.#cursors.delete(id as number);
    cursor.iterator.return?.();
    return undefined;
  }

  #resolve(id: number, value: unknown): void {
    const transfer: ArrayBuffer[] = [];
    const result = sendable(value, transfer);
    this.#settle(id, { id, ok: true, result }, transfer);
  }

  #reject(id: number, error: Error): void {
    this.#post({ id, ok: false, error: toWireError(error) });
  }

  #settle(id: number, reply: StoreReply, transfer: ArrayBuffer[] = []): void {
    if (this.#inFlight <= 0) invariantBroken(`reply ${id} without a request in flight`);
    this.#inFlight--;
    this.#post(reply, transfer);
    if (this.#storeClosed && this.#inFlight === 0 && !this.#closing) this.close();
  }

  #post(reply: StoreReply, transfer: ArrayBuffer[] = []): void {
    if (this.#stopped) return; // the client is gone: a write it sent still completed on the owner
    try {
      this.#port.postMessage(reply, transfer);
    } catch (error) {
      // A result that cannot be cloned (only possible for values the store did not produce).
      this.#port.postMessage({ id: reply.id, ok: false, error: toWireError(error) } satisfies StoreReply);
    }
  }

  #storeStateChanged(state: StoreState): void {
    if (state !== 'closed') return;
    this.#storeClosed = true;
    if (this.#inFlight === 0 && !this.#closing) this.close();
  }

  #stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#closing = true;
    this.#store.off('state', this.#onState);
    for (const cursor of this.#cursors.values()) cursor.iterator.return?.();
    this.#cursors.clear();
    this.#resolveStopped();
  }
}

function pageSizeOf(pageSize: unknown): number {
  if (pageSize === undefined) return rangePageSizeDefault;
  if (!Number.isSafeInteger(pageSize) || (pageSize as number) < 1 || (pageSize as number) > rangePageSizeMax) {
    throw new InvalidArgumentError(`pageSize must be an integer from 1 to ${rangePageSizeMax}, got ${String(pageSize)}`);
  }
  return pageSize as number;
}

/**
 * Up to `pageSize` items from the cursor's iterator, then one more to learn whether the walk goes
 * on: kept as `lookahead` (the first item of the next page), or undefined when the walk is over.
 */
function readPage(cursor: Cursor, transfer: ArrayBuffer[]): RangePage {
  const { kind, iterator, pageSize } = cursor;
  const keys: string[] = [];
  const values: unknown[] = [];
  let count = 0;
  let next = cursor.lookahead ?? iterator.next();
  cursor.lookahead = undefined;
  while (!next.done && count < pageSize) {
    if (kind === 'keys') keys.push(next.value as string);
    else if (kind === 'values') values.push(sendable(next.value, transfer));
    else {
      const [key, value] = next.value as [string, unknown];
      keys.push(key);
      values.push(sendable(value, transfer));
    }
    count++;
    next = iterator.next();
  }
  if (!next.done) cursor.lookahead = next;
  if (kind === 'keys') return { keys, cursor: undefined };
  if (kind === 'values') return { values, cursor: undefined };
  return { keys, values, cursor: undefined };
}
