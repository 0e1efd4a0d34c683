import { MessageChannel, MessagePort } from 'node:worker_threads';
import type { BatchOperation, DurableKVStore } from '../store.js';
import type { StoreState } from '../lifecycle.js';
import { InvalidArgumentError, StoreOverloadedError, assert } from '../errors.js';
import { requestsInFlightMaxDefault } from './limits.js';
import { isStoreRequest, sendable, toWireError, type StoreReply, type StoreRequest } from './protocol.js';

export interface ServeOptions {
  /**
   * Requests from this port received but not yet answered; beyond it a request is refused with
   * ERR_STORE_OVERLOADED (nothing is applied). Default `requestsInFlightMaxDefault` (4096).
   */
  requestsInFlightMax?: number;
}

/** The owner's end of one port, as `serveStore` returns it. */
export interface StoreServer {
  /** Requests received and not yet answered. */
  readonly requestsInFlight: number;
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
 */
export function serveStore<V>(store: DurableKVStore<V>, port: MessagePort, options: ServeOptions = {}): StoreServer {
  if (!(port instanceof MessagePort)) throw new InvalidArgumentError('serveStore needs a MessagePort');
  return new PortServer(store as DurableKVStore<unknown>, port, requestsInFlightMax(options));
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

function requestsInFlightMax(options: ServeOptions): number {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
  const value = options.requestsInFlightMax;
  if (value === undefined) return requestsInFlightMaxDefault;
  if (!Number.isSafeInteger(value) || value <= 0) throw new InvalidArgumentError('requestsInFlightMax must be a positive integer');
  return value;
}

class PortServer implements StoreServer {
  readonly #store: DurableKVStore<unknown>;
  readonly #port: MessagePort;
  readonly #inFlightMax: number;
  #inFlight = 0;
  #storeClosed = false;
  /** close() was called: the port's 'close' event is still to come. */
  #closing = false;
  #stopped = false;
  readonly stopped: Promise<void>;
  #resolveStopped!: () => void;
  readonly #onState = (state: StoreState) => this.#storeStateChanged(state);

  constructor(store: DurableKVStore<unknown>, port: MessagePort, inFlightMax: number) {
    this.#store = store;
    this.#port = port;
    this.#inFlightMax = inFlightMax;
    this.stopped = new Promise<void>((resolve) => (this.#resolveStopped = resolve));
    port.on('message', (message: unknown) => this.#onRequest(message));
    port.on('close', () => this.#stop());
    store.on('state', this.#onState);
    this.#storeStateChanged(store.state);
  }

  get requestsInFlight(): number {
    return this.#inFlight;
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
    if (this.#inFlight >= this.#inFlightMax) {
      this.#reject(
        message.id,
        new StoreOverloadedError(`${this.#inFlight} requests from this port are in flight (requestsInFlightMax ${this.#inFlightMax})`),
      );
      return;
    }
    this.#inFlight++;
    let result: unknown;
    try {
      result = this.#apply(message); // synchronously: the store queues the write in arrival order
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
      this.#resolve(message.id, result);
    }
  }

  #apply({ method, args }: StoreRequest): unknown {
    const store = this.#store;
    switch (method) {
      case 'put':
        return store.put(args[0] as string, args[1]);
      case 'get':
        return store.get(args[0] as string);
      case 'has':
        return store.has(args[0] as string);
      case 'delete':
        return store.delete(args[0] as string);
      case 'batch':
        return store.batch(args[0] as ReadonlyArray<BatchOperation<unknown>>);
      case 'snapshot':
        return store.snapshot();
      case 'stats':
        return store.stats();
    }
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
    assert(this.#inFlight > 0, `reply ${id} without a request in flight`);
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
    this.#resolveStopped();
  }
}
