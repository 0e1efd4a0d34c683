/**
 * What `npm publish` would ship. Runs the real `npm pack --dry-run --json`, which runs `prepack` (a clean
 * build into dist/, about 2 s) and lists the tarball's files without writing it. No tarball is left behind.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface PackedFile {
  path: string;
  mode: number;
}

const staleFile = 'dist/stale-from-package-test.js';
let files: PackedFile[];
const paths = (): string[] => files.map((f) => f.path);

beforeAll(async () => {
  // A file the build does not produce: `npm run build` must remove it (dist/ is cleaned before each build).
  mkdirSync(join(root, 'dist'), { recursive: true });
  writeFileSync(join(root, staleFile), 'left over from an older build\n');
  const { stdout, stderr } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json'], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  });
  let report: Array<{ files: PackedFile[] }>;
  try {
    report = JSON.parse(stdout);
  } catch {
    throw new Error(`npm pack --dry-run --json printed no JSON report:\n${stdout}\n${stderr}`);
  }
  expect(report).toHaveLength(1);
  files = report[0].files;
});

describe('the npm package', () => {
  it('ships only package.json, README.md, LICENSE and the JavaScript and declarations in dist/', () => {
    const unexpected = paths().filter((p) => !['package.json', 'README.md', 'LICENSE'].includes(p) && !/^dist\/.+\.(js|d\.ts)$/.test(p));
    expect(unexpected).toEqual([]);
    expect(paths()).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE']));
  });

  it('ships a fresh build: files left in dist/ by an older build are not packed', () => {
    expect(paths()).not.toContain(staleFile);
    expect(paths()).toContain('dist/index.js');
  });

  it('ships the entry points, their declarations and the CLI', () => {
    expect(paths()).toEqual(
      expect.arrayContaining([
        'dist/index.js',
        'dist/index.d.ts',
        'dist/testing/index.js',
        'dist/testing/index.d.ts',
        'dist/worker/index.js',
        'dist/worker/index.d.ts',
        'dist/level/index.js',
        'dist/level/index.d.ts',
        'dist/cli/main.js',
      ]),
    );
  });

  it('ships every file that package.json main, types, bin and exports point at', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const targets = [manifest.main, manifest.types, ...Object.values(manifest.bin), ...exportTargets(manifest.exports)];
    const missing = targets.map((t: string) => t.replace(/^\.\//, '')).filter((t: string) => !paths().includes(t));
    expect(missing).toEqual([]);
  });

  it('ships the CLI executable, so the bin runs even where the installer keeps file modes as packed', () => {
    const cli = files.find((f) => f.path === 'dist/cli/main.js');
    expect(cli).toBeDefined();
    expect(cli!.mode & 0o111).toBe(0o111);
    expect(readFileSync(join(root, 'dist/cli/main.js'), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  it('ships no source maps: they would point at src/, which is not in the package', () => {
    expect(paths().filter((p) => p.endsWith('.map'))).toEqual([]);
    const mapped = paths()
      .filter((p) => p.endsWith('.js'))
      .filter((p) => readFileSync(join(root, p), 'utf8').includes('sourceMappingURL'));
    expect(mapped).toEqual([]);
  });
});

/** Every file path in an `exports` map (strings at any depth of conditions). */
function exportTargets(exports: unknown): string[] {
  if (typeof exports === 'string') return [exports];
  if (exports === null || typeof exports !== 'object') return [];
  return Object.values(exports).flatMap(exportTargets);
}
