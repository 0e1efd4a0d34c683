/**
 * One kill -9 round on the real file system, shared by the kill -9 test and `npm run torture`:
 * spawn the crash-writer on a directory, SIGKILL it at a chosen moment, reopen the store here at
 * once, check what it recovered, then write to it, snapshot, close, reopen and check again.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DurableKVStore, type DamageReport } from '../../src/index.js';
import { Prng } from '../../src/testing/index.js';
import { crashModes, runPrefix, type CrashMode } from '../fixtures/crash-workload.js';
import { ChildLog, diffMaps, verifyRecovered, type Failure } from './verify.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const writerScript = path.join(projectRoot, 'test/fixtures/crash-writer.ts');

/** When to send SIGKILL, counted from the child's 'R' (store open) line. */
export type KillPlan =
  | { trigger: 'timed'; afterMs: number }
  /** On the nth manual snapshot's 'start' line, after `delayMs` (0: at once). */
  | { trigger: 'snapshot-start'; nth: number; delayMs: number }
  /** Once this many batches (after the fill) were acknowledged. */
  | { trigger: 'batch-acks'; count: number };

export interface RoundPlan {
  round: number;
  /** The child's seed: its workload, and the prefix of the keys it writes. */
  seed: number;
  mode: CrashMode;
  kill: KillPlan;
}

export interface RoundResult {
  plan: RoundPlan;
  /** Killed by the plan's trigger, or by the fallback timer because the trigger never came. */
  killedBy: 'plan' | 'fallback' | undefined;
  /** A manual snapshot had started and not finished when the child died. */
  snapshotInProgress: boolean;
  /** A snapshot temporary file was on disk when the child died (a snapshot was being written). */
  snapshotFileInProgress: boolean;
  acks: number;
  batchAcks: number;
  ackedOpsVerified: number;
  keysChecked: number;
  /** What recovery cut off as a torn tail, if anything. */
  tornTail: DamageReport | undefined;
  failures: Failure[];
  /** The store could not be opened or checked: later rounds need a fresh directory. */
  fatal: boolean;
  /** What the store holds after the round: the `before` of the next round in this directory. */
  model: Map<string, string>;
}

/** Bounds for a child that never gets going, or a trigger that never comes. */
const readyTimeoutMs = 30_000;
const triggerTimeoutMs = 10_000;

export interface PlanChoices {
  mode?: CrashMode;
  trigger?: KillPlan['trigger'];
  /** A timed kill comes 100 ms to this long after the first acknowledged write. Default 1500. */
  timedMaxMs?: number;
}

/** Round `round` of a run seeded with `masterSeed`; the caller may fix some choices. */
export function planRound(masterSeed: number, round: number, fixed: PlanChoices = {}): RoundPlan {
  const prng = new Prng((Math.imul(masterSeed ^ 0x5bd1e995, 0x01000193) ^ Math.imul(round + 1, 0x9e3779b1)) >>> 0);
  const seed = prng.nextUint32();
  const mode = fixed.mode ?? crashModes[round % crashModes.length];
  const triggers: Array<KillPlan['trigger']> = ['timed'];
  if (mode === 'mixed' || mode === 'snapshots') triggers.push('snapshot-start');
  if (mode === 'batches') triggers.push('batch-acks');
  const trigger = fixed.trigger ?? prng.pick(triggers);
  const kill: KillPlan =
    trigger === 'timed'
      ? { trigger, afterMs: 100 + prng.int(Math.max(1, (fixed.timedMaxMs ?? 1500) - 100)) }
      : trigger === 'snapshot-start'
        ? { trigger, nth: 1 + prng.int(5), delayMs: prng.chance(0.5) ? 0 : prng.int(20) }
        : { trigger, count: 50 + prng.int(3000) };
  return { round, seed, mode, kill };
}

export function describePlan(plan: RoundPlan): string {
  const { kill } = plan;
  const when =
    kill.trigger === 'timed'
      ? `${kill.afterMs} ms after the first ack`
      : kill.trigger === 'snapshot-start'
        ? `${kill.delayMs} ms after snapshot ${kill.nth} started`
        : `after ${kill.count} batches`;
  return `round ${plan.round}: ${plan.mode}, seed ${plan.seed}, kill ${when}`;
}

