/**
 * Where the bytes of an in-memory store go: the heap per key of each part of the memtable's shape,
 * built up one part at a time in fresh processes, then a real store reopened with the same keys,
 * and the process's RSS. 16-byte keys, 100-byte values (each value its own string, as after a
 * reopen), as in W4.
 *
 *   npm run bench:memory [-- --keys 1000000]
 *
 * Each figure is the heap (or RSS) after a full GC, divided by the key count: what one more key
 * costs. Issue 15's goal is an RSS at 1M keys of at most 1.25× Redis's (185 MB there).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const shapes = ['baseline', 'keys', 'keys+values', 'Map<key,value>', 'Map<key,entry>', 'store'] as const;
type Shape = (typeof shapes)[number];

interface Measured {
  heapBytesPerKey: number;
  rssMb: number;
}

const keysArg = process.argv.indexOf('--keys');
const keyCount = keysArg === -1 ? 1_000_000 : Number(process.argv[keysArg + 1]);

if (process.argv[2] === '--child') {
  const measured = await measure(process.argv[3] as Shape | 'prepare', Number(process.argv[4]), process.argv[5]);
  if (process.argv[3] !== 'prepare') console.log(JSON.stringify(measured));
} else {
  await main();
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dkv-memory-'));
  try {
    execFileSync(process.execPath, ['--import', 'tsx', __filenameOf(), '--child', 'prepare', String(keyCount), dir], { stdio: 'inherit' });
    const rows = Object.fromEntries(shapes.map((shape) => [shape, child(shape, dir)])) as Record<Shape, Measured>;
    const heap = (shape: Shape) => rows[shape].heapBytesPerKey - rows.baseline.heapBytesPerKey;
    // The arrays that hold keys and values alone cost a slot (8 bytes) per element; a Map has none.
    const slotBytes = 8;
    const parts: Array<[string, number]> = [
      ['key string', heap('keys') - slotBytes],
      ['value string', heap('keys+values') - heap('keys') - slotBytes],
      ['Map slot', heap('Map<key,value>') - (heap('keys+values') - 2 * slotBytes)],
      ['entry object', heap('Map<key,entry>') - heap('Map<key,value>')],
      ['the rest of the store', heap('store') - heap('Map<key,entry>')],
    ];
    console.log(`memory per key, ${keyCount} keys of 16 bytes with 100-byte values (heap after a full GC; node ${process.version})`);
    for (const [part, bytes] of parts) console.log(`  ${part.padEnd(22)} ${bytes.toFixed(0).padStart(5)} B`);
    console.log(`  ${'store, in all'.padEnd(22)} ${heap('store').toFixed(0).padStart(5)} B/key heap`);
    const rss = rows.store.rssMb;
    console.log(
      `RSS: the store's process ${rss.toFixed(0)} MB with ${keyCount} keys; node with this harness and nothing loaded ${rows.baseline.rssMb.toFixed(0)} MB`,
    );
    console.log(`     issue 15's goal at 1M keys: ${(1.25 * 185).toFixed(0)} MB (1.25× Redis's 185 MB)`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function __filenameOf(): string {
  return path.join(here, 'memory-breakdown.ts');
}

function child(shape: Shape, dir: string): Measured {
  const output = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', __filenameOf(), '--child', shape, String(keyCount), dir],
    {
      encoding: 'utf8',
    },
  );
  return JSON.parse(output.trim().split('\n').at(-1)!) as Measured;
}

function key(i: number): string {
  return `key:${String(i).padStart(12, '0')}`;
}

/** A fresh string per value, as a reopened store holds them (not one shared literal). */
function value(i: number): string {
  return Buffer.from(`${String(i).padStart(12, '0')}${'v'.repeat(88)}`, 'latin1').toString('latin1');
}

async function measure(shape: Shape | 'prepare', count: number, dir: string): Promise<Measured> {
  const { DurableKVStore } = await import('../src/index.js');
  if (shape === 'prepare') {
    const store = await DurableKVStore.open(dir, { sync: 'never', autoSnapshot: false });
    for (let start = 0; start < count; start += 10_000) {
      const ops = [];
      for (let i = start; i < Math.min(count, start + 10_000); i++) ops.push({ type: 'put' as const, key: key(i), value: value(i) });
      await store.batch(ops);
    }
    await store.snapshot();
    await store.close();
    return { heapBytesPerKey: 0, rssMb: 0 };
  }
  const gc = (globalThis as { gc?: () => void }).gc!;
  const keep: unknown[] = [];
  if (shape === 'keys' || shape === 'keys+values') {
    const keys = new Array<string>(count);
    for (let i = 0; i < count; i++) keys[i] = Buffer.from(key(i), 'latin1').toString('latin1');
    keep.push(keys);
    if (shape === 'keys+values') keep.push(Array.from({ length: count }, (_, i) => value(i)));
  } else if (shape === 'Map<key,value>' || shape === 'Map<key,entry>') {
    const map = new Map<string, unknown>();
    for (let i = 0; i < count; i++) {
      const k = Buffer.from(key(i), 'latin1').toString('latin1');
      map.set(k, shape === 'Map<key,value>' ? value(i) : { value: value(i), version: i + 1, expiresAt: 0 });
    }
    keep.push(map);
  } else if (shape === 'store') {
    const store = await DurableKVStore.open(dir, { autoSnapshot: false });
    // An open leaves the snapshot's blocks to load in the background: measure the store once it holds every key.
    while (store.stats().keysLoading > 0) await new Promise((resolve) => setTimeout(resolve, 10));
    keep.push(store);
  }
  (globalThis as { kept?: unknown }).kept = keep; // alive through the collections below
  gc();
  gc();
  const usage = process.memoryUsage();
  return { heapBytesPerKey: usage.heapUsed / count, rssMb: usage.rss / 1e6 };
}
