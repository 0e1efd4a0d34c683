/**
 * kill -9 of a server under pipelined SETs from several clients: every SET a client got OK for is in
 * the store when it is reopened. A reply is sent only after its write's fdatasync; a write that was
 * never answered may or may not be there, but never garbled.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { DurableKVStore } from '../../src/index.js';

const projectRoot = path.resolve(import.meta.dirname, '../..');
const serverScript = path.join(projectRoot, 'test/fixtures/resp-server.ts');
const clientCount = 4;
const pipelineSets = 50;
/** Traffic before the kill, counted from the first OK. */
const killAfterMs = 300;

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('kill -9 of the server', () => {
  it('loses no acknowledged SET from any of several pipelining clients', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'durable-kv-serve-kill9-'));
    dirs.push(dir);
    const child = spawn(process.execPath, ['--import', 'tsx', serverScript, dir], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const port = await new Promise<number>((resolve) =>
      child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
    );
    const acked = new Map<string, string>();
    let killed = false;
    const clients = Array.from(
      { length: clientCount },
      () => new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null }),
    );
    const write = async (client: Redis, id: number) => {
      for (let round = 0; !killed; round++) {
        const pipeline = client.pipeline();
        const sets: Array<[string, string]> = [];
        for (let i = 0; i < pipelineSets; i++) sets.push([`c${id}:${round}:${i}`, `value-${id}-${round}-${i}`]);
        for (const [key, value] of sets) pipeline.set(key, value);
        const results = await pipeline.exec().catch(() => null);
        if (results === null) return;
        results.forEach(([error, reply], index) => {
          if (error === null && reply === 'OK') acked.set(...sets[index]);
        });
      }
    };
    const writers = clients.map((client, id) => write(client, id).catch(() => {}));
    while (acked.size === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, killAfterMs));
    child.kill('SIGKILL');
    killed = true;
    await exited;
    await Promise.all(writers);
    for (const client of clients) client.disconnect();
    expect(acked.size).toBeGreaterThan(pipelineSets);
    const store = await DurableKVStore.open(dir);
    const lost = [...acked].filter(([key, value]) => store.get(key) !== value);
    expect(lost, `${lost.length} of ${acked.size} acknowledged SETs missing`).toEqual([]);
    // Whatever else is there was sent and never answered: it must be whole.
    for (const [key, value] of store.entries()) expect(value).toBe(`value-${key.slice(1).split(':').join('-')}`);
    await store.close();
  });
});
