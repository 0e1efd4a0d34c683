/**
 * The file-system interface every byte of durable-kv goes through.
 *
 * It is deliberately small: what a log-structured store needs and nothing more, so that a test can
 * swap in an in-memory or fault-injecting implementation (see `durable-kv/testing`) and see every
 * write, fsync, rename and directory fsync the engine performs.
 *
 * Semantics every implementation must keep (the crash-safety argument relies on them):
 * - `FileHandle.append` writes the whole buffer at the end of the file or rejects; a rejected append
 *   may have written a prefix (a torn write), never anything else.
 * - `FileHandle.append` writes at the handle's append position (the file's size when it was opened,
 *   then the end of the last append): `extendWithZeros` grows the file without moving it, and later
 *   appends overwrite those zeros in place.
 * - `FileHandle.sync` makes the file's data durable (fdatasync). Until it resolves, appended bytes may
 *   be lost on power failure, and bytes written over durable ones (preallocated zeros) may survive
 *   in any subset of their sectors: a crash can leave a hole with later writes intact after it. A failed sync must not be retried by the caller: the kernel may already
 *   have dropped the dirty pages ("fsyncgate").
 * - `rename`, file creation and `unlink` become durable only after `syncDir` of the parent directory.
 * - Errors carry a Node-style `code` (`ENOENT`, `EEXIST`, `EIO`, `ENOSPC`, ...).
 */
export interface FileSystem {
  /** Creates the directory and any missing parents; no error if it exists. */
  mkdir(dirPath: string): Promise<void>;
  /** Names (not paths) of the entries in a directory. */
  readdir(dirPath: string): Promise<string[]>;
  /** Whole-file read. The bytes are the caller's: the file system never changes them afterwards. */
  readFile(filePath: string): Promise<Uint8Array>;
  /** Opens an existing file for positioned reads (used to stream large snapshots). */
  openRead(filePath: string): Promise<ReadHandle>;
  /**
   * Opens a file for appending. `create: 'new'` fails with EEXIST if it exists; `create: 'truncate'`
   * creates or empties it; `create: 'never'` requires it to exist.
   */
  openAppend(filePath: string, create: 'new' | 'truncate' | 'never'): Promise<FileHandle>;
  /** Atomic replace of `to` by `from` (POSIX rename). Durable after `syncDir`. */
  rename(fromPath: string, toPath: string): Promise<void>;
  /** Removes a file. Durable after `syncDir`. */
  unlink(filePath: string): Promise<void>;
  /** Cuts a file to `lengthBytes` and makes that durable. */
  truncate(filePath: string, lengthBytes: number): Promise<void>;
  /** Size in bytes, or ENOENT. */
  size(filePath: string): Promise<number>;
  /** fsync of a directory: makes creations, renames and unlinks inside it durable. */
  syncDir(dirPath: string): Promise<void>;
  /**
   * Takes an exclusive lock on `filePath` (created if missing), without waiting. Rejects with code
   * `ELOCKED` if another holder — this process or another — has it. The lock must vanish with its
   * holder: a process killed with SIGKILL must not leave it behind.
   */
  lock(filePath: string): Promise<FileLock>;
}

export interface FileHandle {
  /** Writes the whole buffer at the append position and moves it (see the interface comment). */
  append(data: Uint8Array): Promise<void>;
  /**
   * Grows the file to `toBytes` by writing zeros past its current size — real zeros, so the blocks
   * are allocated and a later append over them is an overwrite, whose fdatasync need not commit a
   * new file size. Does not move the append position; a no-op if the file is already that long.
   * The new size and zeros are durable after the next `sync`. A rejected call may have written a
   * prefix of the zeros. Optional: without it the WAL is not preallocated (every write appends).
   */
  extendWithZeros?(toBytes: number): Promise<void>;
  /** fdatasync: the file's data (and size) is durable once this resolves. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface ReadHandle {
  /**
   * Reads up to `lengthBytes` at `positionBytes`; fewer bytes (possibly none) at the end of the file.
   * The bytes are the caller's: the file system never changes them afterwards.
   */
  read(positionBytes: number, lengthBytes: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface FileLock {
  release(): Promise<void>;
}

/**
 * The same bytes as a Buffer, without a copy. What `readFile` and `read` return belongs to the
 * caller (no file system changes it afterwards), so a view is safe; a copy of a 64 MiB segment cost
 * more than checking its records did.
 */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads the `code` of an error thrown by a file system, if any. */
export function fsErrorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
