/**
 * The layering rule (README, "Architecture") is enforced by Biome's noRestrictedImports, configured per
 * folder in biome.json, and `npm test` runs it over src/. These cases prove the rule bites: each probe
 * file is linted with the project's biome.json in a scratch copy of the folder layout.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, copyFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const biome = path.join(root, 'node_modules', '.bin', 'biome');
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'durable-kv-layering-'));
  await copyFile(path.join(root, 'biome.json'), path.join(scratch, 'biome.json'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** Lints one probe file at `file` (relative to the project root) holding `source`; true if it passes. */
async function lintPasses(file: string, source: string): Promise<boolean> {
  const probe = path.join(scratch, file);
  await mkdir(path.dirname(probe), { recursive: true });
  await writeFile(probe, source);
  try {
    await run(biome, ['lint', '--vcs-enabled=false', probe], { cwd: scratch });
    return true;
  } catch (error) {
    const output = String((error as { stdout?: string }).stdout) + String((error as { stderr?: string }).stderr);
    expect(output).toContain('layering:');
    return false;
  } finally {
    await rm(probe);
  }
}

const importOf = (specifier: string) => `import type * as probe from '${specifier}';\nexport type Probe = typeof probe;\n`;

describe('layering: imports point only downwards', () => {
  it.each([
    ['src/types.ts', './errors.js'],
    ['src/errors.ts', './limits.js'],
    ['src/fs/probe.ts', '../format/wal-format.js'],
    ['src/format/probe.ts', '../memtable/memtable.js'],
    ['src/format/probe.ts', '../engine.js'],
    ['src/messages/probe.ts', '../memtable/memtable.js'],
    ['src/messages/probe.ts', '../format/wal-format.js'],
    ['src/memtable/probe.ts', '../actors/memtable-actor.js'],
    ['src/wal/probe.ts', '../actors/wal-actor.js'],
    ['src/recovery/probe.ts', '../actors/wal-actor.js'],
    ['src/recovery/probe.ts', '../messages/index.js'],
    ['src/actors/probe.ts', '../engine.js'],
    ['src/actors/probe.ts', '../recovery/plan.js'],
    ['src/testing/probe.ts', '../store.js'],
    ['src/engine.ts', './store.js'],
    ['src/cli/probe.ts', '../actors/wal-actor.js'],
    ['src/cli/commands/probe.ts', '../../engine.js'],
    ['src/worker/probe.ts', '../messages/index.js'],
    ['src/level/probe.ts', '../memtable/memtable.js'],
    ['src/read-view.ts', './store.js'],
    ['src/replication/probe.ts', '../engine.js'],
    ['src/replication/probe.ts', '../actors/wal-actor.js'],
  ])('%s may not import %s', async (file, specifier) => {
    expect(await lintPasses(file, importOf(specifier))).toBe(false);
  });

  it.each([
    ['src/errors.ts', './types.js'],
    ['src/format/probe.ts', '../fs/file-system.js'],
    ['src/format/probe.ts', './crc32c.js'],
    ['src/messages/probe.ts', '../types.js'],
    ['src/wal/probe.ts', '../format/wal-format.js'],
    ['src/actors/probe.ts', '../wal/segment-writer.js'],
    ['src/engine.ts', './actors/wal-actor.js'],
    ['src/store.ts', './engine.js'],
    ['src/cli/commands/probe.ts', '../../store.js'],
    ['src/level/probe.ts', '../store.js'],
    ['src/store.ts', './read-view.js'],
    ['src/replication/probe.ts', '../store.js'],
    ['src/engine.ts', './commit-gate.js'],
  ])('%s may import %s', async (file, specifier) => {
    expect(await lintPasses(file, importOf(specifier))).toBe(true);
  });
});
