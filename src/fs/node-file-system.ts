import fs, { promises as fsp, constants as fsConstants } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { appendSyncBytesMax } from '../limits.js';
import type { FileHandle, FileLock, FileSystem, ReadHandle } from './file-system.js';

// fs-ext is CommonJS with a native addon: load it through require so ESM consumers need no interop.
const require = createRequire(import.meta.url);

interface FsExt {
  flockSync(fd: number, flags: 'exnb'): void;
}
let fsExt: FsExt | undefined;

/**
 * fs-ext, loaded on the first lock rather than at import. Its addon is not safe in worker threads:
 * its init shares V8 handles across threads (loading it in a second thread can abort the process),
 * so a thread that only imports durable-kv (a worker using `connectStore`, or the error classes)
 * must not load it. Only flockSync is used: the async flock queues its completion on the main
 * thread's loop, which aborts the process when called from a worker. A non-blocking ('nb') flock
 * returns at once, so the sync call does not stall the event loop.
 */
function flockApi(): FsExt {
  fsExt ??= require('fs-ext') as FsExt;
  return fsExt;
}

/**
 * The real file system, on `node:fs/promises`.
 *
 * Locking uses `flock(2)` through `fs-ext` rather than a PID file: the kernel drops an flock when its
 * holder dies, so a store whose process was `kill -9`ed can be reopened at once, with no staleness
 * timeout and no race between two processes "breaking" a stale lock. flock locks belong to an open
 * file description, so a second open in the same process (or another worker thread) conflicts too.
 */
export class NodeFileSystem implements FileSystem {
  async mkdir(dirPath: string): Promise<void> {
    await fsp.mkdir(dirPath, { recursive: true });
  }

  async readdir(dirPath: string): Promise<string[]> {
    return fsp.readdir(dirPath);
  }

  async readFile(filePath: string): Promise<Uint8Array> {
    return fsp.readFile(filePath);
  }

  async openRead(filePath: string): Promise<ReadHandle> {
    const handle = await fsp.open(filePath, 'r');
    return {
      async read(positionBytes, lengthBytes) {
        const buffer = Buffer.allocUnsafe(lengthBytes);
        let filled = 0;
        while (filled < lengthBytes) {
          const { bytesRead } = await handle.read(buffer, filled, lengthBytes - filled, positionBytes + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return buffer.subarray(0, filled);
      },
      close: () => handle.close(),
    };
  }

  async openAppend(filePath: string, create: 'new' | 'truncate' | 'never'): Promise<FileHandle> {
    const flags = { new: 'ax', truncate: 'w', never: 'r+' }[create];
    const fd = await promisify(fs.open)(filePath, flags);
    let positionBytes = create === 'never' ? (await promisify(fs.fstat)(fd)).size : 0;
    return {
      async append(data) {
        // Small appends go straight to the page cache on this thread: a write of a few KiB costs
        // microseconds, less than the thread-pool round trip an async write would add to every commit.
        if (data.byteLength <= appendSyncBytesMax) writeAllSync(fd, data, positionBytes);
        else await writeAll(fd, data, positionBytes);
        positionBytes += data.byteLength;
      },
      sync: () => promisify(fs.fdatasync)(fd),
      close: () => promisify(fs.close)(fd),
    };
  }

  async rename(fromPath: string, toPath: string): Promise<void> {
    await fsp.rename(fromPath, toPath);
  }

  async unlink(filePath: string): Promise<void> {
    await fsp.unlink(filePath);
  }

  async truncate(filePath: string, lengthBytes: number): Promise<void> {
    const handle = await fsp.open(filePath, 'r+');
    try {
      await handle.truncate(lengthBytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async size(filePath: string): Promise<number> {
    return (await fsp.stat(filePath)).size;
  }

  async syncDir(dirPath: string): Promise<void> {
    const handle = await fsp.open(dirPath, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async lock(filePath: string): Promise<FileLock> {
    const handle = await fsp.open(filePath, 'a');
    try {
      flockApi().flockSync(handle.fd, 'exnb');
    } catch (error) {
      await handle.close();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
        throw Object.assign(new Error(`lock held on ${filePath}`), { code: 'ELOCKED', cause: error });
      }
      throw error;
    }
    let released = false;
    return {
      async release() {
        if (released) return;
        released = true;
        // Closing the descriptor drops the flock.
        await handle.close();
      },
    };
  }
}

function writeAllSync(fd: number, data: Uint8Array, positionBytes: number): void {
  for (let written = 0; written < data.byteLength; ) {
    written += fs.writeSync(fd, data, written, data.byteLength - written, positionBytes + written);
  }
}

async function writeAll(fd: number, data: Uint8Array, positionBytes: number): Promise<void> {
  const write = promisify(fs.write);
  for (let written = 0; written < data.byteLength; ) {
    const { bytesWritten } = await write(fd, data, written, data.byteLength - written, positionBytes + written);
    written += bytesWritten;
  }
}
