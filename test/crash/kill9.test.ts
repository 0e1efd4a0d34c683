/**
 * kill -9 on the real file system: a child process writes with many writes in flight (puts,
 * deletes, batches, snapshots, rotation and compaction all the time) and is SIGKILLed; the store is
 * reopened here at once and must hold every acknowledged write.
 *
 * A kill -9 loses no data the process handed to the kernel (the page cache survives the process),
 * so the store must open without complaint every time. Replay a failing run with the seed in the
 * test's name: CRASH_SEED=<seed> npx vitest run test/crash/kill9.test.ts (the workload and the kill
 * points replay; the exact moment of each kill cannot). `npm run torture` runs such rounds for minutes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePlan, planRound, runRound, type KillPlan, type RoundResult } from './round.js';
import type { CrashMode } from '../fixtures/crash-workload.js';
import type { Trait } from './verify.js';

const seed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** The rounds, in one directory: each round starts from what the previous ones left. */
const rounds: Array<{ mode: CrashMode; trigger: KillPlan['trigger']; atOnce?: true }> = [
  { mode: 'puts', trigger: 'timed' },
  // Killed the moment a snapshot of 16k keys starts: it is certainly still being written.
  { mode: 'snapshots', trigger: 'snapshot-start', atOnce: true },
  { mode: 'batches', trigger: 'batch-acks' },
  { mode: 'mixed', trigger: 'timed' },
  { mode: 'mixed', trigger: 'snapshot-start' },
  { mode: 'snapshots', trigger: 'timed' },
  { mode: 'batches', trigger: 'timed' },
];
/** Enough traffic to be killed mid-flight, short enough to keep the test quick. */
const timedMaxMs = 800;

describe(`kill -9 during heavy writes, real file system (seed ${seed})`, () => {
  let dir: string;
  const results: RoundResult[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-kv-kill9-'));
    let model = new Map<string, string>();
    for (const [round, fixed] of rounds.entries()) {
      const plan = planRound(seed, round, { ...fixed, timedMaxMs });
      if (fixed.atOnce && plan.kill.trigger === 'snapshot-start') plan.kill.delayMs = 0;
      const result = await runRound(dir, plan, model);
      results.push(result);
      model = result.model;
      if (result.fatal) break;
    }
  }, 120_000);

  afterAll(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  function failures(trait: Trait): string[] {
    return results.flatMap((result) =>
      result.failures.filter((failure) => failure.trait === trait).map((failure) => `${describePlan(result.plan)}: ${failure.message}`),
    );
  }

  it('kills the writer mid-traffic in every round, with writes acknowledged', () => {
    expect(failures('child')).toEqual([]);
    expect(results).toHaveLength(rounds.length);
    for (const result of results) expect(result.acks, describePlan(result.plan)).toBeGreaterThan(0);
  });

  it('opens cleanly after every kill: never ERR_STORE_CORRUPT', () => {
    expect(failures('open')).toEqual([]);
  });

  it('opens at once after the owner was killed: the kernel dropped its lock', () => {
    expect(failures('lock')).toEqual([]);
  });

  it('holds every acknowledged write, with its value or the value in flight', () => {
    expect(failures('acked')).toEqual([]);
    expect(results.every((result) => result.ackedOpsVerified > 0 && result.ackedOpsVerified === result.acks)).toBe(true);
  });

  it('never brings back a key whose delete was acknowledged', () => {
    expect(failures('deletes')).toEqual([]);
  });

  it('applies a batch in flight at the kill all or not at all', () => {
    expect(failures('batches')).toEqual([]);
    const heavyBatches = results.find((result) => result.plan.kill.trigger === 'batch-acks');
    expect(heavyBatches?.killedBy, 'the batch round was killed during batch traffic').toBe('plan');
  });

  it('was killed while a snapshot was being taken, and recovered from it', () => {
    const duringSnapshot = results.filter(
      (result) => result.killedBy === 'plan' && result.plan.kill.trigger === 'snapshot-start' && result.snapshotInProgress,
    );
    expect(duringSnapshot.length, 'rounds killed with a snapshot in progress').toBeGreaterThan(0);
    expect(duringSnapshot.every((result) => result.failures.length === 0)).toBe(true);
  });

  it('goes on working after recovery: writes, deletes, batches, a snapshot, and a reopen', () => {
    expect(failures('usable')).toEqual([]);
  });
});
