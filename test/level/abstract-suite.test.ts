/**
 * abstract-level's own test suite against DurableLevel (test/level/abstract-suite.mts, run with tape
 * in a child process): every test of every feature the manifest declares must pass, and none may be
 * skipped. The suite's count is checked too, so a manifest that stopped declaring a feature (and so
 * silently dropped its tests) fails here.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const runner = path.join(projectRoot, 'test/level/abstract-suite.mts');

/** Assertions the suite makes with the manifest as declared (abstract-level 3.1.1): a floor, not an exact count, so a patch release that adds tests still passes. */
const assertionsMin = 5_132;

function runSuite(): Promise<{ code: number | null; tap: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', runner], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let tap = '';
    child.stdout.on('data', (chunk: Buffer) => {
      tap += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      tap += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, tap }));
  });
}

describe("abstract-level's test suite", () => {
  it('passes in full against DurableLevel, with nothing skipped', { timeout: 180_000 }, async () => {
    const { code, tap } = await runSuite();
    const failures = tap.split('\n').filter((line) => line.startsWith('not ok'));
    expect(failures, tap.slice(-4_000)).toEqual([]);
    expect(code).toBe(0);
    const passed = Number(/^# pass\s+(\d+)$/m.exec(tap)?.[1] ?? 0);
    expect(passed).toBeGreaterThanOrEqual(assertionsMin);
    expect(tap).not.toMatch(/^ok \d+ .*# (SKIP|TODO)/m);
    expect(tap).toMatch(/^# ok$/m);
  });
});
