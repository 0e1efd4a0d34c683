import { posix } from 'node:path';
import type { FileHandle, FileLock, FileSystem, ReadHandle } from '../fs/file-system.js';
import { Prng } from './prng.js';

/** The unit a disk writes atomically: an overwrite that was not synced survives or reverts per sector. */
export const memorySectorBytes = 512;

export interface MemoryFileSystemOptions {
  /** Seeds which unsynced overwritten sectors survive a crash (default 0): a run replays from it. */
  seed?: number;
}

/**
 * An in-memory {@link FileSystem} that models what survives a power loss, so tests can `crash()` it
 * at any point and check that the store recovers.
 *
 * The durability model is the conservative one the `FileSystem` contract promises and no more:
 * - A file's size survives as of its last `FileHandle.sync()` (or `truncate()`, which syncs): bytes
 *   written past the durable size since then are lost.
 * - Bytes written over the durable region since the last sync (overwriting preallocated zeros, say)
 *   survive or revert to their durable contents per 512-byte sector (`memorySectorBytes`), each
 *   sector chosen independently by a PRNG seeded from the `seed` option: a crash can leave a hole
 *   with later sectors intact after it, as a real disk can. The choices are drawn at `crash()` in
 *   write order, so the same run replays the same holes. `durableFileBytes` shows every such sector
 *   reverted (what is certain to survive).
 * - Opening with O_TRUNC (`'truncate'`) then truncating below the durable size before a sync pins
 *   the durable contents, overwritten sectors reverted.
 * - Creating, renaming and unlinking a file change the directory at once, but the change survives only
 *   after `syncDir` of that directory. A cross-directory rename needs both directories synced; if only
 *   one was, a crash can leave the file under both names or neither, as the model dictates.
 * - `mkdir` is durable immediately (a simplification: the store creates its directory once, up front).
 * - `crash()` rolls every directory and file back to its durable state, invalidates every open handle
 *   (later calls reject with `EBADF`) and drops every lock, as a dead process would.
 *
 * Paths are POSIX; relative paths resolve against `/` (there is no working directory). Directories
 * cannot be renamed or unlinked: the store never does either, and leaving them out keeps the model small.
 * All methods do their work synchronously and return promises, so errors arrive as rejections.
 */
export class MemoryFileSystem implements FileSystem {
  readonly #root = new Directory();
  /** Bumped by `crash()`; a handle remembers the epoch it was opened in. */
  #epoch = 0;
  readonly #locks = new Map<Inode, object>();
  readonly #prng: Prng;

  constructor(options: MemoryFileSystemOptions = {}) {
    this.#prng = new Prng(options.seed ?? 0);
  }

  async mkdir(dirPath: string): Promise<void> {
    this.#mkdirSync(resolve(dirPath));
  }

  async readdir(dirPath: string): Promise<string[]> {
    const dir = this.#lookupDirectory(resolve(dirPath), 'scandir');
    // Sorted so that runs replay identically; real readdir order is unspecified anyway.
    return [...dir.entries.keys()].sort();
  }

  async readFile(filePath: string): Promise<Uint8Array> {
    return this.#lookupFile(resolve(filePath), 'open').bytes();
  }

  async openRead(filePath: string): Promise<ReadHandle> {
    const inode = this.#lookupFile(resolve(filePath), 'open');
    const guard = this.#handleGuard();
    return {
      read: async (positionBytes, lengthBytes) => {
        guard.check('read');
        checkNonNegativeInteger('positionBytes', positionBytes);
        checkNonNegativeInteger('lengthBytes', lengthBytes);
        return inode.read(positionBytes, lengthBytes);
      },
      close: async () => guard.close(),
    };
  }

