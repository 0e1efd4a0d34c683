import fs from 'node:fs';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import type { BenchStore, OpenOptions } from './store.js';

/**
 * The baseline: the straightforward log on this disk. One append-only file, records
 * `crc32c u32 | keyBytes u32 | valueBytes u32 | key | value`, an in-memory Map as the index.
 *
 * Group commit: puts queue up; the writer takes everything queued, encodes it into one buffer, does
 * one write and (durable) one fdatasync, acknowledges the group, then takes the next group.
 * Open replays the whole file (checking every CRC) into the Map.
 *
 * Ranges (W8), the simplest correct design: the first range call sorts the Map's keys into an array
 * (`Array#sort`, UTF-16 code-unit order, which is UTF-8 byte order for these ASCII keys); a put of a
 * new key drops the array, so the next range call sorts again. A range binary-searches its start,
 * slices the keys it covers (the key set as of the call) and reads each value from the Map.
 */
const headerBytes = 12;
const logName = 'raw.log';

interface Pending {
  key: string;
  value: string;
  resolve: () => void;
  reject: (error: Error) => void;
}

export async function open(dir: string, options: OpenOptions): Promise<BenchStore> {
  const file = path.join(dir, logName);
  const map = fs.existsSync(file) ? replay(await fs.promises.readFile(file)) : new Map<string, string>();
  const fd = fs.openSync(file, 'a');
  let queue: Pending[] = [];
  let writing: Promise<void> | undefined;
  let sorted: string[] | undefined;

  const writeLoop = async () => {
    while (queue.length > 0) {
      const group = queue;
      queue = [];
      try {
        await writeAll(fd, encode(group));
        if (options.durable) await fdatasync(fd);
      } catch (error) {
        for (const pending of group) pending.reject(error as Error);
        continue;
      }
      for (const pending of group) {
        if (sorted !== undefined && !map.has(pending.key)) sorted = undefined;
        map.set(pending.key, pending.value);
        pending.resolve();
      }
    }
    writing = undefined;
  };

  return {
    put(key, value) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ key, value, resolve, reject });
        writing ??= writeLoop();
      });
    },
    get: (key) => map.get(key),
    range(gte, limit) {
      sorted ??= [...map.keys()].sort();
      const from = lowerBound(sorted, gte);
      const keys = sorted.slice(from, from + limit);
      let count = 0;
      for (const key of keys) if (map.get(key)!.length > 0) count++;
      return count;
    },
    async load(count, key, value) {
      for (let start = 0; start < count; start += 10_000) {
        const chunk: Pending[] = [];
        for (let i = start; i < Math.min(count, start + 10_000); i++)
          chunk.push({ key: key(i), value: value(i), resolve() {}, reject() {} });
        await writeAll(fd, encode(chunk));
        sorted = undefined;
        for (const entry of chunk) map.set(entry.key, entry.value);
      }
      await fdatasync(fd);
    },
    async close() {
      await writing;
      await fdatasync(fd);
      fs.closeSync(fd);
    },
    info: () => ({ keys: map.size }),
  };
}

/** The index of the first key ≥ `key` in the sorted array (its length when there is none). */
function lowerBound(sorted: readonly string[], key: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid] < key) low = mid + 1;
    else high = mid;
  }
  return low;
}

function encode(group: readonly Pending[]): Buffer {
  let bytes = 0;
  for (const { key, value } of group) bytes += headerBytes + Buffer.byteLength(key) + Buffer.byteLength(value);
  const buffer = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const { key, value } of group) {
    const keyBytes = buffer.write(key, at + headerBytes);
    const valueBytes = buffer.write(value, at + headerBytes + keyBytes);
    buffer.writeUInt32LE(keyBytes, at + 4);
    buffer.writeUInt32LE(valueBytes, at + 8);
    const end = at + headerBytes + keyBytes + valueBytes;
    buffer.writeUInt32LE(crc32c(buffer.subarray(at + 4, end)) >>> 0, at);
    at = end;
  }
  return buffer;
}

/** Rebuilds the index from the log; stops at the first record that does not check out (a torn tail). */
export function replay(bytes: Buffer): Map<string, string> {
  const map = new Map<string, string>();
  let at = 0;
  while (at + headerBytes <= bytes.byteLength) {
    const keyBytes = bytes.readUInt32LE(at + 4);
    const valueBytes = bytes.readUInt32LE(at + 8);
    const keyAt = at + headerBytes;
    const end = keyAt + keyBytes + valueBytes;
    if (end > bytes.byteLength) break;
    if (crc32c(bytes.subarray(at + 4, end)) >>> 0 !== bytes.readUInt32LE(at)) break;
    map.set(bytes.toString('utf8', keyAt, keyAt + keyBytes), bytes.toString('utf8', keyAt + keyBytes, end));
    at = end;
  }
  return map;
}

function writeAll(fd: number, buffer: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (offset: number) => {
      fs.write(fd, buffer, offset, buffer.byteLength - offset, null, (error, written) => {
        if (error) return reject(error);
        if (offset + written < buffer.byteLength) step(offset + written);
        else resolve();
      });
    };
    step(0);
  });
}

function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}
