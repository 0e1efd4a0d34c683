import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

/**
 * The disk's own durability latency: append 100 bytes + fdatasync, 200 times, median. Once with the
 * synchronous calls (the disk and kernel alone), once overwriting a preallocated file instead of
 * appending (no metadata to sync), once through node:fs/promises (adds the libuv thread-pool round
 * trips an async store pays per write and per sync).
 */
export async function measureFdatasync(dir: string, rounds = 200) {
  const data = Buffer.alloc(100, 0x61);
  const file = path.join(dir, 'fdatasync.probe');
  const fd = fs.openSync(file, 'a');
  const direct: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    fs.writeSync(fd, data);
    fs.fdatasyncSync(fd);
    direct.push(performance.now() - t0);
  }
  fs.closeSync(fd);
  // The same 100-byte writes into a file already written (zero-filled) and synced: no size or
  // extent change, so fdatasync has no metadata to commit. This is what a preallocated log gets.
  const preallocated = path.join(dir, 'fdatasync.preallocated');
  fs.writeFileSync(preallocated, Buffer.alloc(rounds * data.byteLength));
  const preFd = fs.openSync(preallocated, 'r+');
  fs.fsyncSync(preFd);
  const overwrite: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    fs.writeSync(preFd, data, 0, data.byteLength, i * data.byteLength);
    fs.fdatasyncSync(preFd);
    overwrite.push(performance.now() - t0);
  }
  // The same overwrites with the fdatasync on libuv's thread pool (the callback form), as the WAL
  // does it: the difference to the line above is the hop there and back that a store pays per sync
  // to keep its event loop serving reads while the disk works (better-sqlite3 syncs on the JS thread).
  const overwriteHopped: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    fs.writeSync(preFd, data, 0, data.byteLength, i * data.byteLength);
    await new Promise<void>((resolve, reject) => fs.fdatasync(preFd, (error) => (error ? reject(error) : resolve())));
    overwriteHopped.push(performance.now() - t0);
  }
  fs.closeSync(preFd);
  const handle = await fs.promises.open(file, 'a');
  const viaPromises: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await handle.write(data);
    await handle.datasync();
    viaPromises.push(performance.now() - t0);
  }
  await handle.close();
  return {
    metrics: {
      sync_p50_us: median(direct) * 1000,
      sync_p99_us: percentile(direct, 99) * 1000,
      sync_min_us: Math.min(...direct) * 1000,
      async_p50_us: median(viaPromises) * 1000,
      overwrite_p50_us: median(overwrite) * 1000,
      overwrite_pool_p50_us: median(overwriteHopped) * 1000,
    },
  };
}

function median(values: number[]): number {
  return percentile(values, 50);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
