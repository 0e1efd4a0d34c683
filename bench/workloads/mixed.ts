import { drive } from '../lib/drive.js';
import { timed } from '../lib/windows.js';
import { keysFor, makeValues, prng, randomIndices } from '../lib/data.js';
import { coreStoreNames, openStore } from '../stores/store.js';
import { countersDelta, type Workload } from './workload.js';

/** W5: 64 clients, each op a get (90%) or a durable put (10%) of a random existing key. */
export const w5: Workload = {
  id: 'W5',
  title: '90% get / 10% durable put, 64 clients',
  stores: coreStoreNames,
  metrics: [{ key: 'ops_s', label: 'ops/s', better: 'higher', unit: 'ops/s' }],
  async measure({ store: name, dir, sizes }) {
    const values = makeValues();
    const keys = keysFor(sizes.w5Keys);
    const order = randomIndices(sizes.w5Ops, sizes.w5Keys, 5);
    const isPut = new Uint8Array(sizes.w5Ops);
    const random = prng(55);
    for (let i = 0; i < isPut.length; i++) isPut[i] = random() < 0.1 ? 1 : 0;
    const store = await openStore(name, dir, { durable: true });
    await store.load(
      sizes.w5Keys,
      (i) => keys[i],
      (i) => values[i & 255],
    );
    let misses = 0;
    const countersBefore = store.counters?.();
    const result = await timed('mixed', () =>
      drive({
        clients: 64,
        total: sizes.w5Ops,
        deadlineMs: sizes.deadlineMs,
        op: (i) => {
          const key = keys[order[i]];
          if (isPut[i] === 1) return store.put(key, values[i & 255]);
          if (store.get(key) === undefined) misses++;
          return undefined;
        },
      }),
    );
    const counters = countersDelta(countersBefore, store.counters?.());
    await store.close();
    if (misses > 0) throw new Error(`${misses} gets missed keys that were loaded`);
    return { metrics: { ops_s: result.opsPerSecond, ops: result.ops, ms: result.ms, ...counters } };
  },
};