  async openAppend(filePath: string, create: 'new' | 'truncate' | 'never'): Promise<FileHandle> {
    const inode = this.#openForAppend(resolve(filePath), create);
    const guard = this.#handleGuard();
    let positionBytes = inode.length;
    return {
      append: async (data) => {
        guard.check('write');
        inode.write(positionBytes, data);
        positionBytes += data.byteLength;
      },
      extendWithZeros: async (toBytes) => {
        guard.check('write');
        checkNonNegativeInteger('toBytes', toBytes);
        if (toBytes > inode.length) inode.truncate(toBytes);
      },
      sync: async () => {
        guard.check('fdatasync');
        inode.sync();
      },
      close: async () => guard.close(),
    };
  }

  async rename(fromPath: string, toPath: string): Promise<void> {
    const from = resolve(fromPath);
    const to = resolve(toPath);
    const at: ErrorTarget = { path: from, dest: to };
    const source = this.#locate(from, 'rename', at);
    const target = this.#locate(to, 'rename', at);
    const inode = source.dir.entries.get(source.name);
    if (inode === undefined) throw fsError('ENOENT', 'rename', at);
    if (inode instanceof Directory) throw fsError('EISDIR', 'rename', at);
    if (target.dir.entries.get(target.name) instanceof Directory) throw fsError('EISDIR', 'rename', at);
    if (from === to) return;
    source.dir.entries.delete(source.name);
    target.dir.entries.set(target.name, inode);
  }

  async unlink(filePath: string): Promise<void> {
    const resolved = resolve(filePath);
    const { dir, name } = this.#locate(resolved, 'unlink');
    const node = dir.entries.get(name);
    if (node === undefined) throw fsError('ENOENT', 'unlink', { path: resolved });
    if (node instanceof Directory) throw fsError('EISDIR', 'unlink', { path: resolved });
    dir.entries.delete(name);
  }

  async truncate(filePath: string, lengthBytes: number): Promise<void> {
    checkNonNegativeInteger('lengthBytes', lengthBytes);
    const inode = this.#lookupFile(resolve(filePath), 'open');
    inode.truncate(lengthBytes);
    inode.sync();
  }

  async size(filePath: string): Promise<number> {
    return this.#lookupFile(resolve(filePath), 'stat').length;
  }

  async syncDir(dirPath: string): Promise<void> {
    const dir = this.#lookupDirectory(resolve(dirPath), 'open');
    dir.durableEntries = new Map(dir.entries);
  }

  async lock(filePath: string): Promise<FileLock> {
    const resolved = resolve(filePath);
    const inode = this.#openForAppend(resolved, 'create');
    if (this.#locks.has(inode)) {
      throw Object.assign(new Error(`lock held on ${resolved}`), { code: 'ELOCKED' });
    }
    // A fresh token per lock, so a stale FileLock (from before a crash) cannot release a newer holder's lock.
    const token = {};
    this.#locks.set(inode, token);
    return {
      release: async () => {
        if (this.#locks.get(inode) === token) this.#locks.delete(inode);
      },
    };
  }

  /** Power loss: everything not made durable is lost, handles die, locks vanish. */
  crash(): void {
    this.#epoch += 1;
    this.#locks.clear();
    this.#root.rollBack(this.#prng);
  }

  /** Names in `dirPath` that would survive a crash now, sorted. */
  listDurable(dirPath: string): string[] {
    const dir = this.#lookupDirectory(resolve(dirPath), 'scandir');
    return [...dir.durableEntries.keys()].sort();
  }

  /** A copy of the file's current bytes, or `undefined` if there is no such file. */
  fileBytes(filePath: string): Uint8Array | undefined {
    const node = this.#findNode(resolve(filePath), 'entries');
    return node instanceof Inode ? node.bytes() : undefined;
  }

  /**
   * A copy of the bytes the file would hold after a crash now (durable entry, durable data), or
   * `undefined` if no such file would survive.
   */
  durableFileBytes(filePath: string): Uint8Array | undefined {
    const node = this.#findNode(resolve(filePath), 'durableEntries');
    return node instanceof Inode ? node.durableBytes() : undefined;
  }

  /** Test fixture: creates (or replaces) the file with `bytes`, already durable, creating parents. */
  writeFileDurable(filePath: string, bytes: Uint8Array): void {
    const resolved = resolve(filePath);
    this.#mkdirSync(posix.dirname(resolved));
    const { dir, name } = this.#locate(resolved, 'open');
    if (dir.entries.get(name) instanceof Directory) throw fsError('EISDIR', 'open', { path: resolved });
    const inode = new Inode();
    inode.append(bytes);
    inode.sync();
    dir.entries.set(name, inode);
    dir.durableEntries.set(name, inode);
  }

  /** Flips bits (`byte ^= xorMask`) at `offset` in both the current and the durable data: media corruption. */
  corrupt(filePath: string, offset: number, xorMask: number): void {
    checkNonNegativeInteger('offset', offset);
    if (!Number.isInteger(xorMask) || xorMask < 1 || xorMask > 0xff) {
      throw new RangeError(`xorMask must be an integer in 1..255, got ${xorMask}`);
    }
    this.#lookupFile(resolve(filePath), 'open').corrupt(offset, xorMask);
  }

  #mkdirSync(resolved: string): void {
    const names = components(resolved);
    let dir = this.#root;
    names.forEach((name, index) => {
      let child = dir.entries.get(name);
      if (child === undefined) {
        child = new Directory();
        // mkdir is durable at once (see the class comment).
        dir.entries.set(name, child);
        dir.durableEntries.set(name, child);
      }
      // Like `mkdir -p`: a file as the last component is EEXIST, as an earlier one ENOTDIR.
      if (!(child instanceof Directory)) throw fsError(index === names.length - 1 ? 'EEXIST' : 'ENOTDIR', 'mkdir', { path: resolved });
      dir = child;
    });
  }

