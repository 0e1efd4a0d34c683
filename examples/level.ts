/**
 * An app written for classic-level, switched to durable-kv by changing its one import line, and run
 * both ways: the two outputs side by side, and checked identical line for line.
 *
 *   npm run example:level
 *
 * The app is examples/level/inventory-app.ts, a small inventory and orders ledger: JSON values, a
 * sublevel, an atomic chained batch across the database and the sublevel, a reverse range with a
 * limit, getMany, a range clear, and a close and reopen. It is run as it is, on LevelDB; then a copy
 * of it, written to a temp directory with only its import line changed, is run on durable-kv. Each
 * run is its own process on its own fresh data directory.
 *
 * In an app of your own the new line reads `import { DurableLevel as Level } from 'durable-kv/level'`;
 * here the copy imports this repo's source by its absolute file URL instead, so the example runs
 * what is in src/ without a build. Nothing else in the app changes.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const app = path.join(repo, 'examples', 'level', 'inventory-app.ts');
const source = readFileSync(app, 'utf8');

// The one line to change: the app's import of its database class.
const lines = source.split('\n');
const importLines = lines.filter((line) => /^import .* from 'classic-level';$/.test(line));
if (importLines.length !== 1) throw new Error(`expected one import from 'classic-level' in ${app}, found ${importLines.length}`);
const classicImport = importLines[0]!;
const durableImport = `import { DurableLevel as Level } from '${pathToFileURL(path.join(repo, 'src', 'level', 'index.ts')).href}';`;
const variant = lines.map((line) => (line === classicImport ? durableImport : line)).join('\n');

/** Runs the app (`file`) in a child process on a fresh data directory: its stdout lines, or why it failed. */
async function runApp(file: string, data: string): Promise<{ lines: string[] } | { failed: string }> {
  mkdirSync(data);
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', file, data], { cwd: repo, timeout: 60_000 });
    return { lines: stdout.trimEnd().split('\n') };
  } catch (error) {
    const { message, stdout = '', stderr = '' } = error as Error & { stdout?: string; stderr?: string };
    return { failed: `${message}\n${stdout}${stderr}` };
  }
}

const tmp = mkdtempSync(path.join(tmpdir(), 'durable-kv-level-'));
try {
  // The copy sits in a temp directory of its own, marked as ESM (tsx would otherwise compile a .ts
  // outside any "type": "module" package as CommonJS, where top-level await is refused).
  const variantDir = path.join(tmp, 'app');
  mkdirSync(variantDir);
  writeFileSync(path.join(variantDir, 'package.json'), '{ "type": "module" }\n');
  const variantFile = path.join(variantDir, 'inventory-app.ts');
  writeFileSync(variantFile, variant);

  const [classic, durable] = await Promise.all([
    runApp(app, path.join(tmp, 'classic-level-data')),
    runApp(variantFile, path.join(tmp, 'durable-kv-data')),
  ]);

  console.log(`${path.relative(repo, app)}, the one line changed:`);
  console.log(`- ${classicImport}`);
  console.log(`+ ${durableImport}`);
  console.log();

  if ('failed' in classic || 'failed' in durable) {
    if ('failed' in classic) console.log(`classic-level: the app failed: ${classic.failed}`);
    if ('failed' in durable) console.log(`durable-kv/level: the app failed: ${durable.failed}`);
    process.exitCode = 1;
  } else {
    // Side by side; a line that differs is marked with '≠' instead of '|'.
    const left = ['classic-level', ...classic.lines];
    const right = ['durable-kv/level', ...durable.lines];
    const leftWidth = Math.max(...left.map((line) => line.length));
    const rightWidth = Math.max(...right.map((line) => line.length));
    const rows = Math.max(left.length, right.length);
    let differ = 0;
    for (let i = 0; i < rows; i++) {
      const same = i === 0 || left[i] === right[i];
      if (!same) differ++;
      console.log(`${(left[i] ?? '').padEnd(leftWidth)} ${same ? '|' : '≠'} ${right[i] ?? ''}`.trimEnd());
      if (i === 0) console.log(`${'-'.repeat(leftWidth)}-+-${'-'.repeat(rightWidth)}`);
    }
    console.log();
    if (differ > 0) {
      console.log(`classic-level and durable-kv/level differ on ${differ} of ${rows - 1} lines`);
      process.exitCode = 1;
    } else {
      console.log(`same output from classic-level and durable-kv/level (${classic.lines.length} lines)`);
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
