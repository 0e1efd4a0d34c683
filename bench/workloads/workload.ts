import type { StoreName } from '../stores/store.js';

/** Sizes for one mode (quick or full). Op counts are upper bounds; `deadlineMs` caps each timed loop. */
export interface Sizes {
  w1Ops: number;
  w2Ops: number;
  w3Ops: number;
  w4Keys: number;
  w4Gets: number;
  w5Keys: number;
  w5Ops: number;
  w6Keys: number;
  w6BaselineMs: number;
  w7Keys: number;
  /** W8: keys loaded, entries per range walk, range walks in the timed loop (the deadline caps it). */
  w8Keys: number;
  w8RangeLength: number;
  w8Ranges: number;
  deadlineMs: number;
}

export interface Context {
  store: StoreName;
  dir: string;
  sizes: Sizes;
}

export type Metrics = Record<string, number>;

export interface MetricSpec {
  key: string;
  label: string;
  /** Which way is better; ratios are value / reference either way. */
  better: 'higher' | 'lower' | 'none';
  unit: 'ops/s' | 'entries/s' | 'µs' | 'ms' | 'B' | 'MB' | 'MB/s' | '×';
}

export interface Workload {
  id: string;
  title: string;
  stores: readonly StoreName[];
  metrics: readonly MetricSpec[];
  /** Runs in its own child process before `measure` (which then sees a fresh process). */
  prepare?(context: Context): Promise<void>;
  measure(context: Context): Promise<{ metrics: Metrics; info?: Record<string, unknown> }>;
}

export const warmUpOps = 200;

/** What a store's cumulative counters grew by over a timed loop, as `commit_<name>` metrics. */
export function countersDelta(before: Record<string, number> | undefined, after: Record<string, number> | undefined): Metrics {
  if (before === undefined || after === undefined || after.groups === 0) return {};
  return Object.fromEntries(Object.keys(after).map((key) => [`commit_${key}`, after[key] - before[key]]));
}
