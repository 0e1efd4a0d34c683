/**
 * Worker-thread clients: one thread owns a store, other `worker_threads` use it through a
 * MessagePort with the same (async) API.
 *
 * A store directory can be open in one place only (ERR_STORE_LOCKED, also across threads of one
 * process), so threads share a store by sending requests to its owner. In the owning thread:
 *
 * ```ts
 * import { MessageChannel, Worker } from 'node:worker_threads';
 * import { DurableKVStore } from 'durable-kv';
 * import { serveStore } from 'durable-kv/worker';
 *
 * const store = await DurableKVStore.open('./data');
 * const { port1, port2 } = new MessageChannel();
 * serveStore(store, port1);
 * const worker = new Worker(file, { workerData: { port: port2 }, transferList: [port2] });
 * // ... once the workers are done:
 * await store.close(); // the server answers what is in flight, then closes the port
 * ```
 *
 * (`createStorePort(store)` does the first two lines and returns `port2`; one port per worker.)
 * In the worker:
 *
 * ```ts
 * import { workerData } from 'node:worker_threads';
 * import { connectStore } from 'durable-kv/worker';
 *
 * const store = connectStore(workerData.port);
 * await store.put('user:1', 'Ada');
 * await store.get('user:1'); // 'Ada'
 * await store.close(); // closes the port only; the owner closes the store
 * ```
 *
 * - Ordering: calls from one client are applied in the order they are made (a worker may issue
 *   many writes without awaiting each); replies can complete in any order. Calls from different
 *   clients interleave.
 * - Durability: a write resolves once it is durable and visible on the owner, as a local put does.
 * - Errors: re-created as the same classes (`InvalidArgumentError`, `StoreClosedError`,
 *   `StoreFailedError`, ...) with the same `code`. A closed connection rejects with ERR_STORE_CLOSED.
 * - Backpressure: the owner answers at most `requestsInFlightMax` (default 4096) requests per port
 *   at once and refuses more with ERR_STORE_OVERLOADED.
 * - Ranges: `range`, `keys`, `values` and `entries` return async iterables that fetch the range in
 *   pages of `pageSize` entries (default 1000, at most 10,000). The owner takes the store's view of
 *   the range when the call reaches it and holds it under a cursor between pages, so the walk sees
 *   the store as of the call, whatever is written meanwhile. The cursor is freed when the walk ends,
 *   when it is returned early (`break` out of `for await`), when the connection closes, or when an
 *   unfinished walk is garbage-collected; a range that fits in its first page never holds one. At
 *   most `rangeCursorsMax` (default 64) cursors per port at once: opening one more is refused with
 *   ERR_STORE_OVERLOADED.
 *
 * ```ts
 * for await (const [key, value] of store.range({ prefix: 'user:', pageSize: 500 })) {
 *   if (done(key, value)) break; // frees the owner's cursor
 * }
 * ```
 *
 * @module durable-kv/worker
 */
export { serveStore, createStorePort, type ServeOptions, type StoreServer } from './host.js';
export { connectStore, RemoteStore, type RangeWalk, type RemoteRangeOptions } from './client.js';
export { rangeCursorsMaxDefault, rangePageSizeDefault, rangePageSizeMax, requestsInFlightMaxDefault } from './limits.js';
export type { RangeKind, RangePage, StoreMethod, StoreRequest, StoreReply, WireError } from './protocol.js';