/** Runs one round on `dir`, which holds `before` (empty for a fresh directory). */
export async function runRound(dir: string, plan: RoundPlan, before: ReadonlyMap<string, string>): Promise<RoundResult> {
  const killed = await runAndKill(dir, plan);
  const { log } = killed;
  const snapshotFileInProgress = fs.readdirSync(dir).some((name) => name.endsWith('.snap.tmp'));
  const result: RoundResult = {
    plan,
    killedBy: killed.killedBy,
    snapshotInProgress: log.snapshotInProgress,
    snapshotFileInProgress,
    acks: log.acks,
    batchAcks: log.batchAcks,
    ackedOpsVerified: 0,
    keysChecked: 0,
    tornTail: undefined,
    failures: [...killed.failures],
    fatal: false,
    model: new Map(before),
  };
  // No retry and no wait: the child is dead, the kernel must have dropped its flock already.
  let store: DurableKVStore;
  try {
    store = await DurableKVStore.open(dir);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const trait = code === 'ERR_STORE_LOCKED' ? 'lock' : 'open';
    result.failures.push({ trait, message: `open after the kill failed: ${code ?? ''} ${(error as Error).message}` });
    result.fatal = true;
    return result;
  }
  const prng = new Prng(plan.seed ^ 0x2545f491);
  const prefix = runPrefix(plan.seed);
  const recoveredOk = await session(dir, result, 'the recovered store', store, async (recovered) => {
    result.tornTail = recovered.recoveryReport.tornTail;
    result.model = new Map(recovered.entries());
    const verification = verifyRecovered({ mode: plan.mode, seed: plan.seed, log, recovered: result.model, before });
    result.ackedOpsVerified = verification.ackedOpsVerified;
    result.keysChecked = verification.keysChecked;
    result.failures.push(...verification.failures);
    // These writes go on the end of the WAL that recovery kept (maybe cut at a torn tail).
    await writeMixed(recovered, result.model, prng, prefix, 'after');
    compare(recovered, result, 'reading back what was written to the recovered store');
  });
  const reopenedOk =
    recoveredOk &&
    (await session(dir, result, 'the store reopened after writing to it', undefined, async (reopened) => {
      compare(reopened, result, 'after writing to the recovered store and reopening');
      await reopened.snapshot();
      await writeMixed(reopened, result.model, prng, prefix, 'after-snapshot');
    }));
  if (reopenedOk) {
    await session(dir, result, 'the store reopened after a snapshot', undefined, async (reopened) => {
      compare(reopened, result, 'after a snapshot, more writes and a reopen');
    });
  }
  return result;
}

/**
 * Opens the store (unless given one), runs `work` on it and closes it. Any error makes the round
 * fatal: the directory's content is no longer known.
 */
async function session(
  dir: string,
  result: RoundResult,
  what: string,
  given: DurableKVStore | undefined,
  work: (store: DurableKVStore) => Promise<void>,
): Promise<boolean> {
  let store = given;
  try {
    store ??= await DurableKVStore.open(dir);
  } catch (error) {
    result.failures.push({ trait: 'usable', message: `opening ${what} failed: ${(error as Error).message}` });
    result.fatal = true;
    return false;
  }
  try {
    await work(store);
  } catch (error) {
    result.failures.push({ trait: 'usable', message: `using ${what} failed: ${(error as Error).message}` });
    result.fatal = true;
  } finally {
    await store.close().catch((error: Error) => {
      result.failures.push({ trait: 'usable', message: `closing ${what} failed: ${error.message}` });
      result.fatal = true;
    });
  }
  return !result.fatal;
}

/** The store must hold exactly `result.model`; from here on, it is what the store holds. */
function compare(store: DurableKVStore, result: RoundResult, when: string): void {
  const actual = new Map(store.entries());
  for (const difference of diffMaps(result.model, actual)) result.failures.push({ trait: 'usable', message: `${when}: ${difference}` });
  result.model = actual;
}

interface Killed {
  log: ChildLog;
  killedBy: RoundResult['killedBy'];
  failures: Failure[];
}

