import { performance } from 'node:perf_hooks';
import type { Latency } from './latency.js';

export interface DriveResult {
  ops: number;
  ms: number;
  opsPerSecond: number;
}

/**
 * A closed loop: `clients` workers each await one operation at a time, taking the next index from a
 * shared counter until `total` ops are done or the deadline passes (so a slow store cannot make a
 * run take forever; the op count actually done is what is reported).
 */
export async function drive(options: {
  clients: number;
  total: number;
  deadlineMs: number;
  op: (index: number) => Promise<unknown> | undefined | void;
  latency?: Latency;
}): Promise<DriveResult> {
  const { clients, total, op, latency } = options;
  let next = 0;
  let done = 0;
  const startedAt = performance.now();
  const deadline = startedAt + options.deadlineMs;
  const worker = async () => {
    while (next < total) {
      const index = next++;
      if (latency === undefined) {
        const pending = op(index);
        // A synchronous op (a get) runs on without yielding, as a real client's would.
        if (pending !== undefined) await pending;
      } else {
        const t0 = performance.now();
        await op(index);
        const t1 = performance.now();
        latency.recordMs(t1 - t0);
        if (t1 > deadline) next = total;
      }
      done++;
      if (latency === undefined && (done & 255) === 0 && performance.now() > deadline) next = total;
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  const ms = performance.now() - startedAt;
  return { ops: done, ms, opsPerSecond: (done / ms) * 1000 };
}
