/**
 * One benchmark step in a fresh process: `prepare` or `measure` of one (store, workload), or the
 * fdatasync probe. Started by run.ts; takes one JSON argument and writes its result as JSON to `out`.
 */
import { writeFileSync } from 'node:fs';
import { recordedWindows } from './lib/windows.js';
import { workloadById } from './workloads/index.js';
import { measureFdatasync } from './workloads/fdatasync.js';
import type { Sizes } from './workloads/workload.js';
import type { StoreName } from './stores/store.js';

export interface ChildTask {
  workload: string;
  store: StoreName;
  phase: 'prepare' | 'measure';
  dir: string;
  sizes: Sizes;
  out: string;
  /** Set when this child runs with --cpu-prof: its timed windows go next to the profile. */
  profileFile?: string;
}

const task = JSON.parse(process.argv[2]) as ChildTask;
let result: unknown;
if (task.workload === 'fdatasync') {
  result = await measureFdatasync(task.dir);
} else {
  const workload = workloadById(task.workload);
  const context = { store: task.store, dir: task.dir, sizes: task.sizes };
  if (task.phase === 'prepare') {
    await workload.prepare?.(context);
    result = {};
  } else {
    result = await workload.measure(context);
  }
}
writeFileSync(task.out, JSON.stringify(result));
if (task.profileFile !== undefined) writeFileSync(`${task.profileFile}.windows.json`, JSON.stringify(recordedWindows()));
// Some stores keep handles or worker threads alive after close; the result is written, so leave.
process.exit(0);