  /** `create` adds the lock-file mode to openAppend's: create if missing, keep existing bytes (O_CREAT without O_TRUNC). */
  #openForAppend(resolved: string, create: 'new' | 'truncate' | 'never' | 'create'): Inode {
    const { dir, name } = this.#locate(resolved, 'open');
    const existing = dir.entries.get(name);
    if (existing instanceof Directory) throw fsError('EISDIR', 'open', { path: resolved });
    if (existing === undefined) {
      if (create === 'never') throw fsError('ENOENT', 'open', { path: resolved });
      const inode = new Inode();
      dir.entries.set(name, inode);
      return inode;
    }
    if (create === 'new') throw fsError('EEXIST', 'open', { path: resolved });
    // O_TRUNC empties the file now; like any data change, it is durable only after a sync.
    if (create === 'truncate') existing.truncate(0);
    return existing;
  }

  /** Tracks one handle's validity: closed, or opened before a crash, means EBADF. */
  #handleGuard(): { check(syscall: string): void; close(): void } {
    const openedEpoch = this.#epoch;
    let closed = false;
    const crashed = (): boolean => openedEpoch !== this.#epoch;
    return {
      check(syscall) {
        if (closed || crashed()) throw fsError('EBADF', syscall);
      },
      // Closing twice is a no-op, as with Node's FileHandle; closing after a crash is EBADF like the rest.
      close() {
        if (crashed()) throw fsError('EBADF', 'close');
        closed = true;
      },
    };
  }

  #lookupDirectory(resolved: string, syscall: string): Directory {
    const node = this.#walk(resolved, syscall, { path: resolved });
    if (!(node instanceof Directory)) throw fsError('ENOTDIR', syscall, { path: resolved });
    return node;
  }

  #lookupFile(resolved: string, syscall: string): Inode {
    const node = this.#walk(resolved, syscall, { path: resolved });
    if (node instanceof Directory) throw fsError('EISDIR', syscall, { path: resolved });
    return node;
  }

  /** The parent directory (which must exist) and the final name of a path. */
  #locate(resolved: string, syscall: string, at: ErrorTarget = { path: resolved }): { dir: Directory; name: string } {
    if (resolved === '/') throw fsError('EISDIR', syscall, at);
    const parent = this.#walk(posix.dirname(resolved), syscall, at);
    if (!(parent instanceof Directory)) throw fsError('ENOTDIR', syscall, at);
    return { dir: parent, name: posix.basename(resolved) };
  }

  /** Follows the volatile namespace; ENOENT if a component is missing, ENOTDIR if one is a file. */
  #walk(resolved: string, syscall: string, at: ErrorTarget): Node {
    let node: Node = this.#root;
    for (const name of components(resolved)) {
      if (!(node instanceof Directory)) throw fsError('ENOTDIR', syscall, at);
      const child: Node | undefined = node.entries.get(name);
      if (child === undefined) throw fsError('ENOENT', syscall, at);
      node = child;
    }
    return node;
  }

  /** Like `walk` but never throws, and can follow the durable namespace instead. */
  #findNode(resolved: string, view: 'entries' | 'durableEntries'): Node | undefined {
    let node: Node | undefined = this.#root;
    for (const name of components(resolved)) {
      node = node instanceof Directory ? node[view].get(name) : undefined;
    }
    return node;
  }
}

