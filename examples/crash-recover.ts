/**
 * The demo: a child process writes to a store with `sync: 'always'`, we kill it with SIGKILL in
 * the middle of its writes, then reopen the store and check that every write it was told had
 * succeeded is still there.
 *
 *   npm run demo
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DurableKVStore } from '../src/index.js';

const writesInFlight = 32;
const killAfterAcks = 2_000;

if (process.argv[2] === 'child') await writeUntilKilled(process.argv[3]);
else await main();

/** Child: many writers in flight; print each acknowledged key right after its promise resolves. */
async function writeUntilKilled(dir: string): Promise<void> {
  const store = await DurableKVStore.open(dir, { sync: 'always' });
  let next = 0;
  const writer = async () => {
    for (;;) {
      const n = next++;
      await store.put(`order:${String(n).padStart(6, '0')}`, JSON.stringify({ n, total: n * 7 }));
      process.stdout.write(`${n}\n`);
    }
  };
  await Promise.all(Array.from({ length: writesInFlight }, writer));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'durable-kv-demo-'));
  console.log(`store directory: ${dir}`);
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'child', dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const acknowledged = new Set<number>();
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    acknowledged.add(Number(line));
    if (acknowledged.size === killAfterAcks) child.kill('SIGKILL');
  });
  const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  lines.close();
  console.log(`child killed with ${String(signal)} after ${acknowledged.size} acknowledged writes`);

  const store = await DurableKVStore.open(dir);
  const report = store.recoveryReport;
  console.log(
    `reopened in ${report.durationMs.toFixed(1)} ms: ${store.size} keys, ${report.recordsReplayed} WAL records replayed` +
      (report.tornTail ? `, torn tail of ${report.tornTail.droppedBytes} bytes cut off` : ', no torn tail'),
  );
  const missing = [...acknowledged].filter((n) => store.get(`order:${String(n).padStart(6, '0')}`) === undefined);
  const unacknowledgedButPresent = store.size - (acknowledged.size - missing.length);
  console.log(`acknowledged writes present: ${acknowledged.size - missing.length} of ${acknowledged.size}`);
  console.log(`writes that landed but whose acknowledgement the kill cut off: ${unacknowledgedButPresent}`);
  const sample = `order:${String(Math.max(...acknowledged)).padStart(6, '0')}`;
  console.log(`last acknowledged write: ${sample} = ${store.get(sample)}`);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  if (missing.length > 0) {
    console.error(`LOST ${missing.length} acknowledged writes: ${missing.slice(0, 10).join(', ')}`);
    process.exit(1);
  }
  console.log('no acknowledged write was lost');
}
