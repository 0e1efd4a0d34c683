import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';

/**
 * A fresh, empty directory under os.tmpdir(), removed (with everything in it) when the current test
 * finishes, whether it passed or not. Call it inside a test, not at module level.
 */
export async function tempDir(prefix = 'durable-kv-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Something with an async close, such as a store. */
interface Closable {
  close(): Promise<unknown>;
}

/**
 * Closes `closable` when the current test finishes, so a failing assertion does not leak an open
 * store (and its lock); closing an already closed store is fine. Returns its argument.
 */
export function closeAfterTest<T extends Closable>(closable: T): T {
  onTestFinished(() =>
    closable.close().then(
      () => undefined,
      () => undefined,
    ),
  );
  return closable;
}
