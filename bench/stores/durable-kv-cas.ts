import { openDurableKV } from './durable-kv.js';
import type { BenchStore, OpenOptions } from './store.js';

/** durable-kv with every put conditional (ifAbsent), no read before it (see `openDurableKV`). */
export async function open(dir: string, options: OpenOptions): Promise<BenchStore> {
  return openDurableKV(dir, options, 'absent');
}
