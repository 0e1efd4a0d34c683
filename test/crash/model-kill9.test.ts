/**
 * kill -9 of a process writing through the data model (increments, puts with expiry times,
 * compare-and-sets) on the real file system: every acknowledged write is there after reopening,
 * with its version and expiry.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { tempDir } from '../helpers/temp-dir.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const writer = path.join(projectRoot, 'test/fixtures/model-writer.ts');

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

describe('kill -9 while writing through the data model', () => {
  it('every acknowledged increment, expiring put and compare-and-set survives, with its version and expiry', async () => {
    const dir = await tempDir();
    for (let round = 0; round < 3; round++) {
      const lines = await runAndKill(dir, 1500 + round * 500);
      const store = (await DurableKVStore.open(dir)) as DurableKVStore<string>;
      const counters = new Map<string, number>();
      const puts = new Map<string, { seq: number; expiresAt: number }>();
      let doc = { seq: 0, n: 0 };
      for (const line of lines) {
        const [kind, a, b, c] = line.split(' ');
        if (kind === 'I') counters.set(a, Math.max(counters.get(a) ?? 0, Number(b)));
        else if (kind === 'T' && Number(b) > (puts.get(a)?.seq ?? 0)) puts.set(a, { seq: Number(b), expiresAt: Number(c) });
        else if (kind === 'C' && Number(a) > doc.seq) doc = { seq: Number(a), n: Number(b) };
      }
      expect(counters.size).toBeGreaterThan(0);
      // A counter holds at least what was acknowledged (later unacknowledged increments may be there).
      for (const [counter, value] of counters) expect(Number(store.get(counter))).toBeGreaterThanOrEqual(value);
      // A key's version is at least its acknowledged put's; if it is that put, its expiry is the one written.
      for (const [key, put] of puts) {
        const entry = store.getEntry(key);
        expect(entry, key).toBeDefined();
        expect(entry?.version).toBeGreaterThanOrEqual(put.seq);
        if (entry?.version === put.seq) expect(entry.expiresAt).toBe(put.expiresAt);
      }
      // The document's value only ever went up by one per successful compare-and-set.
      expect(Number(store.get('doc'))).toBeGreaterThanOrEqual(doc.n);
      if (store.getEntry('doc')?.version === doc.seq) expect(Number(store.get('doc'))).toBe(doc.n);
      await store.close();
    }
  }, 120_000);
});
