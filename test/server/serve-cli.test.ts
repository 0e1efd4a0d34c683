/**
 * `durable-kv serve <dir>`: serves until SIGTERM, then finishes, closes the store and exits 0; what
 * was written is in the store afterwards. A non-loopback host without DURABLE_KV_PASSWORD is refused.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';

const projectRoot = path.resolve(import.meta.dirname, '../..');
const cli = path.join(projectRoot, 'src/cli/main.ts');
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function serve(dir: string, args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'serve', dir, ...args], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = new Promise<number>((resolve, reject) => {
    child.stderr.on('data', () => {
      const match = /serving .* on [\d.]+:(\d+)/.exec(stderr);
      if (match) resolve(Number(match[1]));
    });
    void exited.then(() => reject(new Error(`serve exited: ${stderr}`)));
  });
  return { child, exited, port, stderr: () => stderr };
}

describe('durable-kv serve', () => {
  it('serves, and on SIGTERM finishes, closes the store and exits 0', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-kv-serve-'));
    dirs.push(dir);
    const server = serve(dir, ['--port', '0']);
    const redis = new Redis({ port: await server.port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {});
    expect(await redis.set('k', 'v')).toBe('OK');
    expect(await redis.incrby('n', 5)).toBe(5);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.stderr()).toContain('SIGTERM');
    redis.disconnect();
    const store = await DurableKVStore.open(dir);
    expect([store.get('k'), store.get('n')]).toEqual(['v', '5']);
    await store.close();
  });

  it('refuses to listen on a non-loopback address without a password, with a clear error', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-kv-serve-'));
    dirs.push(dir);
    const server = serve(dir, ['--port', '0', '--host', '0.0.0.0']);
    server.port.catch(() => {});
    expect(await server.exited).not.toBe(0);
    expect(server.stderr()).toContain('without a password');
  });
});
