import { drive } from '../lib/drive.js';
import { timed } from '../lib/windows.js';
import { Latency } from '../lib/latency.js';
import { keysFor, makeValues } from '../lib/data.js';
import { coreStoreNames, openStore, storeNames } from '../stores/store.js';
import { countersDelta, warmUpOps, type Context, type Workload } from './workload.js';

/** Puts of distinct keys by `clients` closed-loop writers; latency per put when `withLatency`. */
async function measurePuts(context: Context, options: { durable: boolean; clients: number; total: number; withLatency: boolean }) {
  const values = makeValues();
  const keys = keysFor(options.total);
  const warmKeys = keysFor(warmUpOps, 900_000_000_000);
  const store = await openStore(context.store, context.dir, { durable: options.durable });
  await drive({ clients: options.clients, total: warmUpOps, deadlineMs: 10_000, op: (i) => store.put(warmKeys[i], values[i & 255]) });
  const countersBefore = store.counters?.();
  const latency = options.withLatency ? new Latency() : undefined;
  const result = await timed('puts', () =>
    drive({
      clients: options.clients,
      total: options.total,
      deadlineMs: context.sizes.deadlineMs,
      op: (i) => store.put(keys[i], values[i & 255]),
      latency,
    }),
  );
  const counters = countersDelta(countersBefore, store.counters?.());
  await store.close();
  const metrics: Record<string, number> = { ops_s: result.opsPerSecond, ops: result.ops, ms: result.ms, ...counters };
  if (latency !== undefined) {
    metrics.p50_us = latency.percentileUs(50);
    metrics.p99_us = latency.percentileUs(99);
  }
  return { metrics };
}

const latencyMetrics = [
  { key: 'ops_s', label: 'puts/s', better: 'higher', unit: 'ops/s' },
  { key: 'p50_us', label: 'p50 latency', better: 'lower', unit: 'µs' },
  { key: 'p99_us', label: 'p99 latency', better: 'lower', unit: 'µs' },
] as const;

export const w1: Workload = {
  id: 'W1',
  title: 'durable put, 1 writer',
  stores: coreStoreNames,
  metrics: latencyMetrics,
  measure: (context) => measurePuts(context, { durable: true, clients: 1, total: context.sizes.w1Ops, withLatency: true }),
};

export const w2: Workload = {
  id: 'W2',
  title: 'durable put, 64 in flight',
  stores: storeNames,
  metrics: latencyMetrics,
  measure: (context) => measurePuts(context, { durable: true, clients: 64, total: context.sizes.w2Ops, withLatency: true }),
};

export const w3: Workload = {
  id: 'W3',
  title: 'non-durable put, 64 in flight',
  stores: storeNames,
  metrics: [{ key: 'ops_s', label: 'puts/s', better: 'higher', unit: 'ops/s' }],
  measure: (context) => measurePuts(context, { durable: false, clients: 64, total: context.sizes.w3Ops, withLatency: false }),
};
