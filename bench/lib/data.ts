/**
 * The benchmark's data: 16-byte keys, 100-byte values, and a seeded PRNG so every store sees the
 * same sequence. Everything a timed loop needs is built before the loop starts.
 */

export const keyBytes = 16;
export const valueBytes = 100;
/** What one key-value pair is worth as plain data: the yardstick for memory per key. */
export const rawEntryBytes = keyBytes + valueBytes;

/** `key:` + 12 digits = 16 bytes. Per-lookup key building in W4 uses this same expression. */
export function keyFor(i: number): string {
  return `key:${String(i).padStart(12, '0')}`;
}

export function keysFor(count: number, start = 0): string[] {
  const keys = new Array<string>(count);
  for (let i = 0; i < count; i++) keys[i] = keyFor(start + i);
  return keys;
}

const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** 256 distinct 100-byte ASCII values; value `i` of a run is `values[i % 256]`. */
export function makeValues(seed = 7): string[] {
  const random = prng(seed);
  const values: string[] = [];
  for (let v = 0; v < 256; v++) {
    let text = '';
    for (let c = 0; c < valueBytes; c++) text += alphabet[Math.floor(random() * alphabet.length)];
    values.push(text);
  }
  return values;
}

/** mulberry32: small, fast, seeded. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` uniform indices in [0, range). */
export function randomIndices(count: number, range: number, seed: number): Uint32Array {
  const random = prng(seed);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.floor(random() * range);
  return out;
}
