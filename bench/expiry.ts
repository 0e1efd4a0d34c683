/**
 * Active expiry at scale: 1M keys that all expire within the same second are removed within 2 s,
 * without stalling the event loop for more than 10 ms (perf_hooks.monitorEventLoopDelay).
 *
 *   npx tsx bench/expiry.ts [--keys 1000000] [--runs 3]
 *
 * The store is real (NodeFileSystem, sync 'always'); the keys are loaded in batches, all with an
 * expiry in the same second, then the clock is left to pass it. Reported: time from the expiry
 * second to the last key removed, and the event loop's delay while that ran (max and p99).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { DurableKVStore } from '../src/index.js';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};
const keys = arg('keys', 1_000_000);
const runs = arg('runs', 3);

async function once(): Promise<{ goneMs: number; maxDelayMs: number; p99DelayMs: number; maxGcMs: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dkv-expiry-'));
  try {
    const store = await DurableKVStore.open(dir, { autoSnapshot: false });
    // Every key expires in one second, a little after the load ends.
    const second = Math.ceil((Date.now() + 20_000) / 1000) * 1000;
    for (let start = 0; start < keys; start += 10_000) {
      const ops = [];
      for (let i = start; i < Math.min(keys, start + 10_000); i++) {
        ops.push({ type: 'put' as const, key: `session:${i}`, value: 'x'.repeat(32), expiresAt: second + (i % 1000) });
      }
      await store.batch(ops);
    }
    const wait = second + 1000 - Date.now();
    if (wait < 0) throw new Error('the load took longer than the margin: raise it');
    await new Promise((resolve) => setTimeout(resolve, wait));
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    // The garbage collector's pauses, to tell its stalls (1M entries freed) from the store's own.
    let maxGcMs = 0;
    const gc = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) maxGcMs = Math.max(maxGcMs, entry.duration);
    });
    gc.observe({ entryTypes: ['gc'] });
    const expiredAt = performance.now() - (Date.now() - (second + 1000));
    while (store.size > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const goneMs = performance.now() - expiredAt;
    delay.disable();
    gc.disconnect();
    await store.close();
    return { goneMs, maxDelayMs: delay.max / 1e6, p99DelayMs: delay.percentile(99) / 1e6, maxGcMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const results = [];
for (let run = 0; run < runs; run++) {
  const result = await once();
  results.push(result);
  console.log(
    `run ${run + 1}: ${keys} keys gone ${result.goneMs.toFixed(0)} ms after the last expired; event loop delay max ${result.maxDelayMs.toFixed(1)} ms, p99 ${result.p99DelayMs.toFixed(1)} ms; longest GC pause ${result.maxGcMs.toFixed(1)} ms`,
  );
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(
  `median of ${runs}: gone in ${median(results.map((r) => r.goneMs)).toFixed(0)} ms, max delay ${median(results.map((r) => r.maxDelayMs)).toFixed(1)} ms`,
);
