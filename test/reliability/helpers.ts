import { expect } from 'vitest';
import { DurableKVStore, type StoreOptions } from '../../src/index.js';
import type { ErrorCode } from '../../src/errors.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { MemoryFileSystem } from '../../src/testing/index.js';

export { type CodedError, expectCode, rejectionOf, thrownBy } from '../helpers/errors.js';

/** Where every in-memory store of this suite lives. */
export const dir = '/db';

/** Every code a durable-kv error may carry: anything else escaping the store is a bug. */
export const storeErrorCodes: readonly ErrorCode[] = [
  'ERR_INVALID_ARG',
  'ERR_STORE_CLOSED',
  'ERR_STORE_LOCKED',
  'ERR_STORE_CORRUPT',
  'ERR_STORE_FAILED',
  'ERR_STORE_OVERLOADED',
];

/** Opens a utf8 store in `dir` on `fs`, with automatic snapshots off so tests decide when they run. */
export function openStore(fs: FileSystem, options: StoreOptions = {}): Promise<DurableKVStore<string>> {
  return DurableKVStore.open(dir, { fs, autoSnapshot: false, ...options }) as Promise<DurableKVStore<string>>;
}

/** The store's whole contents as a sorted plain object, for readable diffs. */
export function contentsOf(store: DurableKVStore<string>): Record<string, string> {
  return Object.fromEntries([...store.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function modelContents(model: ReadonlyMap<string, string>): Record<string, string> {
  return Object.fromEntries([...model].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Reopens the store on `fs`, checks its contents against `model`, closes it again. */
export async function expectReopenedContents(fs: FileSystem, model: ReadonlyMap<string, string>): Promise<void> {
  const store = await openStore(fs);
  try {
    expect(contentsOf(store)).toEqual(modelContents(model));
  } finally {
    await store.close();
  }
}

/** Puts `count` keys `${prefix}0..` one after another, recording each acknowledged write in `model`. */
export async function putMany(store: DurableKVStore<string>, model: Map<string, string>, count: number, prefix = 'k'): Promise<void> {
  for (let i = 0; i < count; i++) {
    const key = `${prefix}${i}`;
    const value = `value of ${key}`;
    await store.put(key, value);
    model.set(key, value);
  }
}

/**
 * A fresh MemoryFileSystem holding exactly what `memory` would hold after a power loss now (every
 * durable entry of `dir` with its durable bytes), minus the names in `dropped`: a crash image taken
 * without disturbing the running store.
 */
export function crashImage(memory: MemoryFileSystem, dropped: readonly string[] = []): MemoryFileSystem {
  const image = new MemoryFileSystem();
  for (const name of memory.listDurable(dir)) {
    if (dropped.includes(name)) continue;
    image.writeFileDurable(`${dir}/${name}`, memory.durableFileBytes(`${dir}/${name}`)!);
  }
  return image;
}

/** `inner`, with `before(op, args)` called ahead of every file-system call (not handle calls). */
export function withHook(inner: FileSystem, before: (op: string, args: unknown[]) => void): FileSystem {
  return new Proxy(inner, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        before(String(property), args);
        return (value as (...args: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** A store's files (the lock aside), by name. */
export type StoreFiles = Map<string, Uint8Array>;

/** The store's files as `memory` holds them now (a closed store's, typically). */
export async function storeFiles(memory: MemoryFileSystem): Promise<StoreFiles> {
  const files: StoreFiles = new Map();
  for (const name of await memory.readdir(dir)) {
    if (name !== 'LOCK') files.set(name, memory.fileBytes(`${dir}/${name}`)!);
  }
  return files;
}

/** A fresh file system holding `files`, durable, with `name` replaced by `bytes`. */
export function diskImage(files: StoreFiles, name?: string, bytes?: Uint8Array): MemoryFileSystem {
  const memory = new MemoryFileSystem();
  for (const [fileName, content] of files) memory.writeFileDurable(`${dir}/${fileName}`, fileName === name ? bytes! : content);
  return memory;
}

/** A copy of `bytes` with the byte at `offset` xor-ed with `mask`. */
export function flipped(bytes: Uint8Array, offset: number, mask: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[offset] ^= mask;
  return copy;
}
