import { MessageChannel } from 'node:worker_threads';
import { onTestFinished } from 'vitest';
import type { DurableKVStore } from '../../src/index.js';
import { connectStore, serveStore, type RemoteStore, type ServeOptions, type StoreServer } from '../../src/worker/index.js';

/**
 * A RemoteStore on `store` over a MessageChannel within this thread: the same protocol, ports and
 * structured cloning as across threads, without a worker's start-up. Closed when the test finishes.
 */
export function connectInThread<V>(store: DurableKVStore<V>, options?: ServeOptions): { remote: RemoteStore<V>; server: StoreServer } {
  const { port1, port2 } = new MessageChannel();
  const server = serveStore(store, port1, options);
  const remote = connectStore<V>(port2);
  onTestFinished(() => remote.close());
  return { remote, server };
}
