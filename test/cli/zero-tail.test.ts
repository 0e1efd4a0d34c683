import { appendFile, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli } from './run-cli.js';

/**
 * A store of several segments on disk, each ending in zeros: rotation leaves the preallocated space
 * in earlier segments, and zeros appended to the last one stand for a power loss's leftovers.
 */
async function storeWithZeroTails(): Promise<{ dir: string; segments: string[] }> {
  const dir = await tempDir();
  const store = await DurableKVStore.open(dir, { segmentBytesMax: 256, autoSnapshot: false });
  for (let i = 0; i < 20; i++) await store.put(`k${i}`, `value ${i}`);
  await store.close();
  const segments = (await readdir(dir)).filter((name) => name.endsWith('.wal')).sort();
  expect(segments.length).toBeGreaterThan(2);
  // Records end in their value's bytes ('value N'), never in a zero: a file that does has a zero tail.
  const rotated = await Promise.all(segments.slice(0, -1).map((name) => readFile(path.join(dir, name))));
  expect(
    rotated.some((bytes) => bytes.at(-1) === 0),
    'rotation keeps the preallocated zeros',
  ).toBe(true);
  await appendFile(path.join(dir, segments.at(-1)!), new Uint8Array(4096));
  return { dir, segments };
}

describe('the CLI reads zero tails as the clean end of a segment', () => {
  it('verify passes every segment', async () => {
    const { dir, segments } = await storeWithZeroTails();
    const verify = await runCli(['--json', 'verify', dir]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    const report = JSON.parse(verify.stdout);
    expect(report.ok).toBe(true);
    expect(report.files.map((file: { file: string; status: string }) => `${file.file}:${file.status}`)).toEqual(
      segments.map((name) => `${name}:ok`),
    );
  });

  it('dump prints every operation and no damage line', async () => {
    const { dir } = await storeWithZeroTails();
    const dump = await runCli(['dump', dir]);
    expect(dump.code).toBe(0);
    expect(dump.stdout.trimEnd().split('\n')).toEqual(Array.from({ length: 20 }, (_, i) => `PUT|${i + 1}|k${i}|value ${i}`));
  });
});
