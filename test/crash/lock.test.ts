/**
 * The directory lock between processes, on the real file system: flock(2) is held while a process
 * has the store open, and the kernel drops it when that process dies, even by SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const holderScript = path.join(projectRoot, 'test/fixtures/lock-holder.ts');

/** Starts a process that opens the store in `dir`; resolves once it holds it. */
async function startHolder(dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', holderScript, dir], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.startsWith('R ')) resolve();
    });
    // 'close', not 'exit': by then all of stderr has been read.
    child.on('close', (code, signal) => reject(new Error(`the holder exited before holding the store (${code ?? signal}):\n${stderr}`)));
  });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  // 'exit' comes once the process has been reaped: its descriptors, and so its flock, are gone.
  await exited;
}

describe('the directory lock between processes (real file system)', () => {
  let dir: string;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-kv-lock-'));
  });

  afterEach(async () => {
    for (const child of children.splice(0)) await kill(child);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second open with ERR_STORE_LOCKED while a live process holds the store', async () => {
    children.push(await startHolder(dir));
    await expect(DurableKVStore.open(dir)).rejects.toMatchObject({ code: 'ERR_STORE_LOCKED' });
    // And again: a refused open must not disturb the holder's lock.
    await expect(DurableKVStore.open(dir)).rejects.toMatchObject({ code: 'ERR_STORE_LOCKED' });
  });

  it('opens at once, without waiting or retrying, after the holder was killed with SIGKILL', async () => {
    const holder = await startHolder(dir);
    children.push(holder);
    await expect(DurableKVStore.open(dir)).rejects.toMatchObject({ code: 'ERR_STORE_LOCKED' });
    await kill(holder);
    const store = await DurableKVStore.open(dir);
    try {
      expect(store.get('holder')).toBe(String(holder.pid));
      await store.put('after', 'the holder died');
    } finally {
      await store.close();
    }
  });

  it('keeps the lock of a store opened here from a process started after it', async () => {
    const store = await DurableKVStore.open(dir);
    try {
      await expect(startHolder(dir)).rejects.toThrow(/ERR_STORE_LOCKED/);
    } finally {
      await store.close();
    }
  });
});
