import type { FileHandle, FileLock, FileSystem, ReadHandle } from '../../src/index.js';

/**
 * Wraps a FileSystem so a test can hold `FileHandle.sync()` calls mid-flight and let them go one at a
 * time: "the fsync has started but not finished" becomes a state a test can stand in (and crash in),
 * without timers. Everything else goes straight to the inner file system.
 */
export class GatedFileSystem implements FileSystem {
  readonly inner: FileSystem;
  #holding: string | undefined;
  #held: Array<() => void> = [];
  #waiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(inner: FileSystem) {
    this.inner = inner;
  }

  /** From now on, a sync of a file whose path contains `pathIncludes` waits for `releaseOne`/`releaseAll`. */
  holdSyncs(pathIncludes: string): void {
    this.#holding = pathIncludes;
  }

  /** Syncs waiting now. */
  get heldCount(): number {
    return this.#held.length;
  }

  /** Resolves once at least `count` syncs are waiting. */
  heldSyncs(count = 1): Promise<void> {
    if (this.#held.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  /** Lets the oldest waiting sync go on to the inner file system. */
  releaseOne(): void {
    const next = this.#held.shift();
    if (next === undefined) throw new Error('no sync is being held');
    next();
  }

  /** Stops holding and lets every waiting sync go, oldest first. */
  releaseAll(): void {
    this.#holding = undefined;
    for (const next of this.#held.splice(0)) next();
  }

  async openAppend(filePath: string, create: 'new' | 'truncate' | 'never'): Promise<FileHandle> {
    const handle = await this.inner.openAppend(filePath, create);
    return {
      append: (data) => handle.append(data),
      ...(handle.extendWithZeros === undefined ? {} : { extendWithZeros: (toBytes: number) => handle.extendWithZeros!(toBytes) }),
      sync: async () => {
        if (this.#holding !== undefined && filePath.includes(this.#holding)) await this.#hold();
        return handle.sync();
      },
      close: () => handle.close(),
    };
  }

  #hold(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#held.push(resolve);
      const ready = this.#waiters.filter((waiter) => this.#held.length >= waiter.count);
      this.#waiters = this.#waiters.filter((waiter) => this.#held.length < waiter.count);
      for (const waiter of ready) waiter.resolve();
    });
  }

  mkdir(dirPath: string): Promise<void> {
    return this.inner.mkdir(dirPath);
  }
  readdir(dirPath: string): Promise<string[]> {
    return this.inner.readdir(dirPath);
  }
  readFile(filePath: string): Promise<Uint8Array> {
    return this.inner.readFile(filePath);
  }
  openRead(filePath: string): Promise<ReadHandle> {
    return this.inner.openRead(filePath);
  }
  rename(fromPath: string, toPath: string): Promise<void> {
    return this.inner.rename(fromPath, toPath);
  }
  unlink(filePath: string): Promise<void> {
    return this.inner.unlink(filePath);
  }
  truncate(filePath: string, lengthBytes: number): Promise<void> {
    return this.inner.truncate(filePath, lengthBytes);
  }
  size(filePath: string): Promise<number> {
    return this.inner.size(filePath);
  }
  syncDir(dirPath: string): Promise<void> {
    return this.inner.syncDir(dirPath);
  }
  lock(filePath: string): Promise<FileLock> {
    return this.inner.lock(filePath);
  }
}
