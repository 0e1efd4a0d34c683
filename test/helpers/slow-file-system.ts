import type { FileHandle, FileLock, FileSystem, ReadHandle } from '../../src/index.js';
/** Delegates everything; the operations named in `slow` (syncDir by default) each take `delayMs` first, to widen races. */
export class SlowFileSystem implements FileSystem {
  constructor(
    readonly inner: FileSystem,
    public delayMs = 30,
    public slow: Array<keyof FileSystem> = ['syncDir'],
  ) {}
  #d(op: keyof FileSystem) {
    return this.slow.includes(op) ? new Promise((r) => setTimeout(r, this.delayMs)) : Promise.resolve();
  }
  async mkdir(p: string) {
    return this.inner.mkdir(p);
  }
  async readdir(p: string) {
    await this.#d('readdir');
    return this.inner.readdir(p);
  }
  async readFile(p: string) {
    await this.#d('readFile');
    return this.inner.readFile(p);
  }
  async openRead(p: string): Promise<ReadHandle> {
    return this.inner.openRead(p);
  }
  async openAppend(p: string, c: 'new' | 'truncate' | 'never'): Promise<FileHandle> {
    await this.#d('openAppend');
    return this.inner.openAppend(p, c);
  }
  async rename(a: string, b: string) {
    await this.#d('rename');
    return this.inner.rename(a, b);
  }
  async unlink(p: string) {
    await this.#d('unlink');
    return this.inner.unlink(p);
  }
  async truncate(p: string, n: number) {
    return this.inner.truncate(p, n);
  }
  async size(p: string) {
    return this.inner.size(p);
  }
  async syncDir(p: string) {
    await this.#d('syncDir');
    return this.inner.syncDir(p);
  }
  async lock(p: string): Promise<FileLock> {
    return this.inner.lock(p);
  }
}
