import fs, { promises as fsp, constants as fsConstants } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { appendSyncBytesMax } from '../limits.js';
import type { FileHandle, FileLock, FileSystem, ReadHandle } from './file-system.js';

// fs-native-extensions is CommonJS with a native addon: load it through require so ESM consumers need no interop.
const require = createRequire(import.meta.url);
const nativeExtensions = require('fs-native-extensions') as { tryLock(fd: number): boolean };

/**
 * The real file system, on `node:fs/promises`.
 *
 * Locking uses a kernel lock through `fs-native-extensions` (maintained, prebuilt for each platform,
 * safe in worker threads; on Linux an open-file-description lock, `fcntl(F_OFD_SETLK)`) rather than
 * a PID file: the kernel drops the lock when its holder dies, so a store whose process was `kill -9`ed
 * can be reopened at once, with no staleness timeout and no race between two processes "breaking" a
 * stale lock. The lock belongs to an open file description, so a second open in the same process or
 * in another worker thread conflicts too. The lock's addon must also load safely in a second thread,
 * which is why it is this one: an addon that aborts there would take every worker down.
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
    // Never O_APPEND ('a'): Linux then ignores the write position, and `extendWithZeros` must not move it.
    const flags = { new: 'wx', truncate: 'w', never: 'r+' }[create];
    const fd = await promisify(fs.open)(filePath, flags);
    let positionBytes = create === 'never' ? (await promisify(fs.fstat)(fd)).size : 0;
    /** The file's size as this handle made it (the store is its only writer). */
    let fileBytes = positionBytes;
    return {
      async append(data) {
        // Small appends go straight to the page cache on this thread: a write of a few KiB costs
        // microseconds, less than the thread-pool round trip an async write would add to every commit.
        if (data.byteLength <= appendSyncBytesMax) writeAllSync(fd, data, positionBytes);
        else await writeAll(fd, data, positionBytes);
        positionBytes += data.byteLength;
        fileBytes = Math.max(fileBytes, positionBytes);
      },
      async extendWithZeros(toBytes) {
        // Written, not ftruncate'd or fallocate'd: a sparse or unwritten extent would turn each later
        // overwrite into an allocation (a metadata change the fdatasync must journal), the cost this avoids.
        for (; fileBytes < toBytes; ) {
          const bytes = Math.min(toBytes - fileBytes, zeroChunk.byteLength);
          await writeAll(fd, zeroChunk.subarray(0, bytes), fileBytes);
          fileBytes += bytes;
        }
      },
      sync: () => fdatasync(fd),
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
    let locked: boolean;
    try {
      locked = nativeExtensions.tryLock(handle.fd); // non-blocking: returns false if someone holds it
    } catch (error) {
      await handle.close();
      throw error;
    }
    if (!locked) {
      await handle.close();
      throw Object.assign(new Error(`lock held on ${filePath}`), { code: 'ELOCKED' });
    }
    let released = false;
    return {
      async release() {
        if (released) return;
        released = true;
        // Closing the descriptor drops the lock.
        await handle.close();
      },
    };
  }
}

const fdatasync = promisify(fs.fdatasync);
/** Zeros written by `extendWithZeros`, a chunk at a time; shared, never written to. */
const zeroChunk = Buffer.alloc(1024 * 1024);

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
