/**
 * The file system as one store "process" sees it: a pass-through that can lose power at a chosen
 * call and then behaves as a dead process does — it never does anything again.
 *
 * Each store the simulation opens gets its own ProcessFileSystem over the shared FaultyFileSystem.
 * After a crash the old store object is abandoned, but its code may still be running (a snapshot
 * half-way, a write loop); through this wrapper every call it makes, and every call that was under
 * way, never settles. Without it, an abandoned snapshot could rename or unlink files under the next
 * store's feet, which no dead process can do.
 */
import type { FileHandle, FileLock, FileSystem, ReadHandle } from '../../src/fs/file-system.js';
import type { FaultyFileSystem } from '../../src/testing/index.js';

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

export class ProcessFileSystem implements FileSystem {
  readonly #inner: FaultyFileSystem;
  #dead = false;
  #callsUntilCrash: number | undefined;
  #onCrash: () => void = () => undefined;
  /** Resolves when an armed crash point is reached. */
  readonly crashed: Promise<void>;
  calls = 0;

  constructor(inner: FaultyFileSystem) {
    this.#inner = inner;
    this.crashed = new Promise<void>((resolve) => (this.#onCrash = resolve));
  }

  get dead(): boolean {
    return this.#dead;
  }

  /** Power loss just before the `calls`-th next call (which then never happens); undefined disarms. */
  armCrash(calls: number | undefined): void {
    this.#callsUntilCrash = calls;
  }

  /** Power loss now: the file system loses what is not durable, this process is gone. */
  crash(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#callsUntilCrash = undefined;
    this.#inner.crash();
    this.#onCrash();
  }

  async #call<T>(run: () => Promise<T>): Promise<T> {
    if (this.#dead) return never();
    this.calls++;
    if (this.#callsUntilCrash !== undefined && --this.#callsUntilCrash <= 0) {
      this.crash();
      return never();
    }
    // Errors and results alike: a dead process does not see them.
    let result: T;
    try {
      result = await run();
    } catch (error) {
      if (this.#dead) return never();
      throw error;
    }
    if (this.#dead) return never();
    return result;
  }

  mkdir(dirPath: string): Promise<void> {
    return this.#call(() => this.#inner.mkdir(dirPath));
  }

  readdir(dirPath: string): Promise<string[]> {
    return this.#call(() => this.#inner.readdir(dirPath));
  }

  readFile(filePath: string): Promise<Uint8Array> {
    return this.#call(() => this.#inner.readFile(filePath));
  }

  async openRead(filePath: string): Promise<ReadHandle> {
    const handle = await this.#call(() => this.#inner.openRead(filePath));
    return {
      read: (positionBytes, lengthBytes) => this.#call(() => handle.read(positionBytes, lengthBytes)),
      close: () => this.#call(() => handle.close()),
    };
  }

  async openAppend(filePath: string, create: 'new' | 'truncate' | 'never'): Promise<FileHandle> {
    const handle = await this.#call(() => this.#inner.openAppend(filePath, create));
    return {
      append: (data) => this.#call(() => handle.append(data)),
      ...(handle.extendWithZeros === undefined
        ? {}
        : { extendWithZeros: (toBytes: number) => this.#call(() => handle.extendWithZeros!(toBytes)) }),
      sync: () => this.#call(() => handle.sync()),
      close: () => this.#call(() => handle.close()),
    };
  }

  rename(fromPath: string, toPath: string): Promise<void> {
    return this.#call(() => this.#inner.rename(fromPath, toPath));
  }

  unlink(filePath: string): Promise<void> {
    return this.#call(() => this.#inner.unlink(filePath));
  }

  truncate(filePath: string, lengthBytes: number): Promise<void> {
    return this.#call(() => this.#inner.truncate(filePath, lengthBytes));
  }

  size(filePath: string): Promise<number> {
    return this.#call(() => this.#inner.size(filePath));
  }

  syncDir(dirPath: string): Promise<void> {
    return this.#call(() => this.#inner.syncDir(dirPath));
  }

  async lock(filePath: string): Promise<FileLock> {
    const lock = await this.#call(() => this.#inner.lock(filePath));
    return { release: () => this.#call(() => lock.release()) };
  }
}
