/**
 * `npm run bench`: runs every (store, workload) in a fresh child process and a fresh temp directory,
 * several times, and prints one table of medians with each figure's ratio to the best peer and to
 * the raw baseline measured in the same run; writes everything to bench/results/<timestamp>.json.
 *
 *   npm run bench -- --quick                       1 run, small sizes (about a minute)
 *   npm run bench -- --workloads W1,W4 --stores durable-kv,raw,lmdb --runs 5
 *   npm run bench -- --profile --stores durable-kv  also write .cpuprofile files (bench/results/)
 *   npm run bench -- --workloads W2,W3,W8 --stores durable-kv,durable-level,classic-level,memory-level
 *                                                  the abstract-level adapter against the store (issue 14)
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { fullSizes, quickSizes } from './config.js';
import { workloads, workloadById } from './workloads/index.js';
import { storeNames, type StoreName } from './stores/store.js';
import { median } from './lib/stats.js';
import { renderTable, type Medians } from './lib/table.js';
import { adapterGoal, checkAdapter, checkRoundTwo, checkTargets, renderTargets } from './lib/targets.js';
import type { ChildTask } from './child.js';
import type { Metrics, Sizes, Workload } from './workloads/workload.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoDir = path.dirname(benchDir);
const childScript = path.join(benchDir, 'child.ts');
const childTimeoutMs = 600_000;
/** --profile: this repo's code (the store, and the store through its abstract-level adapter). */
const profiledStores: readonly StoreName[] = ['durable-kv', 'durable-level'];

const program = new Command()
  .name('bench')
  .option('--quick', 'one run with smaller sizes (about a minute)')
  .option('--runs <n>', 'runs per (store, workload); medians are reported', (v) => Number.parseInt(v, 10))
  .option('--workloads <list>', 'comma-separated workload ids, e.g. W1,W2')
  .option('--stores <list>', `comma-separated stores (${storeNames.join(', ')})`)
  .option('--profile', 'run durable-kv and durable-level children with --cpu-prof (profiles go to bench/results/)')
  .option('--commit-stats', 'durable-kv: count group commits and fsyncs (via signals$) in W1-W3, W5')
  .option('--freeze-src', 'measure a copy of src/ taken at the start (others may be editing src/ meanwhile)')
  .option('--no-replication', 'skip replication (bench/replication.ts: replicated W2, follower lag, failover; needs nats-server)')
  .parse();
const options = program.opts<{
  quick?: boolean;
  runs?: number;
  workloads?: string;
  stores?: string;
  profile?: boolean;
  freezeSrc?: boolean;
  commitStats?: boolean;
  replication: boolean;
}>();

const quick = options.quick === true;
const runs = options.runs ?? (quick ? 1 : 3);
const sizes: Sizes = quick ? quickSizes : fullSizes;
const selectedWorkloads: Workload[] = options.workloads
  ? options.workloads.split(',').map((id) => workloadById(id.trim()))
  : [...workloads];
// The conditional-put variants run only when named: they measure one workload's cost, not a store.
const variantStores: readonly StoreName[] = ['durable-kv-cas', 'durable-kv-rmw'];
const selectedStores: StoreName[] = options.stores
  ? options.stores.split(',').map((s) => checkStore(s.trim()))
  : storeNames.filter((name) => !variantStores.includes(name));
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const resultsDir = path.join(benchDir, 'results');
const profileDir = path.join(resultsDir, `profiles-${stamp}`);
fs.mkdirSync(resultsDir, { recursive: true });
// Inside the repo, so the copy resolves rxjs, xstate, ... from the same node_modules.
const frozenSrc = options.freezeSrc ? path.join(resultsDir, `src-${stamp}`, 'src') : undefined;
if (frozenSrc !== undefined) fs.cpSync(path.join(repoDir, 'src'), frozenSrc, { recursive: true });

type Outcome = { metrics: Metrics; info?: Record<string, unknown> } | { error: string };
const outcomes: Record<string, Partial<Record<StoreName, Outcome[]>>> = {};
const fdatasyncRuns: Metrics[] = [];
const startedAt = performance.now();
const loadAtStart = os.loadavg();
const srcHashAtStart = treeHash(frozenSrc ?? path.join(repoDir, 'src'));