type Node = Directory | Inode;

/** A directory: the live namespace and the one that survives a crash (snapshot at the last syncDir). */
class Directory {
  entries = new Map<string, Node>();
  durableEntries = new Map<string, Node>();

  rollBack(prng: Prng): void {
    this.entries = new Map(this.durableEntries);
    // A file linked under two names (half-durable cross-directory rename) is rolled back twice: harmless.
    for (const node of this.entries.values()) node.rollBack(prng);
  }
}

/**
 * A file's contents: current bytes, and the bytes that survive a crash.
 *
 * Appends and syncs are the hot path of a write-ahead log, so syncing must not copy the whole file.
 * The durable bytes are the first `durableLength` bytes of the shared buffer, except for the sectors
 * in `overwritten`, whose durable contents are kept there (saved at their first overwrite since the
 * last sync). Only a cut below the durable length (O_TRUNC before a sync) pins a separate copy.
 * Invariant: without `durableCopy`, `durableLength <= length`, and bytes below `durableLength` change
 * only after their sector's durable contents were saved (or by `corrupt`, which hits both states).
 */
class Inode {
  #buffer: Uint8Array = new Uint8Array(0);
  length = 0;
  #durableLength = 0;
  #durableCopy: Uint8Array | undefined;
  /** Sector index -> its durable contents, for durable sectors overwritten since the last sync. */
  #overwritten = new Map<number, Uint8Array>();

  append(data: Uint8Array): void {
    this.write(this.length, data);
  }

  /** Writes `data` at `positionBytes`, zero-filling any gap past the end (like pwrite). */
  write(positionBytes: number, data: Uint8Array): void {
    const end = positionBytes + data.byteLength;
    this.#saveDurableSectors(positionBytes, end);
    this.#reserve(end);
    if (positionBytes > this.length) this.#buffer.fill(0, this.length, positionBytes);
    this.#buffer.set(data, positionBytes); // copies: the caller may reuse its buffer
    this.length = Math.max(this.length, end);
  }

  /** Cuts or zero-extends the current data (not durable by itself). */
  truncate(lengthBytes: number): void {
    if (lengthBytes < this.#durableLength && this.#durableCopy === undefined) {
      this.#durableCopy = this.durableBytes();
      this.#overwritten.clear();
    }
    if (lengthBytes > this.length) {
      this.#reserve(lengthBytes);
      this.#buffer.fill(0, this.length, lengthBytes);
    }
    this.length = lengthBytes;
  }

  sync(): void {
    this.#durableCopy = undefined;
    this.#durableLength = this.length;
    this.#overwritten.clear();
  }

  /** Power loss: the durable size, and each overwritten sector survives or reverts as `prng` draws. */
  rollBack(prng: Prng): void {
    if (this.#durableCopy !== undefined) {
      this.#buffer = this.#durableCopy;
      this.#durableLength = this.#durableCopy.byteLength;
      this.#durableCopy = undefined;
    }
    for (const [sector, durable] of this.#overwritten) {
      if (prng.chance(0.5)) this.#buffer.set(durable, sector * memorySectorBytes);
    }
    this.#overwritten.clear();
    this.length = this.#durableLength;
  }

