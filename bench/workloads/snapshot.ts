import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { keysFor, makeValues } from '../lib/data.js';
import { timed } from '../lib/windows.js';
import { openStore } from '../stores/store.js';
import type { Workload } from './workload.js';

/**
 * W6 (durable-kv only; the peers have no equivalent worth timing): N keys loaded, 64 durable
 * writers running (W2's load, overwriting existing keys), then a snapshot. Compares the write rate
 * and the longest event-loop stall during the snapshot with a window of the same load without it.
 */
export const w6: Workload = {
  id: 'W6',
  title: 'snapshot of N keys under W2 load',
  stores: ['durable-kv'],
  metrics: [
    { key: 'max_stall_ms', label: 'max event-loop stall', better: 'lower', unit: 'ms' },
    { key: 'write_ratio', label: 'writes during / without', better: 'higher', unit: '×' },
    { key: 'snapshot_ms', label: 'snapshot duration', better: 'lower', unit: 'ms' },
  ],
  async measure({ store: name, dir, sizes }) {
    const values = makeValues();
    const keyCount = sizes.w6Keys;
    const keys = keysFor(keyCount);
    const store = await openStore(name, dir, { durable: true, autoSnapshot: false });
    await store.load(
      keyCount,
      (i) => keys[i],
      (i) => values[i & 255],
    );

    let running = true;
    let ops = 0;
    let next = 0;
    const writer = async () => {
      while (running) {
        const i = next++;
        await store.put(keys[i % keyCount], values[i & 255]);
        ops++;
      }
    };
    const writers = Array.from({ length: 64 }, writer);
    await sleep(300); // warm-up

    const baseline = await timed('baseline', () =>
      window(
        async () => sleep(sizes.w6BaselineMs),
        () => ops,
      ),
    );
    const during = await timed('snapshot', () =>
      window(
        async () => store.snapshot!(),
        () => ops,
      ),
    );
    running = false;
    await Promise.all(writers);
    await store.close();
    const baselineRate = baseline.ops / baseline.ms;
    const duringRate = during.ops / during.ms;
    return {
      metrics: {
        max_stall_ms: during.maxStallMs,
        baseline_max_stall_ms: baseline.maxStallMs,
        write_ratio: duringRate / baselineRate,
        snapshot_ms: during.ms,
        baseline_ops_s: baselineRate * 1000,
        during_ops_s: duringRate * 1000,
      },
    };
  },
};

/** Runs `body`, counting the ops it overlaps and the longest event-loop delay meanwhile. */
async function window(body: () => Promise<unknown>, opsNow: () => number) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const opsBefore = opsNow();
  const startedAt = performance.now();
  await body();
  const ms = performance.now() - startedAt;
  const ops = opsNow() - opsBefore;
  histogram.disable();
  return { ms, ops, maxStallMs: histogram.max / 1e6 };
}