for (let run = 1; run <= runs; run++) {
  const probe = await runStep({ workload: 'fdatasync', store: 'raw' }, run);
  if ('metrics' in probe) fdatasyncRuns.push(probe.metrics);
  for (const workload of selectedWorkloads) {
    for (const store of selectedStores.filter((name) => workload.stores.includes(name))) {
      const outcome = await runStep({ workload: workload.id, store, prepare: workload.prepare !== undefined }, run);
      const byStore = outcomes[workload.id] ?? {};
      outcomes[workload.id] = byStore;
      byStore[store] = [...(byStore[store] ?? []), outcome];
    }
  }
}

const medians: Medians = {};
for (const [id, byStore] of Object.entries(outcomes)) {
  medians[id] = {};
  for (const [store, list] of Object.entries(byStore) as Array<[StoreName, Outcome[]]>) {
    const good = list.filter((outcome): outcome is Exclude<Outcome, { error: string }> => 'metrics' in outcome);
    if (good.length === 0) {
      medians[id][store] = { error: (list[0] as { error: string }).error };
      continue;
    }
    const metrics: Metrics = {};
    for (const key of Object.keys(good[0].metrics)) metrics[key] = median(good.map((outcome) => outcome.metrics[key]));
    medians[id][store] = metrics;
  }
}
const fdatasync =
  fdatasyncRuns.length > 0
    ? Object.fromEntries(Object.keys(fdatasyncRuns[0]).map((k) => [k, median(fdatasyncRuns.map((m) => m[k]))]))
    : undefined;
const targets = checkTargets(medians, sizes.w4Keys >= 1_000_000);
const adapter = checkAdapter(medians);
const roundTwo = checkRoundTwo(medians, sizes.w4Keys >= 1_000_000 && sizes.w7Keys >= 1_000_000, fdatasync);
const source = sourceState();
const warnings = sanityWarnings();
if (frozenSrc === undefined && treeHash(path.join(repoDir, 'src')) !== srcHashAtStart) {
  warnings.push('src/ changed while the benchmark ran: the figures may mix two versions of the code');
}

