/**
 * kill -9 of a process writing through DurableLevel (test/fixtures/level-writer.ts: puts, array and
 * chained batches with deletes, sublevel puts, put-then-del pairs, 32 writes in flight) on the real
 * file system, three times on one directory: after each, every acknowledged write is found, every
 * acknowledged delete holds, and every batch, acknowledged or not, is there whole or not at all.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DurableLevel } from '../../src/level/index.js';
import { tempDir } from '../helpers/temp-dir.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const writer = path.join(projectRoot, 'test/fixtures/level-writer.ts');
/** The writer's loops (`loops` in level-writer.ts): each owns its keys. */
const loops = 32;

async function runAndKill(dir: string, afterLines: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, dir], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let partial = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
      if (lines.length >= afterLines) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited ${code}`))));
  });
  await new Promise((resolve) => child.once('close', resolve));
  return lines;
}

/** Every value the writer wrote. */
interface Written {
  k: string;
  n: number;
}

/** What one run of the writer had acknowledged when it was killed. */
interface Acknowledged {
  /** Per key of a plain or sublevel put: the last acknowledged `n`. */
  puts: Map<string, number>;
  /** Per loop: the `n` of its last acknowledged array batch, and of its last chained batch. */
  batches: Map<number, number>;
  chained: Map<number, number>;
  /** Keys of put-then-del pairs: the acknowledged put's `n`, and whether the del was acknowledged. */
  doomed: Map<string, { n: number; deleted: boolean }>;
  counts: Record<string, number>;
}

function acknowledged(lines: string[]): Map<string, Acknowledged> {
  const runs = new Map<string, Acknowledged>();
  let current: Acknowledged | undefined;
  for (const line of lines) {
    const [kind, a, b] = line.split(' ');
    if (kind === 'R') {
      current = { puts: new Map(), batches: new Map(), chained: new Map(), doomed: new Map(), counts: {} };
      runs.set(a, current);
      continue;
    }
    if (current === undefined) throw new Error(`an acknowledgement before the writer was ready: ${line}`);
    current.counts[kind] = (current.counts[kind] ?? 0) + 1;
    const n = Number(a);
    if (kind === 'P' || kind === 'S') current.puts.set(b, Math.max(current.puts.get(b) ?? 0, n));
    else if (kind === 'B') current.batches.set(Number(b), Math.max(current.batches.get(Number(b)) ?? 0, n));
    else if (kind === 'C') current.chained.set(Number(b), Math.max(current.chained.get(Number(b)) ?? 0, n));
    else if (kind === 'X') current.doomed.set(b, { n, deleted: false });
    else if (kind === 'D') {
      const doomed = current.doomed.get(a);
      if (doomed === undefined) throw new Error(`a del acknowledged before its put: ${line}`);
      doomed.deleted = true;
    } else throw new Error(`unknown line from the writer: ${line}`);
  }
  return runs;
}

/** The run's keys as stored: the root's (sublevel keys are under '!s!', outside the range) and the sublevel's. */
async function storedOf(db: DurableLevel<string, unknown>, run: string) {
  const range = { gte: `${run}.`, lt: `${run}/` };
  const root = new Map((await db.iterator(range).all()) as Array<[string, Written]>);
  const sub = new Map(
    (await db.sublevel<string, unknown>('s', { valueEncoding: 'json' }).iterator(range).all()) as Array<[string, Written]>,
  );
  return { root, sub };
}

/**
 * The `n` of the last batch of a loop found (of one kind), or undefined if none is: `group` holds the
 * keys every such batch writes, `tombs` the tombs found under `tombPrefix`.
 */
function batchState(group: Array<Written | undefined>, tombs: Array<[string, Written]>, tombPrefix: string, label: string) {
  const present = group.filter((value) => value !== undefined);
  // Atomic: the keys every batch of the loop writes are all there, from one batch, or none is.
  expect(present.length === 0 || present.length === group.length, `${label}: ${JSON.stringify(group)}`).toBe(true);
  const n = present[0]?.n;
  for (const value of present) expect(value.n, `${label}: ${JSON.stringify(group)}`).toBe(n);
  // The same batch put its tomb and deleted the one before: exactly its tomb is there.
  expect(
    tombs.map(([key, value]) => [key, value.n]),
    label,
  ).toEqual(n === undefined ? [] : [[`${tombPrefix}${n}`, n]]);
  return n;
}

function checkRun(run: string, ack: Acknowledged, root: Map<string, Written>, sub: Map<string, Written>): void {
  // Every value is the one written for its key.
  for (const [key, value] of [...root, ...sub]) expect(value.k, key).toBe(key);
  // Puts: at least the last acknowledged one (a later unacknowledged one may be there too).
  for (const [key, n] of ack.puts) {
    const value = key.startsWith(`${run}.s.`) ? sub.get(key) : root.get(key);
    expect(value, key).toBeDefined();
    expect(value?.n, key).toBeGreaterThanOrEqual(n);
  }
  // Put-then-del keys are never written again: an acknowledged del holds; an acknowledged put
  // whose del was not acknowledged is there, or was deleted by that del.
  for (const [key, { n, deleted }] of ack.doomed) {
    if (deleted) expect(root.get(key), key).toBeUndefined();
    else if (root.has(key)) expect(root.get(key)?.n, key).toBe(n);
  }
  const tombsOf = (prefix: string) => [...root].filter(([key]) => key.startsWith(prefix));
  for (let w = 0; w < loops; w++) {
    const batchGroup = [0, 1, 2, 3].map((j) => root.get(`${run}.b.${w}.${j}`));
    const batchN = batchState(batchGroup, tombsOf(`${run}.bt.${w}.`), `${run}.bt.${w}.`, `array batch of loop ${w}`);
    expect(batchN ?? 0, `array batch of loop ${w}`).toBeGreaterThanOrEqual(ack.batches.get(w) ?? 0);

    const chainedGroup = [root.get(`${run}.c.${w}.0`), root.get(`${run}.c.${w}.1`), sub.get(`${run}.c.${w}`)];
    const chainedN = batchState(chainedGroup, tombsOf(`${run}.ct.${w}.`), `${run}.ct.${w}.`, `chained batch of loop ${w}`);
    expect(chainedN ?? 0, `chained batch of loop ${w}`).toBeGreaterThanOrEqual(ack.chained.get(w) ?? 0);
  }
}

describe('kill -9 while writing through DurableLevel', () => {
  it('every acknowledged put, batch, chained batch, sublevel put and del survives; every batch is whole or absent', async () => {
    const dir = await tempDir();
    const lines: string[] = [];
    /** What each earlier run's keys were found to be: a later run and its recovery must not change them. */
    const found = new Map<string, string>();
    for (let round = 0; round < 3; round++) {
      const roundLines = await runAndKill(dir, 3_000 + round * 1_500);
      lines.push(...roundLines);
      const runs = acknowledged(lines);
      expect(runs.size).toBe(round + 1);
      const latest = [...runs.values()].at(-1);
      // The round exercised every kind of write.
      for (const kind of ['P', 'B', 'C', 'S', 'X', 'D']) expect(latest?.counts[kind] ?? 0, kind).toBeGreaterThan(0);

      const db = new DurableLevel<string, unknown>(dir, { valueEncoding: 'json' });
      await db.open();
      try {
        for (const [run, ack] of runs) {
          const { root, sub } = await storedOf(db, run);
          checkRun(run, ack, root, sub);
          const state = JSON.stringify([[...root], [...sub]]);
          if (found.has(run)) expect(state, `run ${run}, recovered again`).toBe(found.get(run));
          else found.set(run, state);
        }
      } finally {
        await db.close();
      }
    }
  }, 180_000);
});
