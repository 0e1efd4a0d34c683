import path from 'node:path';
import { readdir, stat } from 'node:fs/promises';
import { DurableKVStore } from '../store.js';
import { NodeFileSystem } from '../fs/node-file-system.js';
import { classifyDirectory, lockFileName } from '../format/file-names.js';
import type { FileSystem, ReadHandle } from '../fs/file-system.js';
import type { DamageReport } from '../recovery/report.js';
import { CliError, exitCodes } from './exit-codes.js';
import { formatBytes, note, type CliContext } from './context.js';
import { startProgress } from './progress.js';

/**
 * Checks that `dir` holds a store, so a read-only command pointed at the wrong directory says so
 * instead of creating a store there. Returns the directory's entries.
 */
export async function requireStore(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new CliError(`no durable-kv store at ${dir} (no such directory)`, exitCodes.usage, 'ERR_NO_STORE');
    throw error;
  }
  const listing = classifyDirectory(names);
  if (!names.includes(lockFileName) && listing.segments.length === 0 && listing.snapshots.length === 0) {
    throw new CliError(`no durable-kv store at ${dir} (no LOCK, WAL or snapshot file in it)`, exitCodes.usage, 'ERR_NO_STORE');
  }
  return names;
}

/** Bytes recovery will read, about: every WAL segment and the newest snapshot. */
async function recoveryBytes(dir: string, names: string[]): Promise<number> {
  const listing = classifyDirectory(names);
  const files = [...listing.segments.map((segment) => segment.name), ...listing.snapshots.slice(0, 1).map((snapshot) => snapshot.name)];
  let total = 0;
  for (const name of files)
    total += await stat(path.join(dir, name)).then(
      (stats) => stats.size,
      () => 0,
    );
  return total;
}

export interface OpenOptions {
  /** Create the store if the directory holds none (writes do; reads refuse). */
  create: boolean;
  /** The store's `sync` policy (default: the store's own, 'always'). */
  sync?: 'always' | 'interval' | 'never';
}

/**
 * Opens the store for a command: a progress bar follows recovery on a terminal, and a torn tail
 * that recovery cut is told on stderr (it was never acknowledged, but a person may want to know).
 */
export async function openStore(dir: string, context: CliContext, options: OpenOptions): Promise<DurableKVStore<unknown>> {
  const names = options.create ? await readdir(dir).catch(() => []) : await requireStore(dir);
  const progress = startProgress(context, {
    label: 'recovering',
    total: context.showProgress ? await recoveryBytes(dir, names) : 0,
    unit: 'bytes',
  });
  let tornTail: DamageReport | undefined;
  let store: DurableKVStore<unknown>;
  try {
    store = (await DurableKVStore.open(dir, {
      valueEncoding: context.encoding,
      sync: options.sync,
      fs: context.showProgress ? new ReadCountingFileSystem(new NodeFileSystem(), (bytes) => progress.increment(bytes)) : undefined,
      listeners: {
        recovery: (report) => progress.update(report.bytesRead),
        'torn-tail': (damage) => (tornTail = damage),
      },
    })) as DurableKVStore<unknown>;
  } finally {
    progress.stop();
  }
  if (tornTail !== undefined) {
    note(
      `recovery cut a torn tail: ${formatBytes(tornTail.droppedBytes)} at byte ${tornTail.offset} of ${tornTail.file} (${tornTail.reason}); it was never acknowledged`,
    );
  }
  return store;
}

/** Runs `work` on the opened store and always closes it, even when `work` fails. */
export async function withStore<T>(
  dir: string,
  context: CliContext,
  options: OpenOptions,
  work: (store: DurableKVStore<unknown>) => Promise<T>,
): Promise<T> {
  const store = await openStore(dir, context, options);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** The real file system, counting the bytes read: recovery reports progress no other way. */
export class ReadCountingFileSystem implements FileSystem {
  readonly #inner: FileSystem;
  readonly #onRead: (bytes: number) => void;

  constructor(inner: FileSystem, onRead: (bytes: number) => void) {
    this.#inner = inner;
    this.#onRead = onRead;
  }

  mkdir = (dirPath: string) => this.#inner.mkdir(dirPath);
  readdir = (dirPath: string) => this.#inner.readdir(dirPath);
  openAppend = (filePath: string, create: 'new' | 'truncate' | 'never') => this.#inner.openAppend(filePath, create);
  rename = (fromPath: string, toPath: string) => this.#inner.rename(fromPath, toPath);
  unlink = (filePath: string) => this.#inner.unlink(filePath);
  truncate = (filePath: string, lengthBytes: number) => this.#inner.truncate(filePath, lengthBytes);
  size = (filePath: string) => this.#inner.size(filePath);
  syncDir = (dirPath: string) => this.#inner.syncDir(dirPath);
  lock = (filePath: string) => this.#inner.lock(filePath);

  async readFile(filePath: string): Promise<Uint8Array> {
    const bytes = await this.#inner.readFile(filePath);
    this.#onRead(bytes.byteLength);
    return bytes;
  }

  async openRead(filePath: string): Promise<ReadHandle> {
    const handle = await this.#inner.openRead(filePath);
    return {
      read: async (positionBytes, lengthBytes) => {
        const bytes = await handle.read(positionBytes, lengthBytes);
        this.#onRead(bytes.byteLength);
        return bytes;
      },
      close: () => handle.close(),
    };
  }
}
