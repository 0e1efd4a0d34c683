import path from 'node:path';
import type { FileLock, FileSystem } from './fs/file-system.js';
import { fsErrorCode } from './fs/file-system.js';
import { lockFileName } from './format/file-names.js';
import { StoreLockedError } from './errors.js';

/**
 * Takes the lock on a store's directory (`dir/LOCK`), or rejects with ERR_STORE_LOCKED when another
 * store — in this process or another — holds it. Open, repair and the CLI's dry runs all take it,
 * so none of them races a live store.
 */
export async function lockStore(fs: FileSystem, dir: string): Promise<FileLock> {
  const resolvedDir = path.resolve(dir);
  try {
    return await fs.lock(path.join(resolvedDir, lockFileName));
  } catch (error) {
    if (fsErrorCode(error) === 'ELOCKED') throw new StoreLockedError(resolvedDir, { cause: error });
    throw error;
  }
}
