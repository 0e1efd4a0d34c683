/**
 * The floor of a WAL replay in JavaScript, against durable-kv's own: issue 15 asked for 300 MB/s.
 *
 * Builds a store of N keys in a snapshot plus N single-put WAL records overwriting them (W7's shape),
 * then in fresh processes: (1) opens it and reports the WAL replay's own rate (the snapshot blocks
 * its writes decoded apart); (2) walks the same WAL bytes doing only what any replay must — the CRC
 * (the same slice-by-8), a key string and a value string, an entry object, a `Map.set` over a map that
 * already holds every key — and (3) the same without the `Map.set`. Medians of 3.
 *
 *   npm run bench:replay-floor [-- --keys 1000000]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { crc32cRange } from '../src/format/crc32c.js';
import {
  opCountBytes,
  opHeaderBytes,
  opKeyBytesOffset,
  recordPayloadBytesOffset,
  recordSeqOffset,
  valueLengthBytes,
  walRecordHeaderBytes,
  walSegmentHeaderBytes,
} from '../src/format/wal-format.js';
import { DurableKVStore } from '../src/index.js';

const script = fileURLToPath(import.meta.url);
const keysArg = process.argv.indexOf('--keys');
const keyCount = keysArg === -1 ? 1_000_000 : Number(process.argv[keysArg + 1]);
const key = (i: number) => `key:${String(i).padStart(12, '0')}`;
const value = (i: number) => `${String(i % 997).padStart(3, '0')}${'v'.repeat(97)}`;

type Mode = 'store' | 'floor' | 'floor-no-set';

if (process.argv[2] === '--child') console.log(JSON.stringify(await child(process.argv[3] as Mode, process.argv[4])));
else await main();

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dkv-replay-floor-'));
  try {
    await build(dir);
    const rows: Array<[Mode, string]> = [
      ['store', "durable-kv's WAL replay (snapshot blocks apart)"],
      ['floor', 'floor: CRC + 2 strings + entry + Map.set'],
      ['floor-no-set', 'floor without the Map.set'],
    ];
    console.log(
      `WAL replay of ${keyCount} single-put records (100-byte values) over a snapshot of the same keys; medians of 3 fresh processes`,
    );
    for (const [mode, label] of rows) {
      const runs = [0, 1, 2].map(
        () =>
          JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', script, '--child', mode, dir], { encoding: 'utf8' })) as {
            mbS: number;
            usPerRecord: number;
          },
      );
      const median = runs.sort((a, b) => a.mbS - b.mbS)[1];
      console.log(`  ${label.padEnd(48)} ${median.mbS.toFixed(0).padStart(5)} MB/s  ${median.usPerRecord.toFixed(2)} µs/record`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function build(dir: string): Promise<void> {
  const store = await DurableKVStore.open(dir, { sync: 'never', autoSnapshot: false });
  for (let start = 0; start < keyCount; start += 10_000) {
    const ops = [];
    for (let i = start; i < Math.min(keyCount, start + 10_000); i++) ops.push({ type: 'put' as const, key: key(i), value: value(i) });
    await store.batch(ops);
  }
  await store.snapshot();
  const inFlight = 256;
  let next = 0;
  const writer = async () => {
    while (next < keyCount) {
      const i = next++;
      await store.put(key(i), value(i + 1));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, writer));
  await store.close();
}

async function child(mode: Mode, dir: string): Promise<{ mbS: number; usPerRecord: number }> {
  if (mode === 'store') {
    const store = await DurableKVStore.open(dir, { autoSnapshot: false });
    const report = store.recoveryReport;
    await store.close();
    const walBytes = report.bytesRead - (report.snapshot?.bytes ?? 0);
    const ms = report.walMs - report.walBlockLoadMs;
    return { mbS: walBytes / 1e6 / (ms / 1000), usPerRecord: (ms * 1000) / report.recordsReplayed };
  }
  // Only the segments after the snapshot: the store keeps the ones it covers until the next one.
  const snapshotSeq = Number(/snap-(\d+)/.exec(fs.readdirSync(dir).find((name) => name.startsWith('snap-')) ?? '')?.[1] ?? 0);
  const segments = fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.wal'))
    .sort()
    .filter((_name, index, all) => index === all.length - 1 || Number(/wal-(\d+)/.exec(all[index + 1])?.[1]) > snapshotSeq + 1)
    .map((name) => fs.readFileSync(path.join(dir, name)));
  const map = new Map<string, unknown>();
  for (let i = 0; i < keyCount; i++) map.set(key(i), { value: '', version: 1, expiresAt: 0 });
  const startedAt = performance.now();
  let records = 0;
  let bytes = 0;
  for (const segment of segments) {
    for (let at = walSegmentHeaderBytes; at + walRecordHeaderBytes <= segment.byteLength; ) {
      const payloadBytes = segment.readUInt32LE(at + recordPayloadBytesOffset);
      const end = at + walRecordHeaderBytes + payloadBytes;
      if (payloadBytes === 0 || end > segment.byteLength) break; // preallocated zeros: the end
      crc32cRange(segment, at + recordPayloadBytesOffset, end);
      const seq = segment.readUInt32LE(at + recordSeqOffset);
      const ops = segment.readUInt32LE(at + walRecordHeaderBytes);
      let op = at + walRecordHeaderBytes + opCountBytes;
      for (let i = 0; i < ops; i++) {
        const keyStart = op + opHeaderBytes;
        const keyEnd = keyStart + segment.readUInt32LE(op + opKeyBytesOffset);
        const valueStart = keyEnd + valueLengthBytes;
        const valueEnd = valueStart + segment.readUInt32LE(keyEnd);
        const entry = { value: segment.toString('utf8', valueStart, valueEnd), version: seq, expiresAt: 0 };
        const k = segment.toString('utf8', keyStart, keyEnd);
        if (mode === 'floor') map.set(k, entry);
        op = valueEnd;
      }
      records++;
      bytes += end - at;
      at = end;
    }
  }
  const ms = performance.now() - startedAt;
  return { mbS: bytes / 1e6 / (ms / 1000), usPerRecord: (ms * 1000) / records };
}
