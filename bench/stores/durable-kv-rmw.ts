import { openDurableKV } from './durable-kv.js';
import type { BenchStore, OpenOptions } from './store.js';

/** durable-kv with every put a compare-and-set on the version read just before it (see `openDurableKV`). */
export async function open(dir: string, options: OpenOptions): Promise<BenchStore> {
  return openDurableKV(dir, options, 'read');
}