const lines = [
  '',
  `durable-kv benchmark — ${quick ? 'quick' : 'full'} mode, ${runs} run(s), medians; node ${process.version}, ${os.cpus().length} cpus, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
  `load average at start ${loadAtStart.map((l) => l.toFixed(1)).join(' ')}, at end ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} (other work on this machine skews the figures)`,
  fdatasync
    ? `disk: append 100 B + fdatasync, median of 200: ${fdatasync.sync_p50_us.toFixed(0)} µs (sync calls; p99 ${fdatasync.sync_p99_us.toFixed(0)} µs), ${fdatasync.async_p50_us.toFixed(0)} µs through fs/promises, ${fdatasync.overwrite_p50_us.toFixed(0)} µs overwriting a preallocated file, ${fdatasync.overwrite_pool_p50_us?.toFixed(0) ?? '?'} µs with its fdatasync on the thread pool (the hop: ${((fdatasync.overwrite_pool_p50_us ?? Number.NaN) - fdatasync.overwrite_p50_us).toFixed(0)} µs per sync)`
    : 'disk: fdatasync probe failed',
  `sizes: W1 ${sizes.w1Ops} puts, W2 ${sizes.w2Ops}, W3 ${sizes.w3Ops}, W4 ${sizes.w4Keys} keys/${sizes.w4Gets} gets, W5 ${sizes.w5Ops} ops on ${sizes.w5Keys} keys, W6 ${sizes.w6Keys} keys, W7 ${sizes.w7Keys} keys, W8 ${sizes.w8Ranges} ranges of ${sizes.w8RangeLength} on ${sizes.w8Keys} keys; loops stop at ${sizes.deadlineMs} ms`,
  'cell = median  p<value ÷ best peer (lmdb, classic-level, better-sqlite3)>  r<value ÷ raw>;  ↑ higher is better, ↓ lower is better',
  `source: ${source.head}${source.dirty.length > 0 ? `, src/ has uncommitted changes: ${source.dirty.join(', ')}` : ', src/ clean'}${frozenSrc ? ` (measured: a copy of src/ taken at the start, ${srcHashAtStart.slice(0, 10)})` : ''}`,
  '',
  renderTable(selectedWorkloads, medians, selectedStores),
  '',
  'targets (durable-kv; W1–W7 from issue 4, W8 from the range-reads issue):',
  renderTargets(targets),
  '',
  'performance round two (issue 15; ratios of medians measured side by side in this run):',
  renderTargets(roundTwo),
  '',
];
if (adapter.length > 0) {
  lines.push(
    `abstract-level adapter (issue 14; goal: durable-level ÷ durable-kv ≥ ${adapterGoal}; ratios of medians, ↑ metrics):`,
    renderTargets(adapter),
    '',
  );
}
const errors = Object.entries(medians).flatMap(([id, byStore]) =>
  Object.entries(byStore).flatMap(([store, entry]) => (entry && 'error' in entry ? [`${id} ${store}: ${entry.error}`] : [])),
);
const commitLines = commitStatsLines();
if (commitLines.length > 0) lines.push('durable-kv group commit in the timed loops (medians):', ...commitLines, '');
if (warnings.length > 0) lines.push('WARNINGS:', ...warnings.map((w) => `  ${w}`), '');
if (errors.length > 0) lines.push('errors:', ...errors, '');
const outFile = path.join(resultsDir, `${stamp}.json`);
lines.push(`results: ${path.relative(repoDir, outFile)}  (${((performance.now() - startedAt) / 1000).toFixed(0)} s)`);
if (options.profile) lines.push(`profiles: ${path.relative(repoDir, profileDir)}  (npx tsx bench/profile-summary.ts <file>)`);
console.log(lines.join('\n'));
fs.writeFileSync(
  outFile,
  JSON.stringify(
    {
      startedAt: stamp,
      mode: quick ? 'quick' : 'full',
      runs,
      sizes,
      node: process.version,
      loadAverage: { start: loadAtStart, end: os.loadavg() },
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryBytes: os.totalmem(), tmpdir: os.tmpdir() },
      source: { ...source, srcHash: srcHashAtStart, frozenSrc: frozenSrc !== undefined },
      warnings,
      fdatasync,
      fdatasyncRuns,
      medians,
      targets,
      roundTwo,
      adapter,
      outcomes,
    },
    null,
    2,
  ),
);
if (frozenSrc !== undefined && !options.profile) fs.rmSync(path.dirname(frozenSrc), { recursive: true, force: true });
// Replication (issue 13) runs its own NATS cluster, after the rest so it does not load the machine
// under them; it measures src/ as it is (not a frozen copy).
if (options.replication) {
  console.log('\nreplication (issue 13; bench/replication.ts, a 3-node nats-server cluster on this machine):');
  const args = ['--import', 'tsx', path.join(benchDir, 'replication.ts'), '--runs', String(runs)];
  args.push('--ops', String(quick ? 5_000 : 20_000), '--failovers', String(quick ? 1 : 3));
  const replication = spawnSync(process.execPath, args, { cwd: repoDir, stdio: 'inherit' });
  if (replication.status !== 0)
    console.log(`replication: not measured (exit ${replication.status}; nats-server missing? apt-get install -y nats-server)`);
}
process.exitCode = errors.length > 0 ? 1 : 0;

function commitStatsLines(): string[] {
  const out: string[] = [];
  for (const [id, byStore] of Object.entries(medians)) {
    const entry = byStore['durable-kv'];
    if (entry === undefined || 'error' in entry) continue;
    const m = entry as Metrics;
    if (m.commit_groups === undefined) continue;
    const perFsync =
      m.commit_fsyncs > 0
        ? `, ${m.commit_fsyncs} fsyncs of ${(m.commit_fsyncRecords / m.commit_fsyncs).toFixed(1)} records, ${((m.commit_fsyncMs / m.commit_fsyncs) * 1000).toFixed(0)} µs each`
        : ', no fsyncs';
    out.push(
      `  ${id}: ${m.commit_groups} groups of ${(m.commit_groupRecords / m.commit_groups).toFixed(1)} records (${(m.commit_groupBytes / m.commit_groups / 1024).toFixed(1)} KiB)${perFsync}`,
    );
  }
  return out;
}

/** A hash of every file under `dir` (names and contents), to notice edits made during a run. */
function treeHash(dir: string): string {
  const hash = createHash('sha1');
  const walk = (at: string) => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) hash.update(path.relative(dir, full)).update(fs.readFileSync(full));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return hash.digest('hex');
}

/** Which code was measured: the commit, and any uncommitted src/ files (others may be editing them). */
function sourceState(): { head: string; dirty: string[] } {
  try {
    const head = execFileSync('git', ['log', '-1', '--format=%h %s'], { cwd: repoDir, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: repoDir, encoding: 'utf8' });
    return {
      head,
      dirty: status
        .split('\n')
        .filter(Boolean)
        .map((line) => line.slice(3)),
    };
  } catch {
    return { head: 'unknown (no git)', dirty: [] };
  }
}

/**
 * A durable put cannot be acknowledged faster than the disk syncs: if the median durable put of one
 * writer takes less than half the fastest fdatasync, the store is not syncing (a broken build, not a win).
 */
function sanityWarnings(): string[] {
  const warnings: string[] = [];
  // The fastest fdatasync seen: noisy neighbours slow the median, nothing makes a sync faster.
  const fsyncUs = fdatasync?.sync_min_us;
  if (fsyncUs === undefined) return warnings;
  for (const store of selectedStores) {
    const entry = medians.W1?.[store];
    if (entry === undefined || 'error' in entry) continue;
    const p50 = (entry as Metrics).p50_us;
    if (p50 !== undefined && p50 < fsyncUs / 2) {
      warnings.push(
        `W1 ${store}: durable put p50 ${p50.toFixed(0)} µs < half the fastest fdatasync (${fsyncUs.toFixed(0)} µs): it cannot be syncing every acknowledged write`,
      );
    }
  }
  return warnings;
}

function checkStore(name: string): StoreName {
  if (!(storeNames as readonly string[]).includes(name)) throw new Error(`unknown store ${name} (known: ${storeNames.join(', ')})`);
  return name as StoreName;
}

/** Prepare (if the workload has that phase) and measure, each in its own process, in one temp dir. */
async function runStep(step: { workload: string; store: StoreName; prepare?: boolean }, run: number): Promise<Outcome> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dkv-bench-'));
  const out = path.join(`${dir}.result.json`);
  const label = `[run ${run}/${runs}] ${step.workload} ${step.store}`;
  const stepStartedAt = performance.now();
  try {
    if (step.prepare) await runChild({ workload: step.workload, store: step.store, phase: 'prepare', dir, sizes, out });
    await runChild({ workload: step.workload, store: step.store, phase: 'measure', dir, sizes, out });
    const outcome = JSON.parse(fs.readFileSync(out, 'utf8')) as Outcome;
    process.stderr.write(`${label}: ${((performance.now() - stepStartedAt) / 1000).toFixed(1)} s\n`);
    return outcome;
  } catch (error) {
    process.stderr.write(`${label}: FAILED ${(error as Error).message}\n`);
    return { error: (error as Error).message };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(out, { force: true });
  }
}

function runChild(task: ChildTask): Promise<void> {
  const profile = options.profile === true && profiledStores.includes(task.store) && task.workload !== 'fdatasync';
  if (profile) fs.mkdirSync(profileDir, { recursive: true });
  const profileName = `${task.workload}-${task.store}-${task.phase}-${Date.now()}.cpuprofile`;
  // Each thread writes its own profile (tsx's loader runs in a worker): collect them apart, keep the main thread's.
  const threadProfiles = path.join(profileDir, `.threads-${profileName}`);
  const profileFlags = profile ? ['--cpu-prof', `--cpu-prof-dir=${threadProfiles}`] : [];
  const childTask: ChildTask = profile ? { ...task, profileFile: path.join(profileDir, profileName) } : task;
  const args = ['--expose-gc', '--max-old-space-size=8192', ...profileFlags, '--import', 'tsx', childScript, JSON.stringify(childTask)];
  return new Promise((resolve, reject) => {
    const env = {
      ...process.env,
      ...(frozenSrc === undefined ? {} : { BENCH_DKV_SRC: frozenSrc }),
      ...(options.commitStats || options.profile ? { BENCH_COMMIT_STATS: '1' } : {}),
    };
    const child = spawn(process.execPath, args, { cwd: repoDir, env, stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), childTimeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (profile) keepMainThreadProfile(threadProfiles, path.join(profileDir, profileName));
      if (code === 0) resolve();
      else reject(new Error(`${task.phase} exited with ${signal ?? code}: ${stderr.trim().split('\n').slice(-5).join(' / ')}`));
    });
  });
}

/** Node names profiles CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; the main thread is 0. */
function keepMainThreadProfile(threadDir: string, target: string): void {
  if (!fs.existsSync(threadDir)) return;
  const main = fs.readdirSync(threadDir).find((name) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(name));
  if (main !== undefined) fs.renameSync(path.join(threadDir, main), target);
  fs.rmSync(threadDir, { recursive: true, force: true });
}
