import { DurableKVStore } from '../../src/index.js';

/** The clock `seedTtlStore` starts at (epoch ms): what its expiry times are counted from. */
export const ttlClockStartMs = 1_700_000_000_000;

/**
 * A store in `dir` whose WAL holds every record kind TTL brought, one per seq, on a clock the
 * function moves by hand; closed. The store ends with `session` (no expiry) and `counter` (43,
 * expiring at start + 5 s); `temp` was removed by active expiry.
 *
 *   1 put session abc, expiring at start + 60 s     5 increment counter: put of 43, keeping its expiry
 *   2 put counter 41                                6 expire session: removed (0)
 *   3 increment counter: put of 42                  7 put temp x, expiring at start + 1 s
 *   4 expire counter at start + 5 s                 8 the clock moves 2 s on: active expiry deletes temp
 */
export async function seedTtlStore(dir: string): Promise<void> {
  let nowMs = ttlClockStartMs;
  const store = await DurableKVStore.open(dir, { clock: () => nowMs, expiryIntervalMs: 10 });
  try {
    await store.put('session', 'abc', { ttlMs: 60_000 });
    await store.put('counter', '41');
    await store.increment('counter');
    await store.expire('counter', { ttlMs: 5_000 });
    await store.increment('counter');
    await store.expire('session', null);
    await store.put('temp', 'x', { ttlMs: 1_000 });
    nowMs += 2_000;
    // Reads hide `temp` at once; active expiry removes it (and logs the delete) within its interval.
    await until(() => store.size === 2);
  } finally {
    await store.close();
  }
}

/** Waits until `condition` holds, polling; fails after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