/** Spawns the crash-writer, kills it per the plan, and returns once it is dead and its output read. */
async function runAndKill(dir: string, plan: RoundPlan): Promise<Killed> {
  const log = new ChildLog();
  const child = spawn(process.execPath, ['--import', 'tsx', writerScript, dir, plan.mode, String(plan.seed)], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let killedBy: RoundResult['killedBy'];
  const timers: NodeJS.Timeout[] = [];
  const kill = (by: 'plan' | 'fallback') => {
    if (killedBy !== undefined) return;
    killedBy = by;
    child.kill('SIGKILL');
  };
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  let timedKillArmed = false;
  const onLine = (line: string) => {
    if (killedBy !== undefined) return;
    // A timed kill counts from the first acknowledged write, not from open: on a loaded machine the
    // first group commit can take longer than the shortest delay, and a round must kill mid-traffic.
    if (plan.kill.trigger === 'timed' && !timedKillArmed && log.acks > 0) {
      timedKillArmed = true;
      timers.push(setTimeout(() => kill('plan'), plan.kill.afterMs));
    }
    if (line.startsWith('R ')) {
      timers.push(setTimeout(() => kill('fallback'), triggerTimeoutMs));
    } else if (plan.kill.trigger === 'snapshot-start' && line === `S ${plan.kill.nth} start`) {
      if (plan.kill.delayMs === 0) kill('plan');
      else timers.push(setTimeout(() => kill('plan'), plan.kill.delayMs));
    } else if (plan.kill.trigger === 'batch-acks' && log.batchAcks >= plan.kill.count) {
      kill('plan');
    }
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => log.feed(chunk, onLine));
  timers.push(setTimeout(() => kill('fallback'), readyTimeoutMs));
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, signal: null, error }));
    // 'close': the child has exited and all its output has been read.
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  for (const timer of timers) clearTimeout(timer);
  const failures: Failure[] = [];
  const diagnostics = [...log.errors.map((error) => `child error: ${error}`), ...log.malformed.slice(0, 3), stderr.trim()]
    .filter(Boolean)
    .join('\n');
  if (exit.error !== undefined || exit.signal !== 'SIGKILL' || killedBy === undefined || !log.ready) {
    const how = exit.error?.message ?? `exit code ${exit.code}, signal ${exit.signal}`;
    failures.push({ trait: 'child', message: `the crash-writer did not run until killed (${how}, ready: ${log.ready})\n${diagnostics}` });
  } else if (log.errors.length > 0 || log.malformed.length > 0) {
    failures.push({ trait: 'child', message: `the crash-writer reported problems\n${diagnostics}` });
  }
  return { log, killedBy, failures };
}

/**
 * Overwrites and deletes some of the run's keys and writes fresh ones (puts and batches), with many
 * writes in flight; `model` is updated to what the store must hold afterwards.
 */
async function writeMixed(store: DurableKVStore, model: Map<string, string>, prng: Prng, prefix: string, label: string): Promise<void> {
  const existing = shuffle(
    [...model.keys()].filter((key) => key.startsWith(prefix)),
    prng,
  );
  const overwrite = existing.slice(0, 100);
  const remove = existing.slice(100, 150);
  const fresh = Array.from({ length: 100 }, (_, index) => `${prefix}${label}/k${index}`);
  // Distinct keys per phase: the outcome does not depend on how concurrent writes interleave.
  await Promise.all(
    [...overwrite, ...fresh].map((key) => {
      const value = `${label}:${prng.int(1e9)}`;
      model.set(key, value);
      return store.put(key, value);
    }),
  );
  await Promise.all(
    remove.map((key) => {
      model.delete(key);
      return store.delete(key);
    }),
  );
  for (let index = 0; index < 5; index++) {
    const ops = fresh
      .slice(index * 20, index * 20 + 20)
      .map((key, at) =>
        at % 4 === 0 ? { type: 'delete' as const, key } : { type: 'put' as const, key, value: `${label}-batch:${index}:${at}` },
      );
    await store.batch(ops);
    for (const op of ops) op.type === 'put' ? model.set(op.key, op.value) : model.delete(op.key);
  }
}

function shuffle<T>(items: T[], prng: Prng): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = prng.int(index + 1);
    [items[index], items[other]] = [items[other], items[index]];
  }
  return items;
}
