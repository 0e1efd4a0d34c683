import { w1, w2, w3 } from './puts.js';
import { w4 } from './gets.js';
import { w5 } from './mixed.js';
import { w6 } from './snapshot.js';
import { w7 } from './recovery.js';
import { w8 } from './ranges.js';
import type { Workload } from './workload.js';

export const workloads: readonly Workload[] = [w1, w2, w3, w4, w5, w6, w7, w8];

export function workloadById(id: string): Workload {
  const found = workloads.find((workload) => workload.id === id.toUpperCase());
  if (found === undefined) throw new Error(`unknown workload ${id} (known: ${workloads.map((w) => w.id).join(', ')})`);
  return found;
}
