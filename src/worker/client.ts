import { MessagePort } from 'node:worker_threads';
import type { BatchOperation, StoreStats, WriteResult } from '../store.js';
import type { SnapshotResult } from '../types.js';
import { InvalidArgumentError, StoreClosedError, assert } from '../errors.js';
import { fromWireError, isStoreReply, sendable, type StoreMethod, type StoreRequest } from './protocol.js';

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
 */
export class RemoteStore<V = string> {
  readonly #port: MessagePort;
  readonly #pending = new Map<number, PendingCall>();
  #nextId = 1;
  #closed = false;
  readonly #closedPromise: Promise<void>;

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

  put(key: string, value: V): Promise<WriteResult> {
    const transfer: ArrayBuffer[] = [];
    return this.#call('put', [key, sendable(value, transfer)], transfer) as Promise<WriteResult>;
  }

  async get(key: string): Promise<V | undefined> {
    const value = await this.#call('get', [key]);
    // A binary value arrives as a plain Uint8Array; the owner's get returns a Buffer.
    return (value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value) as V | undefined;
  }

  has(key: string): Promise<boolean> {
    return this.#call('has', [key]) as Promise<boolean>;
  }

  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<WriteResult> {
    return this.#call('delete', [key]) as Promise<WriteResult>;
  }

  /** Every operation or none, as on the owner. */
  batch(operations: ReadonlyArray<BatchOperation<V>>): Promise<WriteResult> {
    const transfer: ArrayBuffer[] = [];
    const ops = Array.isArray(operations) ? operations.map((op: unknown) => sendableOp(op, transfer)) : operations;
    return this.#call('batch', [ops], transfer) as Promise<WriteResult>;
  }

  snapshot(): Promise<SnapshotResult> {
    return this.#call('snapshot', []) as Promise<SnapshotResult>;
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
    assert(call !== undefined, `reply to ${message.id}, which is not pending`);
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
