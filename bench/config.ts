import type { Sizes } from './workloads/workload.js';

/**
 * Sizes per mode. The op counts are tuned so each timed loop takes a few seconds on the reference
 * machine (2 cores, fdatasync ≈ 0.15 ms); `deadlineMs` stops a slower store's loop early, and the
 * ops actually done are what count. N (W4, W6, W7, W8) is 1M keys in full mode.
 */
export const fullSizes: Sizes = {
  w1Ops: 20_000,
  w2Ops: 200_000,
  w3Ops: 500_000,
  w4Keys: 1_000_000,
  w4Gets: 1_000_000,
  w5Keys: 100_000,
  w5Ops: 1_000_000,
  w6Keys: 1_000_000,
  w6BaselineMs: 2_000,
  w7Keys: 1_000_000,
  w8Keys: 1_000_000,
  w8RangeLength: 100_000,
  w8Ranges: 200,
  deadlineMs: 5_000,
};

export const quickSizes: Sizes = {
  w1Ops: 2_000,
  w2Ops: 20_000,
  w3Ops: 50_000,
  w4Keys: 100_000,
  w4Gets: 300_000,
  w5Keys: 20_000,
  w5Ops: 100_000,
  w6Keys: 100_000,
  w6BaselineMs: 500,
  w7Keys: 100_000,
  w8Keys: 100_000,
  w8RangeLength: 10_000,
  w8Ranges: 200,
  deadlineMs: 2_000,
};