  bytes(): Uint8Array {
    return this.#buffer.slice(0, this.length);
  }

  /** What is certain to survive a crash now: overwritten sectors reverted. */
  durableBytes(): Uint8Array {
    if (this.#durableCopy !== undefined) return this.#durableCopy.slice();
    const bytes = this.#buffer.slice(0, this.#durableLength);
    for (const [sector, durable] of this.#overwritten) bytes.set(durable, sector * memorySectorBytes);
    return bytes;
  }

  read(positionBytes: number, lengthBytes: number): Uint8Array {
    const start = Math.min(positionBytes, this.length);
    return this.#buffer.slice(start, Math.min(this.length, start + lengthBytes));
  }

  corrupt(offset: number, xorMask: number): void {
    const durableLength = this.#durableCopy?.byteLength ?? this.#durableLength;
    if (offset >= this.length && offset >= durableLength) {
      throw new RangeError(`offset ${offset} is beyond the file (${this.length} bytes, ${durableLength} durable)`);
    }
    if (offset < this.length) this.#buffer[offset] ^= xorMask;
    // Without a separate copy the durable bytes are the buffer's prefix, already flipped above,
    // except in an overwritten sector, whose durable contents are kept apart.
    if (this.#durableCopy !== undefined && offset < this.#durableCopy.byteLength) this.#durableCopy[offset] ^= xorMask;
    const saved = this.#durableCopy === undefined ? this.#overwritten.get(Math.floor(offset / memorySectorBytes)) : undefined;
    if (saved !== undefined && offset % memorySectorBytes < saved.byteLength) saved[offset % memorySectorBytes] ^= xorMask;
  }

  /** Before bytes [start, end) change: saves the durable contents of each durable sector they touch, once per sync. */
  #saveDurableSectors(start: number, end: number): void {
    if (this.#durableCopy !== undefined) return; // the durable contents are pinned apart already
    const durableEnd = Math.min(end, this.#durableLength);
    for (let sector = Math.floor(start / memorySectorBytes); sector * memorySectorBytes < durableEnd; sector++) {
      if (this.#overwritten.has(sector)) continue;
      const sectorStart = sector * memorySectorBytes;
      this.#overwritten.set(sector, this.#buffer.slice(sectorStart, Math.min(sectorStart + memorySectorBytes, this.#durableLength)));
    }
  }

  #reserve(capacity: number): void {
    if (capacity <= this.#buffer.byteLength) return;
    // Doubling keeps a long run of small appends linear overall.
    const grown = new Uint8Array(Math.max(capacity, this.#buffer.byteLength * 2, 64));
    grown.set(this.#buffer.subarray(0, this.length));
    this.#buffer = grown;
  }
}

function resolve(inputPath: string): string {
  // Resolving against '/' first means relative paths never consult process.cwd().
  return posix.resolve('/', inputPath);
}

function components(resolved: string): string[] {
  return resolved.split('/').filter((name) => name !== '');
}

function checkNonNegativeInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw Object.assign(new RangeError(`${name} must be a non-negative integer, got ${value}`), { code: 'ERR_OUT_OF_RANGE' });
  }
}

type FsErrorCode = 'ENOENT' | 'EEXIST' | 'EISDIR' | 'ENOTDIR' | 'EBADF';

const MESSAGES: Record<FsErrorCode, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  EISDIR: 'illegal operation on a directory',
  ENOTDIR: 'not a directory',
  EBADF: 'bad file descriptor',
};

/** The path(s) an error is about; `dest` is the second path of a rename. */
interface ErrorTarget {
  path: string;
  dest?: string;
}

/** An Error shaped like Node's system errors: `ENOENT: no such file or directory, open '/x'`. */
function fsError(code: FsErrorCode, syscall: string, at?: ErrorTarget): Error {
  const paths = at === undefined ? '' : ` '${at.path}'${at.dest === undefined ? '' : ` -> '${at.dest}'`}`;
  return Object.assign(new Error(`${code}: ${MESSAGES[code]}, ${syscall}${paths}`), { code, syscall, ...at });
}
